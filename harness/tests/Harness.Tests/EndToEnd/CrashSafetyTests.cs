// Crash safety with real processes on the host kernel (root: loop images, mount): kill -9 of a
// `harness run` mid-cell, two quick Ctrl-C, --budget, and --resume. The leak checks read
// /proc/mounts and `losetup -a` and list the cache's work folder: nothing is assumed.
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Harness.Results;
using Harness.Tests.Support;
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.EndToEnd;

/// <summary>
/// Alone, after the parallel tests: these kill processes mid-write and time a budget, and the
/// bursts of mkfs, mount and writeback they make disturb the fault tests' timing (io-error).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CrashSafetyCollection
{
    public const string Name = "crash safety (serial)";
}

[Collection(CrashSafetyCollection.Name)]
public sealed class CrashSafetyTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("harness-crash-").FullName;
    private string Results => Path.Combine(_scratch, "results");
    private string Cache => Path.Combine(_scratch, "cache");
    private string Work => Path.Combine(Cache, "work");

    public void Dispose()
    {
        // Never leave a mount behind even when an assertion failed half-way.
        foreach (var line in File.ReadAllLines("/proc/mounts").Where(l => l.Contains(_scratch, StringComparison.Ordinal)))
            Process.Start("umount", ["-l", line.Split(' ')[1]])!.WaitForExit();
        try { Directory.Delete(_scratch, recursive: true); } catch (IOException) { }
    }

    private string[] RunArgs(string cases, int repeats, params string[] more) =>
        ["run", "--machine", "local", "--fs", "ext4", "--case", cases, "--repeats", repeats.ToString(System.Globalization.CultureInfo.InvariantCulture),
         "--cases-dir", RepoPaths.Cases, "--results", Results, "--cache", Cache, "--agent", TestAgent.Binary.Path, .. more];

    [Fact]
    public async Task Kill_9_mid_run_leaks_a_mount_that_cache_release_frees_and_resume_gives_the_records_of_an_uninterrupted_run()
    {
        Assert.True(Environment.IsPrivilegedProcess, "needs root (loop mounts); run `make test` as root");
        var args = RunArgs("seed,generic-240", 3);
        string killedIn;
        using (var killed = Harness.Start(_scratch, args))
        {
            await killed.WaitForLineAsync("ext4-seed iteration 1/3", TimeSpan.FromSeconds(120));
            // SIGKILL while an agent runs: no handler runs, nothing is cleaned up. Which cell it lands in is up to
            // the host's load (an agent lives about a second), so the test reads it rather than racing for one.
            killedIn = await KillDuringAgentAsync(killed.Process);
        }
        var runFolder = Directory.GetDirectories(Results).Single();
        Assert.NotEmpty(MountsUnder(Work));      // the leak is real ...
        Assert.NotEmpty(await LoopsUnder(Work));

        var release = await Harness.RunAsync(_scratch, "cache", "release", "--cache", Cache);

        Assert.True(release.Code == 0, release.Err + release.Out);
        Assert.Contains("released mount", release.Out);
        Assert.Contains("released work folder", release.Out);
        await AssertNoLeakAsync();               // ... and released
        var abandoned = RunJournal.ReadRun(runFolder);
        Assert.True(abandoned.Interrupted);
        Assert.NotNull(abandoned.Outcome);
        Assert.NotEqual(Outcome.Pass, abandoned.Outcome);

        var resumed = await Harness.RunAsync(_scratch, "run", "--resume", runFolder);
        var uninterrupted = await Harness.RunAsync(_scratch, args);

        Assert.True(resumed.Code == 0, resumed.Err);
        Assert.True(uninterrupted.Code == 0, uninterrupted.Err);
        // Killed in the first cell, both are left to run; in the second, only it (the first finished and is kept).
        Assert.Contains(killedIn == "ext4-seed" ? "resuming 2 of 2 cell(s)" : "resuming 1 of 2 cell(s)", resumed.Err);
        var other = Directory.GetDirectories(Results).Single(d => d != runFolder);
        var run = RunJournal.ReadRun(runFolder);
        Assert.Equal(abandoned.RunId, run.RunId);
        Assert.False(run.Interrupted);
        Assert.Single(run.Resumed);
        Assert.Equal(RunJournal.ReadRun(other).Outcome, run.Outcome);
        Assert.Equal(Iterations(other), Iterations(runFolder));
        Assert.Equal(Cells(other), Cells(runFolder));
        Assert.Equal(6, Iterations(runFolder).Count);
        Assert.All(Iterations(runFolder), i => Assert.True(i.Ios > 0 && i.Passes == "after-fsync,after-remount", i.ToString()));
        await AssertNoLeakAsync();
    }

    [Fact]
    public async Task After_kill_9_the_next_run_releases_the_mount_loop_device_and_work_folder_first()
    {
        Assert.True(Environment.IsPrivilegedProcess, "needs root (loop mounts)");
        using (var killed = Harness.Start(_scratch, RunArgs("seed", 50)))
        {
            await killed.WaitForLineAsync("ext4-seed iteration 1/50", TimeSpan.FromSeconds(120));
            await KillDuringAgentAsync(killed.Process);
        }
        Assert.NotEmpty(MountsUnder(Work));

        var next = await Harness.RunAsync(_scratch, RunArgs("generic-240", 1));

        Assert.True(next.Code == 0, next.Err);
        Assert.Contains("released mount", next.Err);
        Assert.Contains("released work folder", next.Err);
        await AssertNoLeakAsync();
    }

    [Fact]
    public async Task Two_quick_Ctrl_C_still_unmount_and_exit_130()
    {
        Assert.True(Environment.IsPrivilegedProcess, "needs root (loop mounts)");
        using var child = Harness.Start(_scratch, RunArgs("seed", 500));
        await child.WaitForLineAsync("ext4-seed iteration 1/500", TimeSpan.FromSeconds(120));

        await Signal(child.Process.Id, "INT");
        await Task.Delay(30);
        await Signal(child.Process.Id, "INT");
        await child.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(child.Process.ExitCode == Outcomes.InterruptedExitCode, $"exit {child.Process.ExitCode}\n{child.Err}");
        Assert.Contains("still stopping", child.Err);
        await AssertNoLeakAsync();
        var run = RunJournal.ReadRun(Directory.GetDirectories(Results).Single());
        Assert.True(run.Interrupted);
        Assert.True(run.Cells.Single().Passed >= 1);
    }

    [Fact]
    public async Task Budget_ends_the_run_cleanly_with_what_finished_and_the_outcome_exit_code()
    {
        Assert.True(Environment.IsPrivilegedProcess, "needs root (loop mounts)");
        var clock = Stopwatch.StartNew();

        var result = await Harness.RunAsync(_scratch, RunArgs("seed,generic-240", 500, "--budget", "15s"));

        // The first cell stopped between iterations, the second never started: nothing decided (4), not "interrupted" (130).
        Assert.True(result.Code == 4, $"exit {result.Code}\n{result.Err}");
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(15), $"stopped after {clock.Elapsed}, before the budget");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(120), $"took {clock.Elapsed}"); // 500 iterations would take many minutes
        Assert.Contains("budget reached", result.Err);
        var run = RunJournal.ReadRun(Directory.GetDirectories(Results).Single());
        Assert.True(run.BudgetReached);
        Assert.Equal(Outcome.Skip, run.Outcome);
        var cell = Assert.Single(run.Cells);
        Assert.Equal("ext4-seed", cell.Input.CellId);
        Assert.True(cell.Interrupted);
        Assert.True(cell.Passed >= 1, $"a 15 s budget leaves time for at least one iteration (about 2 s each, idle)\n{result.Err}");
        Assert.Equal(cell.Passed, Directory.GetFiles(Path.Combine(Directory.GetDirectories(Results).Single(), "cells", "ext4-seed"), "iteration-*.json").Length);
        await AssertNoLeakAsync();
    }

    /// <summary>
    /// SIGKILLs the harness while one of its agents runs, so the image is surely mounted (a kill between the
    /// remount's umount and mount would leak only the image, and the mount assertion would be luck), and
    /// returns the cell that agent worked for. The harness's children are read from /proc/PID/task/*/children
    /// rather than by scanning all of /proc: on a loaded host a full scan can outlast an agent.
    /// </summary>
    private static async Task<string> KillDuringAgentAsync(Process harness)
    {
        var agent = Path.GetFullPath(TestAgent.Binary.Path);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60) && !harness.HasExited)
        {
            foreach (var child in Children(harness.Id))
            {
                try
                {
                    if (new FileInfo($"/proc/{child}/exe").LinkTarget != agent) continue;
                    var cmdline = File.ReadAllText($"/proc/{child}/cmdline");
                    harness.Kill();
                    await harness.WaitForExitAsync();
                    var at = cmdline.IndexOf("/cells/", StringComparison.Ordinal);
                    Assert.True(at >= 0, $"the agent's command line names no cell: {cmdline.Replace('\0', ' ')}");
                    var cell = cmdline[(at + "/cells/".Length)..];
                    return cell[..cell.IndexOf('/', StringComparison.Ordinal)];
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* gone meanwhile */ }
            }
            await Task.Delay(5);
        }
        throw new TimeoutException(harness.HasExited ? "the harness finished before an agent was seen" : "the harness never ran its agent");
    }

    private static IEnumerable<int> Children(int pid)
    {
        var found = new List<int>();
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                try
                {
                    found.AddRange(File.ReadAllText(Path.Combine(task, "children"))
                        .Split(' ', StringSplitOptions.RemoveEmptyEntries)
                        .Select(c => int.Parse(c, System.Globalization.CultureInfo.InvariantCulture)));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* thread gone */ }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* harness gone */ }
        return found;
    }

    private async Task AssertNoLeakAsync()
    {
        // Lazy unmounts and autoclear settle within moments of the release.
        for (var i = 0; i < 50 && (MountsUnder(_scratch).Count > 0 || (await LoopsUnder(_scratch)).Count > 0); i++) await Task.Delay(200);
        Assert.Empty(MountsUnder(_scratch));
        Assert.Empty(await LoopsUnder(_scratch));
        Assert.Empty(Directory.Exists(Work) ? Directory.GetFileSystemEntries(Work) : []);
    }

    private static List<string> MountsUnder(string path) =>
        File.ReadAllLines("/proc/mounts").Where(l => l.Contains(path, StringComparison.Ordinal)).ToList();

    private static async Task<List<string>> LoopsUnder(string path)
    {
        using var p = Process.Start(new ProcessStartInfo("losetup", ["-a"]) { RedirectStandardOutput = true })!;
        var text = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        return text.Split('\n').Where(l => l.Contains(path, StringComparison.Ordinal)).ToList();
    }

    private static async Task Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
    }

    /// <summary>What must match between a resumed and an uninterrupted run: ids, numbers, outcomes, IO counts, passes (not timings).</summary>
    private static List<(string Cell, int Iteration, Outcome Outcome, int Ios, int IoErrors, string Passes)> Iterations(string runFolder) =>
        Directory.GetFiles(Path.Combine(runFolder, "cells"), "iteration-*.json", SearchOption.AllDirectories)
            .Select(RecordFormat.Read<IterationResult>)
            .Select(i => (i.CellId, i.Iteration, i.Outcome, i.IoCount, i.IoErrors, string.Join(",", i.Passes.Select(p => p.Pass))))
            .Order().ToList();

    private static List<(string Cell, Outcome Outcome, int Passed, int Failed, int Errored, int IoErrors, bool Interrupted)> Cells(string runFolder) =>
        RunJournal.ReadRun(runFolder).Cells.Select(c => (c.Input.CellId, c.Outcome, c.Passed, c.Failed, c.Errored, c.IoErrors, c.Interrupted)).ToList();

    /// <summary>The real `harness` binary as a child process, its stderr read line by line.</summary>
    private sealed class Harness : IDisposable
    {
        private readonly StringBuilder _err = new();
        private readonly List<(string Text, TaskCompletionSource Seen)> _waits = [];
        private readonly Task _reader;

        public Process Process { get; }
        public Task<string> Out { get; }
        public string Err { get { lock (_err) return _err.ToString(); } }

        private Harness(string cwd, IReadOnlyList<string> args)
        {
            // `env --default-signal` (which execs, keeping the pid): a test host started under nohup or as a
            // script's background job hands its children SIGINT/SIGHUP ignored, and the harness keeps an inherited ignore.
            var start = new ProcessStartInfo("env") { RedirectStandardError = true, RedirectStandardOutput = true, WorkingDirectory = cwd };
            start.ArgumentList.Add("--default-signal=INT,HUP,TERM");
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "harness"));
            foreach (var a in args) start.ArgumentList.Add(a);
            Process = Process.Start(start)!;
            Out = Process.StandardOutput.ReadToEndAsync();
            _reader = Task.Run(async () =>
            {
                while (await Process.StandardError.ReadLineAsync() is { } line)
                    lock (_err)
                    {
                        _err.AppendLine(line);
                        foreach (var w in _waits.Where(w => line.Contains(w.Text, StringComparison.Ordinal))) w.Seen.TrySetResult();
                    }
            });
        }

        public static Harness Start(string cwd, params string[] args) => new(cwd, args);

        public static async Task<(int Code, string Out, string Err)> RunAsync(string cwd, params string[] args)
        {
            using var h = new Harness(cwd, args);
            await h.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
            await h._reader;
            return (h.Process.ExitCode, await h.Out, h.Err);
        }

        public async Task WaitForLineAsync(string text, TimeSpan timeout)
        {
            var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_err)
            {
                if (_err.ToString().Contains(text, StringComparison.Ordinal)) return;
                _waits.Add((text, seen));
            }
            try { await seen.Task.WaitAsync(timeout); }
            catch (TimeoutException) { throw new TimeoutException($"no '{text}' within {timeout}:\n{Err}"); }
        }

        public void Dispose()
        {
            if (!Process.HasExited) Process.Kill();
            Process.Dispose();
        }
    }
}
