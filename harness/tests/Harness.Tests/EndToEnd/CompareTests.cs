// `harness compare` end to end on the host kernel: real loop images made per setup (mkfs and
// mount options, block size, loop sector size), the real agent, the table and compare.json
// checked against the cells' own records. Needs root (loop devices and mount), as CI runs.
using System.Text.Json;
using Harness.Cli;
using Harness.Compare;
using Harness.Results;
using Harness.Tests.Support;
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.EndToEnd;

public sealed class CompareTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("harness-compare-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private async Task<(int Code, string Out, string Err)> Compare(params string[] args)
    {
        Assert.True(Environment.IsPrivilegedProcess, "compare on the host kernel needs root (loop mounts); run `make test` as root");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await new CliApp(stdout, stderr, TimeProvider.System).RunAsync(
            ["compare", "--case", "tiny", "--repeats", "2", "--agent", TestAgent.Binary.Path, "--cases-dir", RepoPaths.Cases,
             "--results", Path.Combine(_scratch, "results"), "--cache", Path.Combine(_scratch, "cache"), "--image-size", "300MiB", .. args],
            CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static string Setups => Path.Combine(RepoPaths.Root, "cases", "setups", "setups.yaml");

    private CompareRecord Record()
    {
        var folder = Assert.Single(Directory.GetDirectories(Path.Combine(_scratch, "results")));
        return RecordFormat.Read<CompareRecord>(Path.Combine(folder, "compare.json"));
    }

    private string RunFolder(CompareRecord record, string kernel) =>
        Path.Combine(_scratch, "results", record.CompareId, record.Runs.Single(r => r.Kernel == kernel).RunPath!);

    [Fact]
    public async Task Compare_over_ext4_xfs_1k_and_btrfs_prints_one_table_that_agrees_with_the_cell_records()
    {
        var (code, output, err) = await Compare("--setups", Setups, "--setup", "ext4,xfs-1k,btrfs");

        Assert.True(code == 0, $"exit {code}\n{output}\n{err}");
        var record = Record();
        Assert.Equal(Outcome.Pass, record.Outcome);
        Assert.Equal(["ext4", "xfs-1k", "btrfs"], record.Rows.Select(r => r.Setup));
        var run = RunFolder(record, record.Rows[0].Kernel);
        foreach (var row in record.Rows)
        {
            var cell = RecordFormat.Read<CellResult>(Path.Combine(run, "cells", row.CellId!, "cell.json"));
            var iterations = Directory.GetFiles(Path.Combine(run, "cells", row.CellId!), "iteration-*.json").Order().Select(RecordFormat.Read<IterationResult>).ToArray();
            // The work really happened: every planned IO completed, none failed, every sector judged.
            Assert.Equal(2, iterations.Length);
            Assert.All(iterations, i =>
            {
                Assert.Equal(Outcome.Pass, i.Outcome);
                Assert.Equal(64, i.IoCount);
                Assert.Equal(0, i.IoErrors);
                Assert.Equal(512L * 1024 / 512, Assert.Single(i.Passes).SectorsChecked);
            });
            // The row is the cell's records summed up, nothing else.
            Assert.Equal(row.Setup, cell.Input.Setup);
            Assert.Equal((cell.Passed, cell.Failed, cell.Crashed, cell.Errored, cell.IoErrors), (row.Passed, row.Failed, row.Crashed, row.Errored, row.IoErrors));
            Assert.Equal((0, 2), (row.Failures, row.Counted));
            Assert.Equal(0.0, row.FailureRate);
            Assert.Equal(Statistics.ClopperPearson(0, 2).Upper, row.RateUpper);
            Assert.Equal(cell.MedianIops, row.IopsMedian);
            Assert.Equal(iterations.Min(i => i.Iops), row.IopsMin);
            Assert.Equal(iterations.Max(i => i.Iops), row.IopsMax);
            Assert.Contains($"{row.Setup.PadRight(6)}  tiny  {row.FsBlockSize,-5}  512 virtio-blk  PASS     0/2          0.0 % [0.0-84.2 %]", output);
        }
        // The setup's block size won over the case's 4096: xfs-1k's 260 KiB target spans 4x the fs blocks.
        Assert.Equal(1024, record.Rows.Single(r => r.Setup == "xfs-1k").FsBlockSize);
        long TargetBlocks(string cell) => RecordFormat.Read<IterationResult>(Path.Combine(run, "cells", cell, "iteration-000.json")).DirtReuse!.TargetBlocks;
        Assert.Equal(4 * TargetBlocks("ext4-tiny") - 3, TargetBlocks("xfs-1k-tiny"));
        // The printed record (--json) is the one on disk.
        Assert.Contains($"results: {Path.Combine(_scratch, "results", record.CompareId)}", output);
        // The comparison's own page, from the record just written: the verdict first and one table row per row.
        var page = File.ReadAllText(Path.Combine(_scratch, "results", record.CompareId, "report.md"));
        Assert.StartsWith($"# harness compare {record.CompareId}: PASS", page, StringComparison.Ordinal);
        Assert.Equal(record.Rows.Count, page.Split('\n').Count(l => l.StartsWith("| host ", StringComparison.Ordinal)));
        Assert.True(File.Exists(Path.Combine(_scratch, "results", record.CompareId, "report.html")));
    }

    [Fact]
    public async Task Planted_zeroing_fault_shows_a_full_failure_rate_with_its_class()
    {
        var (code, output, err) = await Compare("--setups", Setups, "--setup", "ext4,xfs-4k", "--fault", "zero-sub-block", "--json");

        Assert.True(code == 1, $"exit {code}\n{output}\n{err}");
        var printed = JsonSerializer.Deserialize<CompareRecord>(output, ResultStore.Json)!;
        var record = Record();
        Assert.Equal(JsonSerializer.Serialize(record, ResultStore.Json), JsonSerializer.Serialize(printed, ResultStore.Json));
        Assert.All(record.Rows, row =>
        {
            Assert.Equal(Outcome.Fail, row.Outcome);
            Assert.Equal((2, 2), (row.Failures, row.Counted));
            Assert.Equal(1.0, row.FailureRate);
            Assert.Equal(Statistics.ClopperPearson(2, 2).Lower, row.RateLower);
            Assert.Equal(["zeroed"], row.FindingsByClass.Keys);
            Assert.Equal(0, row.IoErrors);
        });
    }

    [Fact]
    public async Task Disk_geometry_and_mount_options_reach_the_machine_and_what_cannot_run_is_skipped_with_why()
    {
        var setups = Path.Combine(_scratch, "setups.yaml");
        await File.WriteAllTextAsync(setups, File.ReadAllText(Setups) + "  ext4-bogus-mount:\n    fs: ext4\n    mount-options: no_such_option_here\n");

        var (code, output, err) = await Compare("--setups", setups, "--setup", "ext4-4kn,ext4-nvme,ext4-512e,ext4-bogus-mount");

        Assert.True(code == 3, $"exit {code}\n{output}\n{err}");  // the bogus mount is the setup's ERROR
        var rows = Record().Rows.ToDictionary(r => r.Setup);
        // The loop device really had 4096-byte sectors: the agent's probe saw them and skipped.
        Assert.Equal(Outcome.Skip, rows["ext4-4kn"].Outcome);
        Assert.Equal("device logical block 4096 > case alignment 512 (from statx STATX_DIOALIGN)", rows["ext4-4kn"].SkipReason);
        Assert.Equal(2, rows["ext4-4kn"].Skipped);
        // What the host machine cannot give is a SKIP row with the reason, never run.
        Assert.Null(rows["ext4-nvme"].CellId);
        Assert.Contains("bus nvme is a QEMU disk", rows["ext4-nvme"].SkipReason);
        Assert.Contains("sectors 512e needs a physical sector apart from the logical one", rows["ext4-512e"].SkipReason);
        // The setup's mount options were given to mount(8): it refused this one.
        Assert.Equal(Outcome.Error, rows["ext4-bogus-mount"].Outcome);
        Assert.Contains("no_such_option_here", rows["ext4-bogus-mount"].Error);
        Assert.Contains("all: bus nvme is a QEMU disk", output);
    }

    [Theory]
    [InlineData(new[] { "--setup", "ext4,zfs" }, "no setup named 'zfs' in")]
    [InlineData(new[] { "--setup", "ext4-1k", "--case", "random-sub-block" }, "setups.yaml:20:0: setups.ext4-1k: cannot run case random-sub-block")]
    [InlineData(new[] { "--setup", "ext4", "--kernel", "linux-6.1", "--machine", "local" }, "--kernel boots kernels under QEMU")]
    [InlineData(new[] { "--setup", "ext4", "--setups", "/nonexistent/setups.yaml" }, "/nonexistent/setups.yaml: --setups: no such setups file")]
    public async Task Bad_input_is_exit_2_naming_the_option_or_file(string[] args, string expected)
    {
        var (code, output, err) = await Compare(args.Contains("--setups") ? args : ["--setups", Setups, .. args]);

        Assert.True(code == CliApp.ExitUsage, $"exit {code}\n{output}\n{err}");
        Assert.Contains(expected, err);
        Assert.False(Directory.Exists(Path.Combine(_scratch, "results")) && Directory.EnumerateFileSystemEntries(Path.Combine(_scratch, "results")).Any());
    }
}
