// The stale check's power, measured on the host kernel: ext4 hands the seed case's target the
// blocks the dirt file just freed, so stale exposure would be visible; without dirt nothing
// can be reused. Real loop image, real mkfs, the real agent's FIEMAP. Needs root.
using System.Text.Json;
using Harness.Cases;
using Harness.Filesystems;
using Harness.Machines;
using Harness.Results;
using Harness.Runs;
using Harness.Tests.Support;
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.EndToEnd;

public sealed class DirtReuseTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("harness-dirt-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private async Task<(CellResult Cell, IterationResult Iteration)> RunAsync(CaseSpec @case)
    {
        Assert.True(Environment.IsPrivilegedProcess, "end-to-end tests on the host kernel need root (loop mounts); run `make test` as root");
        var machine = new LocalMachine(new LocalMachineOptions(TestAgent.Binary, 512L << 20));
        var executor = new RunExecutor(machine, new ResultStore(Path.Combine(_scratch, "results")), TimeProvider.System, TextWriter.Null);
        var summary = await executor.RunAsync(
            new RunRequest([FilesystemCatalog.Find("ext4")], [@case], Repeats: 1, Path.Combine(_scratch, "work"), "test"), CancellationToken.None);
        var cell = Assert.Single(summary.Record.Cells);
        var iteration = JsonSerializer.Deserialize<IterationResult>(
            File.ReadAllText(Path.Combine(summary.ResultsPath, "cells", cell.Input.CellId, "iteration-000.json")), ResultStore.Json)!;
        return (cell, iteration);
    }

    [Fact]
    public async Task Ext4_target_reuses_dirt_blocks_with_dirt_and_none_without()
    {
        var seed = new CaseCatalog(RepoPaths.Cases).Find("seed");
        var clean = seed with { Workload = seed.Workload with { DirtyBytes = 0 } };

        var (dirtyCell, dirty) = await RunAsync(seed);
        var (cleanCell, undirtied) = await RunAsync(clean);

        foreach (var (cell, iteration) in new[] { (dirtyCell, dirty), (cleanCell, undirtied) })
        {
            Assert.Equal(Outcome.Pass, iteration.Outcome);
            Assert.Equal((8191, 0), (iteration.IoCount, iteration.IoErrors));
            Assert.All(iteration.Passes, p => Assert.Equal(seed.Workload.FileSize / 512, p.SectorsChecked));
            Assert.Equal(0, cell.IoErrors);
        }
        var reuse = Assert.IsType<Harness.Workload.DirtReuse>(dirty.DirtReuse);
        Assert.Equal(seed.Workload.DirtyBytes / 4096, reuse.DirtBlocks);
        Assert.Equal(8192, reuse.TargetBlocks);      // IOs 0..8190 touch fs blocks 0..8191
        Assert.True(reuse.ReusedBlocks > 0, $"ext4 reused no dirt block: {reuse}");
        Assert.Equal(reuse, dirtyCell.DirtReuse);
        var none = Assert.IsType<Harness.Workload.DirtReuse>(undirtied.DirtReuse);
        Assert.Equal((0L, 8192L, 0L), (none.DirtBlocks, none.TargetBlocks, none.ReusedBlocks));
    }
}
