// End to end on the host kernel: real loop images, real mkfs, real libaio, the real agent
// process. Needs root (loop devices and mount), as `make test` and CI run.
using System.Text.Json;
using Harness.Cases;
using Harness.Faults;
using Harness.Filesystems;
using Harness.Golden;
using Harness.Machines;
using Harness.Results;
using Harness.Runs;
using Harness.Tests.Support;
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.EndToEnd;

public sealed class LocalMachineTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("harness-e2e-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private async Task<RunSummary> RunAsync(string[] filesystems, IFaultInjector? fault = null)
    {
        Assert.True(Environment.IsPrivilegedProcess, "end-to-end tests on the host kernel need root (loop mounts); run `make test` as root");
        var machine = new LocalMachine(new LocalMachineOptions(TestAgent.Binary, 512L << 20, Fault: fault));
        Assert.Null(await machine.CheckAsync(CancellationToken.None));
        var seed = new CaseCatalog(RepoPaths.Cases).Find("seed");
        var executor = new RunExecutor(machine, new ResultStore(Path.Combine(_scratch, "results")), TimeProvider.System, TextWriter.Null);
        return await executor.RunAsync(
            new RunRequest(filesystems.Select(FilesystemCatalog.Find).ToArray(), [seed], Repeats: 1, Path.Combine(_scratch, "work"), "test"),
            CancellationToken.None);
    }

    [Fact]
    public async Task Seed_case_passes_on_ext4_xfs_and_btrfs_on_the_host_kernel()
    {
        var summary = await RunAsync(["ext4", "xfs", "btrfs"]);

        Assert.Equal(Outcome.Pass, summary.Record.Outcome);
        Assert.Equal(["ext4-seed", "xfs-seed", "btrfs-seed"], summary.Record.Cells.Select(c => c.Input.CellId));
        Assert.All(summary.Record.Cells, c =>
        {
            Assert.Equal(1, c.Passed);
            Assert.True(c.MedianIops > 0);
            Assert.True(File.Exists(Path.Combine(summary.ResultsPath, "cells", c.Input.CellId, "iteration-000.json")));
        });
        var iteration = Read(summary, "xfs-seed");
        Assert.Equal(8191, iteration.IoCount);
        Assert.Equal(0, iteration.IoErrors);
        Assert.Equal(["after-fsync", "after-remount"], iteration.Passes.Select(p => p.Pass));
        Assert.All(iteration.Passes, p => Assert.Equal(32L << 20 >> 9, p.SectorsChecked));
        // Where the time went: the cell's setup and teardown ride on its only iteration, and add up.
        PhaseChecks.AddUp(iteration, "mkfs", "mount", "agent-write start", "dirt", "prepare", "workload", "fsync",
            "read-after-fsync", "remount", "read-after-remount", "unmount+fsck", "judge");
        // fsck ran after the cell's last read-back, read-only, and found each filesystem clean.
        foreach (var (cell, tool) in new[] { ("ext4-seed", "e2fsck"), ("xfs-seed", "xfs_repair"), ("btrfs-seed", "btrfs") })
        {
            var fsck = Read(summary, cell).Fsck;
            Assert.True(fsck is { Ran: true, Clean: true, ExitCode: 0 }, $"{cell}: {fsck?.Output}");
            Assert.Equal(tool, fsck!.Tool);
        }
    }

    [Fact]
    public async Task Sub_block_zeroed_in_the_image_between_write_and_read_back_is_a_zeroed_FAIL()
    {
        var summary = await RunAsync(["ext4"], new ZeroSubBlockFault(sectors: 2));

        Assert.Equal(Outcome.Fail, summary.Record.Outcome);
        var iteration = Read(summary, "ext4-seed");
        Assert.Equal(0, iteration.Passes.Single(p => p.Pass == "after-fsync").FindingCount);
        var finding = Assert.Single(iteration.Passes.Single(p => p.Pass != "after-fsync").Findings);
        Assert.Equal(FindingClass.Zeroed, finding.Class);
        Assert.Equal(4608 / 512, finding.FirstSector);  // the head of IO 1 ...
        Assert.Equal(2, finding.SectorCount);
        Assert.Equal(1, finding.FirstFsBlock);          // ... in the block it shares with IO 0's tail
        Assert.Contains(0, finding.IosInFlight);
        Assert.Contains(1, finding.IosInFlight);
    }

    private static IterationResult Read(RunSummary summary, string cell) =>
        JsonSerializer.Deserialize<IterationResult>(
            File.ReadAllText(Path.Combine(summary.ResultsPath, "cells", cell, "iteration-000.json")), ResultStore.Json)!;
}
