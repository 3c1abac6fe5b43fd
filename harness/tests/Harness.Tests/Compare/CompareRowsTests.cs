// The table math of `compare`: what counts toward a failure rate, its interval, the IOPS
// summary, and how planned skips and failures read in the table.
using Harness.Compare;
using Harness.Results;
using Harness.Setups;
using Harness.Tests.Support;
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.Compare;

public sealed class CompareRowsTests
{
    private static readonly SetupSpec Ext4 = new("ext4", "ext4", null, [], [], null, DiskGeometry.Default, "s.yaml", 2);

    private static IterationResult Iteration(int n, Outcome outcome, double iops, string? error = null) =>
        new("ext4-tiny", n, outcome, error, "6.1", 2, 64, 0, 0.01, iops, []);

    private static CellResult Cell(int passed, int failed, int errored, int crashed, int skipped, Outcome outcome, IReadOnlyDictionary<string, int>? findings = null) =>
        new(new CellInput("ext4-tiny", "ext4", "tiny", "cases/tiny.yaml", "", 64, passed + failed + errored + crashed + skipped) { Setup = "ext4" },
            outcome, passed, failed, errored, outcome == Outcome.Fail ? "zeroed" : null, findings ?? new Dictionary<string, int>(), 0, "6.1", 2, DateTimeOffset.UnixEpoch, 1)
        { Crashed = crashed, Skipped = skipped, IoErrors = 3 };

    [Fact]
    public void Failures_are_FAIL_and_CRASH_over_PASS_FAIL_and_CRASH_with_the_exact_interval()
    {
        var cell = Cell(passed: 5, failed: 2, errored: 2, crashed: 1, skipped: 0, Outcome.Fail, new Dictionary<string, int> { ["zeroed"] = 7 });
        var iterations = new[] { 100.0, 300, 200, 0, 400, 500, 600, 700, 800, 900 }.Select((iops, n) => Iteration(n, Outcome.Pass, iops)).ToArray();

        var row = CompareRows.FromCell("6.1", Ext4, 4096, cell, iterations);

        Assert.Equal(3, row.Failures);
        Assert.Equal(8, row.Counted);              // the 2 ERROR repeats say nothing about the kernel
        Assert.Equal(3.0 / 8, row.FailureRate);
        var (lower, upper) = Statistics.ClopperPearson(3, 8);
        Assert.Equal(lower, row.RateLower);
        Assert.Equal(upper, row.RateUpper);
        Assert.Equal(0.0852, row.RateLower!.Value, 3);  // R: binom.test(3, 8)$conf.int = 0.0852 0.7551
        Assert.Equal(0.7551, row.RateUpper!.Value, 3);
        // IOPS over the iterations that ran a workload (0 = none): upper median as cell.json, and the range.
        Assert.Equal(500, row.IopsMedian);
        Assert.Equal(100, row.IopsMin);
        Assert.Equal(900, row.IopsMax);
        Assert.Equal(7, row.FindingsByClass["zeroed"]);
        Assert.Equal(3, row.IoErrors);
        Assert.Equal("zeroed", row.Error);
    }

    [Fact]
    public void A_cell_whose_repeats_all_skipped_has_no_rate_and_says_why()
    {
        var cell = Cell(0, 0, 0, 0, skipped: 2, Outcome.Skip);
        var why = "device logical block 4096 > case alignment 512 (from statx STATX_DIOALIGN)";

        var row = CompareRows.FromCell("6.1", Ext4, 4096, cell, [Iteration(0, Outcome.Skip, 0, why), Iteration(1, Outcome.Skip, 0, why)]);

        Assert.Null(row.FailureRate);
        Assert.Null(row.RateUpper);
        Assert.Equal(0, row.Counted);
        Assert.Equal(why, row.SkipReason);
        Assert.Null(row.Error);
    }

    [Fact]
    public void Table_prints_rate_interval_findings_iops_range_and_skip_reasons()
    {
        var fail = CompareRows.FromCell("6.1", Ext4, 4096,
            Cell(0, 2, 0, 0, 0, Outcome.Fail, new Dictionary<string, int> { ["zeroed"] = 4, ["fsck"] = 1 }),
            [Iteration(0, Outcome.Fail, 650), Iteration(1, Outcome.Fail, 700)]);
        var nvme = new SetupSpec("ext4-nvme", "ext4", null, [], [], null, new DiskGeometry(512, 512, DiskBus.Nvme), "s.yaml", 9);
        var skipped = CompareRows.Skipped("6.1", nvme, "tiny", 4096, 2, "bus nvme is a QEMU disk");
        var record = new CompareRecord("c1", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, "harness compare", "s.yaml", "", [Ext4, nvme], ["tiny"],
            [], [fail, skipped], Outcome.Fail, false);

        var text = CompareTable.Render(record);

        Snapshot.Match(text);
        Assert.Contains("compare c1: FAIL;", text);
        Assert.Contains("  6.1 ext4-tiny: zeroed", text);
    }
}
