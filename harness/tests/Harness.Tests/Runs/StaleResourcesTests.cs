// The run lock and the release of abandoned runs, on folders (the mounts and loop devices of a
// real kill -9 are in EndToEnd/CrashSafetyTests). Only a folder whose own lock names a gone
// process is touched; a live run, a lockless folder and a lock naming another folder never are.
using System.Diagnostics;
using Harness.Machines;
using Harness.Results;
using Harness.Runs;
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.Runs;

public sealed class StaleResourcesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("harness-stale-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static int DeadPid()
    {
        using var p = Process.Start("true")!;
        p.WaitForExit();
        return p.Id;
    }

    [Fact]
    public void A_lock_is_alive_only_for_a_running_process_with_the_same_start_time()
    {
        var me = Environment.ProcessId;
        var start = RunLock.ProcessStart(me)!.Value;
        RunLockInfo Lock(int pid, long s) => new("r", pid, s, "/w", "/r", DateTimeOffset.UnixEpoch);

        Assert.True(RunLock.IsAlive(Lock(me, start)));
        Assert.False(RunLock.IsAlive(Lock(me, start + 1)), "a recycled pid (other start time) is not the run's process");
        Assert.False(RunLock.IsAlive(Lock(DeadPid(), start)));
    }

    [Fact]
    public async Task Abandoned_work_folder_is_deleted_and_its_run_marked_interrupted_with_the_outcome_of_what_finished()
    {
        var work = Path.Combine(_root, "work");
        var store = new ResultStore(Path.Combine(_root, "results"));
        var inputs = new[] { Input("ext4-seed"), Input("xfs-seed"), Input("btrfs-seed") };
        // Abandoned run: one cell finished PASS, one has a FAIL iteration but no cell.json, one never started.
        var dead = store.Create("dead");
        await dead.WriteRunAsync(Record(dead.Id, inputs), CancellationToken.None);
        await dead.WriteCellAsync(Cell(inputs[0], Outcome.Pass), CancellationToken.None);
        await dead.WriteIterationAsync(new IterationResult("xfs-seed", 0, Outcome.Fail, null, "6.1", 2, 8191, 0, 1, 1, []), CancellationToken.None);
        var deadWork = Path.Combine(work, dead.Id);
        Directory.CreateDirectory(Path.Combine(deadWork, "xfs-seed"));
        File.WriteAllText(Path.Combine(deadWork, "xfs-seed", "disk.img"), "image");
        await WriteLock(new RunLockInfo(dead.Id, DeadPid(), 1, deadWork, dead.Path, DateTimeOffset.UnixEpoch), deadWork, dead.Path);
        // A live run (this process), a lockless folder, and a lock that names another folder.
        var live = store.Create("live");
        await RunLock.TakeAsync(live.Id, Path.Combine(work, live.Id), live.Path, TimeProvider.System, CancellationToken.None);
        var lockless = Directory.CreateDirectory(Path.Combine(work, "someone-elses")).FullName;
        var moved = Directory.CreateDirectory(Path.Combine(work, "moved")).FullName;
        await WriteLock(new RunLockInfo("moved", DeadPid(), 1, "/elsewhere", dead.Path, DateTimeOffset.UnixEpoch), moved, null);
        var report = new StringWriter();

        var released = await StaleResources.ReleaseAsync(work, report, CancellationToken.None);

        Assert.False(Directory.Exists(deadWork));
        Assert.True(Directory.Exists(Path.Combine(work, live.Id)), "a live run's folder must be left alone");
        Assert.True(Directory.Exists(lockless), "a folder without a lock is not ours to judge");
        Assert.True(Directory.Exists(moved), "a lock naming another folder does not vouch for this one");
        Assert.Equal(["run record", "work folder"], released.Select(r => r.Kind));
        Assert.All(released, r => Assert.True(r.Released));
        Assert.Contains($"released work folder {deadWork} of run dead", report.ToString());
        Assert.Contains("left " + moved, report.ToString());
        var run = RunJournal.ReadRun(dead.Path);
        Assert.True(run.Interrupted);
        Assert.Equal(Outcome.Fail, run.Outcome); // the FAIL of the unfinished cell is not lost with its process
        Assert.Equal(["ext4-seed"], run.Cells.Select(c => c.Input.CellId));
        Assert.Contains("gone before the run ended", run.StopReason);
        Assert.False(File.Exists(Path.Combine(dead.Path, RunLock.FileName)));
        Assert.True(File.Exists(Path.Combine(live.Path, RunLock.FileName)));
    }

    [Fact]
    public async Task Orphans_of_an_abandoned_run_are_killed_and_a_users_process_reading_its_results_is_not()
    {
        var work = Path.Combine(_root, "work");
        var results = new ResultStore(Path.Combine(_root, "results")).Create("dead");
        var deadWork = Directory.CreateDirectory(Path.Combine(work, results.Id)).FullName;
        await WriteLock(new RunLockInfo(results.Id, DeadPid(), 1, deadWork, results.Path, DateTimeOffset.UnixEpoch), deadWork, null);
        // $0 of sh carries the path into the command line, as QEMU's -drive file=<work>/... does; "; true" keeps
        // dash from exec-ing sleep in its place (which would drop the path from the command line).
        using var orphan = Process.Start("sh", ["-c", "sleep 60; true", Path.Combine(deadWork, "disk.img")])!;
        using var user = Process.Start("sh", ["-c", "sleep 60; true", Path.Combine(results.Path, "cells", "console.log")])!;
        try
        {
            var released = await StaleResources.ReleaseAsync(work, TextWriter.Null, CancellationToken.None);

            var id = orphan.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(released.Any(r => r.Kind == "process" && r.Path == id && r.Released),
                $"the orphan {id} was not found and killed; released: {string.Join("; ", released.Select(r => $"{r.Kind} {r.Path} {r.Released}"))}");
            // Dead by the kernel's account (gone, or a zombie waiting for this test host to reap it):
            // not by WaitForExit, which also waits for the runtime's reaping of its own child (once
            // seen to take longer than 15 s in a CI run).
            var clock = Stopwatch.StartNew();
            while (RunLock.ProcessStart(orphan.Id) is not null && clock.Elapsed < TimeSpan.FromSeconds(15)) await Task.Delay(50);
            Assert.Null(RunLock.ProcessStart(orphan.Id));
            Assert.False(user.HasExited, "a process that only reads the run's results is not the run's");
        }
        finally
        {
            if (!user.HasExited) user.Kill();
            if (!orphan.HasExited) orphan.Kill();
        }
    }

    private static async Task WriteLock(RunLockInfo info, string work, string? results)
    {
        await AtomicFile.WriteJsonAsync(Path.Combine(work, RunLock.FileName), info, CancellationToken.None);
        if (results is not null) await AtomicFile.WriteJsonAsync(Path.Combine(results, RunLock.FileName), info, CancellationToken.None);
    }

    private static CellInput Input(string id) => new(id, id.Split('-')[0], "seed", "cases/seed.yaml", "", 240, 1);

    private static RunRecord Record(string id, IReadOnlyList<CellInput> inputs) =>
        new(id, DateTimeOffset.UnixEpoch, null, "harness run", "0", "10", "6.1", new MachineFacts("local", "6.1", 2, "test"), inputs, [], null, false);

    private static CellResult Cell(CellInput input, Outcome outcome) =>
        new(input, outcome, 1, 0, 0, null, new Dictionary<string, int>(), 1, "6.1", 2, DateTimeOffset.UnixEpoch, 1);
}
