// The report pages of `compare` and `bisect`, rendered from recorded compare.json and bisect.json
// (Reports/Data): report.md as snapshots, report.html in headless Chromium (no console errors, the
// SVG drawn, the marks tied to the record), the bisection posterior replayed against the logged one,
// and `harness report <folder>` dispatching on the record.
using System.Text.RegularExpressions;
using Harness.Bisection;
using Harness.Cli;
using Harness.Compare;
using Harness.Reports;
using Harness.Results;
using Harness.Tests.Support;
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.Reports;

public sealed class ComparisonAndBisectReportTests
{
    private const string CompareFault = "compare-fault";
    private const string CompareHost = "compare-host";
    private const string Bisect = "bisect-ext4-race";

    private static CompareRecord CompareRecord(ReportFixture f) => RecordFormat.Read<CompareRecord>(Path.Combine(f.Folder, CompareReport.RecordFile));

    private static BisectRecord BisectRecord(ReportFixture f) => RecordFormat.Read<BisectRecord>(Path.Combine(f.Folder, BisectReport.RecordFile));

    [Fact]
    public void Compare_report_md_puts_the_outcome_first_then_the_table_and_the_skipped_row_with_why()
    {
        using var fixture = new ReportFixture(CompareFault);

        var md = CompareReport.Markdown(CompareRecord(fixture));

        Assert.StartsWith("# harness compare 20261127-021047-compare-26942: FAIL\n\n**FAIL**: 4 row(s) (kernel x setup x case): 3 FAIL, 1 SKIP.", md, StringComparison.Ordinal);
        Assert.Contains("| host 6.18.44-fc-v509 | xfs-1k | tiny | 1024 | 512 virtio-blk | FAIL | 3/3 | 100.0 % [29.2-100.0 %] | zeroed:3 | 0 |", md);
        Assert.Contains("- host 6.18.44-fc-v509 · ext4-nvme · tiny: not run: bus nvme is a QEMU disk", md);
        Snapshot.Match(md);
    }

    [Fact]
    public void Compare_report_md_of_a_passing_host_comparison_lists_every_skip_reason()
    {
        using var fixture = new ReportFixture(CompareHost);

        var md = CompareReport.Markdown(CompareRecord(fixture));

        Assert.Contains("f2fs", md);
        Snapshot.Match(md);
    }

    [Fact]
    public async Task Compare_report_html_renders_in_headless_chromium_with_one_interval_per_counted_row()
    {
        using var fixture = new ReportFixture(CompareFault);
        var record = CompareRecord(fixture);
        await CompareReport.WriteAsync(fixture.Folder, CancellationToken.None);
        var html = File.ReadAllText(Path.Combine(fixture.Folder, ReportWriter.Html));
        var screenshot = Path.Combine(fixture.Folder, "report.png");

        var page = await Chromium.OpenAsync(Path.Combine(fixture.Folder, ReportWriter.Html), screenshot);

        Assert.DoesNotMatch(new Regex("(src|href)=\"(https?:)?//|<script|<link", RegexOptions.IgnoreCase), html);
        Assert.Empty(page.ConsoleErrors);
        Assert.Single(Regex.Matches(page.Dom, "<svg class=\"rate-plot\""));
        // One interval per row with counted repeats, carrying the row's counts; the SKIP row is listed, not plotted.
        var intervals = Regex.Matches(page.Dom, "<g class=\"interval\" data-failures=\"(\\d+)\" data-runs=\"(\\d+)\"").Select(m => (int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value))).ToArray();
        Assert.Equal(record.Rows.Where(r => r.FailureRate is not null).Select(r => (r.Failures, r.Counted)), intervals);
        Assert.Equal(3, intervals.Length);
        Assert.Matches("<ul id=\"skipped\">\\s*<li>host 6.18.44-fc-v509 · ext4-nvme · tiny: not run: bus nvme is a QEMU disk", page.Dom);
        Assert.Equal(record.Rows.Count + 1, Regex.Matches(page.Dom, "<tr>").Count);
        // The failing rows' dots and bars are drawn in the failure colour.
        var image = new PngImage(screenshot);
        Assert.True(image.Count("#cc0000") > 300, $"{image.Count("#cc0000")} failure-coloured pixels in {screenshot}");
        Keep(screenshot, CompareFault);
    }

    [Fact]
    public void Bisect_report_md_gives_the_answer_first_then_every_step()
    {
        using var fixture = new ReportFixture(Bisect);
        var record = BisectRecord(fixture);

        var md = BisectReport.Markdown(record);

        Assert.StartsWith("# harness bisect 20261127-011809-bisect-8333: CULPRIT\n\n**CULPRIT**: first bad commit 3e5e293af24d", md, StringComparison.Ordinal);
        Assert.Equal(record.Steps.Count, Regex.Matches(md, "^\\| \\d+ \\| ", RegexOptions.Multiline).Count);
        Snapshot.Match(md);
    }

    [Fact]
    public void The_posterior_replayed_from_the_steps_counts_agrees_with_the_logged_top_candidates_and_a_changed_count_does_not()
    {
        using var fixture = new ReportFixture(Bisect);
        var record = BisectRecord(fixture);

        var replayed = BisectReport.Replay(record);

        Assert.Equal(record.Steps.Count, replayed.Count);
        foreach (var (step, p) in replayed)
        {
            Assert.NotNull(p);
            Assert.Equal(1.0, p.Sum(), 6);
            foreach (var c in step.Top) Assert.Equal(c.Probability, p[c.Commit], 9);
        }
        Assert.True(replayed[^1].Probabilities![record.Steps[^1].Top[0].Commit] >= record.Policy.Probability);
        // Planted defect: the last step's clean run counted as a failure moves the posterior away from the log.
        var last = record.Steps[^1];
        var tampered = record with { Steps = [.. record.Steps.SkipLast(1), last with { Failures = last.Runs }] };
        var moved = BisectReport.Replay(tampered)[^1].Probabilities!;
        Assert.NotEqual(last.Top[0].Probability, moved[last.Top[0].Commit], 3);
    }

    [Fact]
    public async Task Bisect_report_html_renders_the_posterior_of_every_step_in_headless_chromium()
    {
        using var fixture = new ReportFixture(Bisect);
        var record = BisectRecord(fixture);
        await BisectReport.WriteAsync(fixture.Folder, CancellationToken.None);
        var screenshot = Path.Combine(fixture.Folder, "report.png");

        var page = await Chromium.OpenAsync(Path.Combine(fixture.Folder, ReportWriter.Html), screenshot);

        Assert.Empty(page.ConsoleErrors);
        Assert.Single(Regex.Matches(page.Dom, "<svg id=\"posterior-plot\""));
        var n = record.Commits.Count - 1;
        // A row per step, a bar per candidate commit in each, and the tested commit outlined.
        Assert.Equal(record.Steps.Select(s => s.Step), Regex.Matches(page.Dom, "<g class=\"posterior-step\" data-step=\"(\\d+)\"").Select(m => int.Parse(m.Groups[1].Value)));
        Assert.Equal(record.Steps.Count * n, Regex.Matches(page.Dom, "<rect class=\"posterior-bar\"").Count);
        Assert.Equal(record.Steps.Count, Regex.Matches(page.Dom, "<rect class=\"tested\"").Count);
        // The last step's bar of the named culprit carries its probability from the record.
        var culprit = record.Commits.Single(c => c.Sha == record.Culprit!.Sha).Index;
        var bar = Regex.Match(page.Dom, $"<rect class=\"posterior-bar\" data-step=\"{record.Steps[^1].Step}\" data-commit=\"{culprit}\" data-probability=\"([0-9.]+)\"");
        Assert.True(bar.Success);
        Assert.Equal(record.Culprit!.Probability, double.Parse(bar.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 4);
        // Drawn: the culprit's bar above the wanted probability is in the failure colour.
        var image = new PngImage(screenshot);
        Assert.True(image.Count("#cc0000") > 50, $"{image.Count("#cc0000")} culprit-coloured pixels in {screenshot}");
        Keep(screenshot, Bisect);
    }

    [Theory]
    [InlineData(CompareFault, "compare 20261127-021047-compare-26942: FAIL")]
    [InlineData(Bisect, "bisect 20261127-011809-bisect-8333: CULPRIT")]
    public async Task Harness_report_regenerates_the_pages_of_a_compare_or_bisect_folder_from_its_record(string name, string line)
    {
        using var fixture = new ReportFixture(name);
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var code = await new CliApp(stdout, stderr, TimeProvider.System).RunAsync(["report", fixture.Folder], CancellationToken.None);
        var kcidb = await new CliApp(new StringWriter(), stderr, TimeProvider.System).RunAsync(["report", fixture.Folder, "--kcidb", "--origin", "lab"], CancellationToken.None);

        Assert.True(code == 0, stderr.ToString());
        Assert.StartsWith(line, stdout.ToString(), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(fixture.Folder, ReportWriter.Markdown)));
        Assert.True(File.Exists(Path.Combine(fixture.Folder, ReportWriter.Html)));
        Assert.Equal(CliApp.ExitUsage, kcidb);
        Assert.Contains("--kcidb: KCIDB reports are written per run folder", stderr.ToString());
    }

    // Kept beside the test binaries (the fixture folder is temporary), for CI to archive and people to look at.
    private static void Keep(string screenshot, string name)
    {
        var kept = Path.Combine(AppContext.BaseDirectory, "report-screenshots");
        Directory.CreateDirectory(kept);
        File.Copy(screenshot, Path.Combine(kept, $"{name}.png"), overwrite: true);
    }
}
