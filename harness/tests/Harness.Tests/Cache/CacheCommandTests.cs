// `harness cache status | gc` on a cache laid out as the harness lays it out (kernels fetched and
// built, a source tree, initramfs archives, agent, ccache, work folders of live and dead runs) and
// a results folder of runs, with ages set on the files. gc must delete what its rules name and
// nothing a live process holds: a lock, an open file, a mount, an alive run.
using System.Diagnostics;
using System.Globalization;
using Harness.Cli;
using Harness.Kernels;
using Harness.Machines;
using Xunit;

namespace Harness.Tests.Cache;

public sealed class CacheCommandTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private readonly string _root = Directory.CreateTempSubdirectory("harness-cache-cmd-").FullName;
    private readonly List<string> _mounts = [];
    private string CacheRoot => Path.Combine(_root, "cache");
    private string Results => Path.Combine(_root, "results");

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var m in _mounts) await HostCommand.TryRunAsync("umount", [m], "/", CancellationToken.None);
        Directory.Delete(_root, recursive: true);
    }

    private async Task<(int Code, string Out, string Err)> HarnessAsync(params string[] args)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        var code = await new CliApp(stdout, stderr, new FixedTime(Now)).RunAsync(args, CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static string File(string path, string content, TimeSpan age)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllText(path, content);
        var at = (Now - age).UtcDateTime;
        System.IO.File.SetLastWriteTimeUtc(path, at);
        System.IO.File.SetLastAccessTimeUtc(path, at);
        return path;
    }

    private string Kernel(string name, TimeSpan unusedFor) =>
        Path.GetDirectoryName(File(Path.Combine(CacheRoot, "kernels", name, ".harness-complete"), $"{name} 1.0 6.1.0-test\n", unusedFor))!;

    private string Run(string id, TimeSpan age) =>
        Path.GetDirectoryName(File(Path.Combine(Results, id, "run.json"),
            $$"""{"runId":"{{id}}","started":"{{(Now - age).ToString("O", CultureInfo.InvariantCulture)}}","outcome":"pass"}""", age))!;

    private static string RunId(TimeSpan age, int pid) => $"{(Now - age).UtcDateTime:yyyyMMdd-HHmmss}-local-{pid}";

    /// <summary>A pid that was a real process and is gone now.</summary>
    private static int DeadPid()
    {
        using var p = Process.Start("true")!;
        p.WaitForExit();
        return p.Id;
    }

    [Fact]
    public async Task Status_lists_every_kind_of_entry_with_size_last_use_and_whether_a_run_is_alive()
    {
        Kernel("linux-image-test-1.0", TimeSpan.FromDays(3));
        File(Path.Combine(CacheRoot, "kernels", "built", "abc123", "bzImage"), new string('k', 4096), TimeSpan.FromDays(1));
        File(Path.Combine(CacheRoot, "kernels", "built", "abc123", "build.json"), """{"release":"6.1.192+","origin":"built linux-source-6.1 6.1.192-2; config tinyconfig+guest.config"}""", TimeSpan.FromDays(1));
        File(Path.Combine(CacheRoot, "kernels", "built", "abc123", ".harness-complete"), "", TimeSpan.FromDays(2));
        File(Path.Combine(CacheRoot, "src", "linux-source-6.1", ".harness-source"), "linux-source-6.1 6.1.192-2", TimeSpan.FromDays(90));
        File(Path.Combine(CacheRoot, "initramfs", "base-0123456789abcdef01234567.cpio"), new string('i', 2048), TimeSpan.FromHours(5));
        File(Path.Combine(CacheRoot, "agent", "harness-agent"), "elf", TimeSpan.FromHours(1));
        File(Path.Combine(CacheRoot, "ccache", "0", "x.o"), "o", TimeSpan.FromHours(1));
        var dead = DeadPid();
        File(Path.Combine(CacheRoot, "work", RunId(TimeSpan.FromHours(2), dead), "ext4-seed", "disk.img"), "img", TimeSpan.FromHours(2));
        File(Path.Combine(CacheRoot, "work", RunId(TimeSpan.Zero, Environment.ProcessId), "ext4-seed", "disk.img"), "img", TimeSpan.Zero);
        Run(RunId(TimeSpan.FromDays(2), dead), TimeSpan.FromDays(2));

        var (code, output, error) = await HarnessAsync("cache", "status", "--cache", CacheRoot, "--results", Results);

        Assert.True(code == 0, error);
        Assert.Contains($"cache {CacheRoot}: ", output);
        string Line(string entry) => output.Split('\n').Single(l => l.Contains(entry, StringComparison.Ordinal));
        Assert.Matches(@"^kernel +kernels/linux-image-test-1\.0 +\d+ B +3d ago +linux-image-test-1\.0 1\.0 6\.1\.0-test$", Line("kernels/linux-image-test-1.0"));
        Assert.Matches(@"^built kernel +kernels/built/abc123 +4\.\d KiB +2d ago +6\.1\.192\+: built linux-source-6\.1", Line("kernels/built/abc123"));
        Assert.Matches(@"^source tree +src/linux-source-6\.1 .* - +kept +linux-source-6\.1 6\.1\.192-2$", Line("src/linux-source-6.1"));
        Assert.Matches(@"^initramfs +initramfs/base-0123456789abcdef01234567\.cpio +2\.0 KiB +5h ago", Line("initramfs/base-"));
        Assert.Matches(@"^agent +agent .* kept +NativeAOT agent", Line("agent  "));
        Assert.Matches(@"^ccache +ccache .* kept +compiler cache", Line("ccache  "));
        Assert.Matches($@"^work +work/{RunId(TimeSpan.FromHours(2), dead)} .* run gone \(pid {dead} not running\)$", Line($"work/{RunId(TimeSpan.FromHours(2), dead)}"));
        Assert.Matches($@"^work +work/{RunId(TimeSpan.Zero, Environment.ProcessId)} .* in use +its run is alive \(pid {Environment.ProcessId}\)$", Line($"work/{RunId(TimeSpan.Zero, Environment.ProcessId)}"));
        Assert.Contains($"runs {Results}: 1 run folder(s)", output);
        Assert.Matches($@"^{RunId(TimeSpan.FromDays(2), dead)} +2d ago +\d+ B +PASS$", Line(RunId(TimeSpan.FromDays(2), dead) + " "));
    }

    [Fact]
    public async Task Gc_deletes_what_its_rules_name_and_keeps_source_trees_and_whatever_a_live_process_holds()
    {
        var dead = DeadPid();
        var oldKernel = Kernel("linux-image-old-1.0", TimeSpan.FromDays(40));
        var recentKernel = Kernel("linux-image-new-1.0", TimeSpan.FromDays(2));
        var lockedKernel = Kernel("linux-image-locked-1.0", TimeSpan.FromDays(40));
        var busyKernel = Kernel("linux-image-busy-1.0", TimeSpan.FromDays(50));
        var source = Path.GetDirectoryName(File(Path.Combine(CacheRoot, "src", "linux-source-6.1", ".harness-source"), "linux-source-6.1 6.1.192-2", TimeSpan.FromDays(400)))!;
        var deadWork = Path.GetDirectoryName(File(Path.Combine(CacheRoot, "work", RunId(TimeSpan.FromHours(3), dead), "ext4-seed", "disk.img"), "img", TimeSpan.FromHours(3)))!;
        var liveWork = Path.GetDirectoryName(File(Path.Combine(CacheRoot, "work", RunId(TimeSpan.Zero, Environment.ProcessId), "ext4-seed", "disk.img"), "img", TimeSpan.Zero))!;
        var mountedWork = Path.Combine(CacheRoot, "work", RunId(TimeSpan.FromHours(4), dead) + "-2", "ext4-seed", "mnt");
        Directory.CreateDirectory(mountedWork);
        await HostCommand.RunAsync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountedWork], CancellationToken.None);
        _mounts.Add(mountedWork);
        var leftover = File(Path.Combine(CacheRoot, "initramfs", ".base-0123.tmp"), "half", TimeSpan.FromHours(2));
        var runs = new[] { 1, 5, 10, 45, 60 }.Select(days => Run(RunId(TimeSpan.FromDays(days), dead), TimeSpan.FromDays(days))).ToArray();

        using var kernelLock = CacheLock.TryAcquire(CacheLock.For(lockedKernel));
        // A process working in the folder (as dpkg-deb or depmod would while unpacking).
        using var reader = Process.Start(new ProcessStartInfo("sleep", "60") { WorkingDirectory = busyKernel })!;
        await Task.Delay(300);

        try
        {
            var args = new[] { "cache", "gc", "--cache", CacheRoot, "--results", Results, "--keep-last", "2", "--older-than", "30d", "--unused-for", "30d" };
            var (dryCode, dryOut, dryErr) = await HarnessAsync([.. args, "--dry-run"]);
            Assert.True(dryCode == 0, dryErr);
            Assert.Contains($"would delete kernel {oldKernel} ", dryOut);
            Assert.True(Directory.Exists(oldKernel) && Directory.Exists(deadWork) && runs.All(Directory.Exists), "--dry-run deleted something");

            var (code, output, error) = await HarnessAsync(args);

            Assert.True(code == 0, error + output);
            Assert.Equal(dryOut.Replace("would delete", "delete", StringComparison.Ordinal).Replace("would free", "freed", StringComparison.Ordinal), output);
            // Runs: only those beyond the newest 2 AND older than 30 days.
            Assert.Equal([true, true, true, false, false], runs.Select(Directory.Exists));
            Assert.Contains($"delete run {runs[3]} ", output);
            Assert.Contains("not among the last 2 runs and started 45d ago (older than 30d)", output);
            Assert.False(Directory.Exists(oldKernel));
            Assert.Contains("not used for 40d (more than 30d)", output);
            Assert.True(Directory.Exists(recentKernel));
            Assert.False(Directory.Exists(deadWork), "the work folder of a run that is gone stays");
            Assert.False(System.IO.File.Exists(leftover));
            // Held by live processes: kept, and said why.
            Assert.True(Directory.Exists(lockedKernel));
            Assert.Contains($"keep kernel {lockedKernel}: not used for 40d (more than 30d), but locked by a live process", output);
            Assert.True(Directory.Exists(busyKernel));
            Assert.Contains($"keep kernel {busyKernel}: not used for 50d (more than 30d), but open by {reader.Id} (sleep)", output);
            Assert.True(Directory.Exists(liveWork));
            Assert.True(Directory.Exists(mountedWork));
            Assert.Contains($"but a filesystem is mounted at {mountedWork}", output);
            // Never a source tree, however old.
            Assert.True(Directory.Exists(source));
        }
        finally
        {
            reader.Kill();
            await reader.WaitForExitAsync();
        }
    }

    [Theory]
    [InlineData("--older-than", "30 days")]
    [InlineData("--unused-for", "3w")]
    public async Task A_bad_age_is_a_usage_error_naming_the_option(string option, string value)
    {
        var (code, _, error) = await HarnessAsync("cache", "gc", "--cache", CacheRoot, "--results", Results, option, value);

        Assert.Equal(CliApp.ExitUsage, code);
        Assert.Contains($"{option}: '{value}' is not an age; use {Harness.Yaml.Duration.Expected}", error);
    }
}
