// Reports rendered from recorded results folders (Reports/Data): snapshots of report.md, junit.xml
// and kcidb.json; the JUnit output against the Jenkins schema's rules and the KCIDB output against
// v5.3's, each rule set also shown rejecting bad documents; CRASH, ERROR and unfinished cells in
// the machine formats; report.html in headless Chromium.
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Harness.Golden;
using Harness.Machines;
using Harness.Reports;
using Harness.Results;
using Harness.Tests.Support;
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.Reports;

public sealed class ReportTests
{
    // ---- snapshots of the recorded fault run (host kernel, --fault zero-sub-block, ext4 and xfs) ----

    [Fact]
    public void Report_md_of_a_failing_run_puts_the_verdict_first_and_the_first_zeroed_finding_with_its_rerun()
    {
        using var fixture = new ReportFixture(ReportFixture.FaultRun);
        var md = MarkdownReport.Render(fixture.Load());

        Assert.StartsWith($"# harness run {ReportFixture.FaultRun}: FAIL", md, StringComparison.Ordinal);
        Assert.Contains("- sectors 9-10 (file offset 4608, 0x1200, 1024 bytes), fs block 1 of 4096 bytes", md);
        Assert.Contains("- IOs in flight: 0, 1", md);
        Assert.Contains($"`harness rerun results/{ReportFixture.FaultRun}/cells/ext4-seed`", md);
        Snapshot.Match(md);
    }

    [Fact]
    public void Junit_of_a_failing_run_has_one_failing_testcase_per_cell_and_repeat()
    {
        using var fixture = new ReportFixture(ReportFixture.FaultRun);
        var xml = JunitReport.Render(fixture.Load());

        Assert.Empty(JunitRules.Check(xml));
        var cases = XDocument.Parse(xml).Descendants("testcase").ToArray();
        Assert.Equal(["ext4-seed repeat 1", "ext4-seed repeat 2", "xfs-seed repeat 1", "xfs-seed repeat 2"], cases.Select(c => (string)c.Attribute("name")!));
        Assert.All(cases, c => Assert.Equal("zeroed", (string)c.Element("failure")!.Attribute("type")!));
        Snapshot.Match(xml);
    }

    [Fact]
    public void Kcidb_of_a_failing_run_follows_v5_3_with_one_test_per_cell_and_repeat()
    {
        using var fixture = new ReportFixture(ReportFixture.FaultRun);
        var json = KcidbReport.Render(fixture.Load(), "harness_ci");

        Assert.Empty(KcidbRules.Check(json));
        var tests = JsonNode.Parse(json)!["tests"]!.AsArray();
        Assert.Equal(4, tests.Count);
        Assert.All(tests, t => Assert.Equal("FAIL", (string)t!["status"]!));
        Assert.All(tests, t => Assert.Equal(1, (int)t!["misc"]!["findings_by_class"]!["zeroed"]!));
        Assert.Equal("harness.seed.ext4", (string)tests[0]!["path"]!);
        Snapshot.Match(json);
    }

    [Fact]
    public void Report_md_of_a_validation_gives_the_verdict_and_both_rates_first()
    {
        using var fixture = new ReportFixture(ReportFixture.Validation);
        var md = MarkdownReport.Render(fixture.Load());

        Assert.StartsWith($"# harness validate {ReportFixture.Validation}: FIXES\n\n**FIXES** on ocfs2/seed: without the patch 20/20 repeats corrupted, with it 0/60.", md, StringComparison.Ordinal);
        Snapshot.Match(md);
    }

    [Fact]
    public void What_ran_names_each_sides_kernel_by_content_each_patch_and_each_case()
    {
        using var fixture = new ReportFixture(ReportFixture.Validation);
        var model = fixture.Load();
        // Today's records carry the identity (the fixture's folder predates it): give each side one.
        var v = model.Validation!;
        var kernels = v.Kernels.Select((k, i) => k with
        {
            Identity = new Harness.Machines.KernelIdentity(new string((char)('a' + i), 64), new string('c', 64), "QEMU emulator version 7.2.19", "aio=threads,cache=unsafe", "tcg"),
        }).ToArray();
        var patch = new Harness.Kernels.AppliedPatch("/x/kernels/patches/direct-io-serialise-sub-block-zeroing.patch", new string('9', 64));
        model = model with { Validation = v with { Kernels = kernels, Patches = [patch] } };

        var ran = model.WhatRan();
        Assert.Equal(["kernel (without)", "kernel (with)", "kernel (control)", "patch", "case"], ran.Select(r => r.What));
        Assert.Equal("bzImage sha256 aaaaaaaaaaaa, config sha256 cccccccccccc, QEMU emulator version 7.2.19, disk aio=threads,cache=unsafe, tcg", ran[0].Identity);
        Assert.StartsWith("bzImage sha256 bbbbbbbbbbbb", ran[1].Identity, StringComparison.Ordinal); // the sides differ by content
        Assert.Equal(("direct-io-serialise-sub-block-zeroing.patch", "sha256 999999999999"), (ran[3].Name, ran[3].Identity));
        Assert.Equal(("seed", "sha256 c92e8fc73355, seed 240"), (ran[4].Name, ran[4].Identity));
        var md = MarkdownReport.Render(model);
        Assert.Contains("| kernel (with) | linux-6.1-ocfs2-race+direct-io-serialise-sub-block-zeroing 6.1.192+ | bzImage sha256 bbbbbbbbbbbb,", md, StringComparison.Ordinal);
        var html = HtmlReport.Render(model);
        Assert.Contains("<td>patch</td><td>direct-io-serialise-sub-block-zeroing.patch</td><td>sha256 999999999999</td>", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Junit_of_a_validation_has_one_testcase_per_pair_that_passes_on_the_expected_verdict_only()
    {
        using var fixture = new ReportFixture(ReportFixture.Validation);
        var model = fixture.Load();

        var fixes = JunitReport.Render(model);
        var expectedRegression = JunitReport.Render(model, PatchVerdict.Regresses);

        Assert.Empty(JunitRules.Check(fixes));
        Assert.Empty(JunitRules.Check(expectedRegression));
        // The unpatched kernel's 20/20 corrupted repeats are what FIXES needs: no red testcase.
        var pair = XDocument.Parse(fixes).Descendants("testcase").Single();
        Assert.Equal("ocfs2/seed", (string)pair.Attribute("name")!);
        Assert.Null(pair.Element("failure"));
        var failed = XDocument.Parse(expectedRegression).Descendants("testcase").Single();
        Assert.StartsWith("expected REGRESSES, got FIXES", (string)failed.Element("failure")!.Attribute("message")!, StringComparison.Ordinal);
        Snapshot.Match(fixes);
    }

    [Theory]
    [InlineData(LoopEnd.Interrupted, "skipped")]
    [InlineData(LoopEnd.Uncountable, "error")]
    [InlineData(LoopEnd.Cap, "failure")]
    public void Junit_of_an_undecided_pair_says_why_instead_of_failing_the_kernel(LoopEnd end, string element)
    {
        using var fixture = new ReportFixture(ReportFixture.Validation);
        var model = fixture.Load();
        var pair = model.Validation!.Pairs.Single() with { End = end, Verdict = PatchVerdict.Inconclusive };
        var xml = JunitReport.Render(model with { Validation = model.Validation with { Pairs = [pair] } });

        Assert.Empty(JunitRules.Check(xml));
        var testcase = XDocument.Parse(xml).Descendants("testcase").Single();
        Assert.Equal([element], testcase.Elements().Select(e => e.Name.LocalName).Where(n => n != "system-out"));
    }

    [Fact]
    public void Kcidb_of_a_validation_has_a_checkout_and_build_per_kernel()
    {
        using var fixture = new ReportFixture(ReportFixture.Validation);
        var json = KcidbReport.Render(fixture.Load(), "harness_ci");

        Assert.Empty(KcidbRules.Check(json));
        var doc = JsonNode.Parse(json)!;
        Assert.Equal(["without", "with", "control"], doc["builds"]!.AsArray().Select(b => ((string)b!["id"]!).Split(':').Last()));
        // The trimmed fixture keeps 4 of each cell's 10 repeats: the other 6 read as never run (MISS).
        var without = doc["tests"]!.AsArray().Where(t => ((string)t!["build_id"]!).EndsWith(":without", StringComparison.Ordinal) && t!["misc"]!["iteration"] is not null).ToArray();
        Assert.NotEmpty(without);
        Assert.All(without, t => Assert.Equal("FAIL", (string)t!["status"]!));
        Snapshot.Match(json);
    }

    // ---- CRASH, ERROR-free machine failures and unfinished cells in the machine formats ----

    /// <summary>The fault run plus a btrfs cell whose kernel panicked in repeat 2 and an f2fs cell the run never finished.</summary>
    private static async Task<ReportFixture> MixedRunAsync()
    {
        var fixture = new ReportFixture(ReportFixture.FaultRun);
        var folder = new RunFolder(fixture.Folder);
        var run = RunJournal.ReadRun(fixture.Folder);
        var template = run.Inputs[0];
        var crashInput = template with { CellId = "btrfs-seed", Filesystem = "btrfs" };
        var unfinishedInput = template with { CellId = "f2fs-seed", Filesystem = "f2fs" };
        var pass = new IterationResult("btrfs-seed", 0, Outcome.Pass, null, "6.18.44-fc-v509", 2, 8191, 0, 0.2, 40000,
            [new PassResult("after-fsync", 65536, 0, new Dictionary<string, int>(), [])]);
        await folder.WriteIterationAsync(pass, CancellationToken.None);
        await folder.WriteCellAsync(new CellResult(crashInput, Outcome.Crash, 1, 0, 0, "kernel-panic", new Dictionary<string, int>(), 40000, "6.18.44-fc-v509", 2, run.Started, 9.5)
        {
            Crashed = 1,
            Failure = new MachineFailure("kernel-panic", "Kernel panic - not syncing: planted", "[   12.3] Kernel panic - not syncing: planted\n\u0001control byte", "console.log"),
        }, CancellationToken.None);
        await folder.WriteIterationAsync(pass with { CellId = "f2fs-seed" }, CancellationToken.None);
        await folder.WriteRunAsync(run with { Inputs = [.. run.Inputs, crashInput, unfinishedInput], Interrupted = true, StopReason = "interrupted (SIGINT)" }, CancellationToken.None);
        return fixture;
    }

    [Fact]
    public async Task Junit_reports_a_crash_as_a_failure_and_repeats_that_never_ran_as_skipped()
    {
        using var fixture = await MixedRunAsync();
        var model = fixture.Load();
        var xml = JunitReport.Render(model);

        Assert.Empty(JunitRules.Check(xml));
        var cases = XDocument.Parse(xml).Descendants("testcase").ToDictionary(c => (string)c.Attribute("name")!);
        Assert.Equal(8, cases.Count);
        Assert.Null(cases["btrfs-seed repeat 1"].Element("failure"));
        Assert.Equal("crash:kernel-panic", (string)cases["btrfs-seed repeat 2"].Element("failure")!.Attribute("type")!);
        Assert.Null(cases["f2fs-seed repeat 1"].Element("failure"));
        Assert.Equal("not run: the run was interrupted", (string)cases["f2fs-seed repeat 2"].Element("skipped")!);
        Assert.Equal(Outcome.Skip, model.Cells.Single(c => c.Input.CellId == "f2fs-seed").Outcome);
        Snapshot.Match(xml);
    }

    [Fact]
    public async Task Kcidb_reports_a_crash_as_fail_with_its_kind_in_misc_and_unrun_repeats_as_miss()
    {
        using var fixture = await MixedRunAsync();
        var json = KcidbReport.Render(fixture.Load(), "harness_ci");

        Assert.Empty(KcidbRules.Check(json));
        var tests = JsonNode.Parse(json)!["tests"]!.AsArray().ToDictionary(t => (string)t!["id"]!);
        var crash = tests[$"harness_ci:{ReportFixture.FaultRun}:test:btrfs-seed:2"]!;
        Assert.Equal("FAIL", (string)crash["status"]!);
        Assert.Equal("kernel-panic", (string)crash["misc"]!["crash_kind"]!);
        Assert.Contains("Kernel panic - not syncing: planted", (string)crash["log_excerpt"]!);
        Assert.Equal("MISS", (string)tests[$"harness_ci:{ReportFixture.FaultRun}:test:f2fs-seed:2"]!["status"]!);
        Assert.Equal("PASS", (string)tests[$"harness_ci:{ReportFixture.FaultRun}:test:f2fs-seed:1"]!["status"]!);
    }

    [Fact]
    public async Task Report_md_of_an_interrupted_run_says_so_and_lists_the_crash_with_its_rerun()
    {
        using var fixture = await MixedRunAsync();
        var md = MarkdownReport.Render(fixture.Load());

        Assert.Contains("**interrupted**: interrupted (SIGINT)", md);
        Assert.Contains($"- btrfs-seed: CRASH [kernel-panic] Kernel panic - not syncing: planted; rerun: `harness rerun results/{ReportFixture.FaultRun}/cells/btrfs-seed`", md);
        Assert.Contains("- f2fs-seed: SKIP did not finish (run interrupted)", md);
    }

    // ---- the rule checkers reject what the real schemas reject ----

    private const string GoodJunit = """
        <testsuites tests="1" failures="1"><testsuite name="s" tests="1" failures="1" errors="0" skipped="0">
        <properties><property name="a" value="b"/></properties>
        <testcase name="c" classname="k"><failure message="m" type="t">text</failure><system-out>o</system-out></testcase>
        </testsuite></testsuites>
        """;

    [Fact]
    public void Junit_rules_accept_a_minimal_valid_document()
    {
        Assert.Empty(JunitRules.Check(GoodJunit));
    }

    [Theory]
    [InlineData("<failure message=\"m\" type=\"t\">text</failure><system-out>o</system-out>", "<system-out>o</system-out><failure message=\"m\" type=\"t\">text</failure>", "out of order")]
    [InlineData("<testcase name=\"c\" classname=\"k\">", "<testcase classname=\"k\">", "missing required attribute name")]
    [InlineData("<testsuite name=\"s\" tests=\"1\"", "<testsuite name=\"s\" tests=\"2\"", "tests=\"2\" but the document holds 1")]
    [InlineData("<testsuites tests=\"1\" failures=\"1\">", "<testsuites tests=\"1\" failures=\"0\">", "failures=\"0\" but the document holds 1")]
    [InlineData("<testcase name=\"c\" classname=\"k\">", "<testcase name=\"c\" classname=\"k\" file=\"x.cs\">", "attribute file is not in the schema")]
    [InlineData("<failure message=\"m\" type=\"t\">text</failure>", "<skipped message=\"why\"/>", "attribute message is not in the schema")]
    [InlineData("<properties><property name=\"a\" value=\"b\"/></properties>", "<properties/>", "at least one <property>")]
    [InlineData("<property name=\"a\" value=\"b\"/>", "<property name=\"a\"/>", "missing required attribute value")]
    [InlineData("<testsuite name=\"s\" tests=\"1\"", "<testsuite tests=\"1\"", "missing required attribute name")]
    public void Junit_rules_reject_what_the_jenkins_schema_or_a_ci_reader_rejects(string from, string to, string expected)
    {
        var bad = GoodJunit.Replace(from, to, StringComparison.Ordinal);
        Assert.NotEqual(GoodJunit, bad);
        Assert.Contains(JunitRules.Check(bad), p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Junit_rules_reject_duplicate_testcase_names()
    {
        var twice = GoodJunit.Replace("tests=\"1\"", "tests=\"2\"", StringComparison.Ordinal).Replace("failures=\"1\"", "failures=\"2\"", StringComparison.Ordinal)
            .Replace("</testcase>", "</testcase><testcase name=\"c\" classname=\"k\"><failure/></testcase>", StringComparison.Ordinal);
        Assert.Contains(JunitRules.Check(twice), p => p.Contains("duplicate name", StringComparison.Ordinal));
    }

    private const string GoodKcidb = """
        {"version": {"major": 5, "minor": 3},
         "checkouts": [{"id": "o:c", "origin": "o", "start_time": "2026-11-26T22:57:22.000000+00:00", "valid": true, "misc": {}}],
         "builds": [{"id": "o:b", "checkout_id": "o:c", "origin": "o", "architecture": "x86_64", "status": "PASS"}],
         "tests": [{"id": "o:t", "build_id": "o:b", "origin": "o", "path": "harness.seed.ext4", "status": "FAIL", "number": {"value": 1.5, "unit": "IOPS"}, "misc": {"crash_kind": "oops"}}]}
        """;

    [Fact]
    public void Kcidb_rules_accept_a_minimal_valid_document()
    {
        Assert.Empty(KcidbRules.Check(GoodKcidb));
    }

    [Theory]
    [InlineData("\"status\": \"FAIL\"", "\"status\": \"fail\"", "is not one of")]
    [InlineData("\"status\": \"FAIL\"", "\"status\": \"CRASH\"", "is not one of")]
    [InlineData("\"valid\": true", "\"valid\": null", "is null")]
    [InlineData("\"architecture\": \"x86_64\"", "\"architecture\": \"x86_64\", \"valid\": true", "builds carry status")]
    [InlineData("\"misc\": {\"crash_kind\": \"oops\"}", "\"crash_kind\": \"oops\"", "unknown key 'crash_kind'")]
    [InlineData("\"id\": \"o:t\"", "\"id\": \"t\"", "is not origin:")]
    [InlineData("\"origin\": \"o\", \"start_time\"", "\"origin\": \"My-Lab\", \"start_time\"", "does not match ^[a-z0-9_]+$")]
    [InlineData("22:57:22.000000+00:00", "22:57:22.000000", "not a date-time with a timezone")]
    [InlineData("\"major\": 5", "\"major\": 4", "version.major must be 5")]
    [InlineData("\"path\": \"harness.seed.ext4\"", "\"path\": \"harness..ext4\"", "not dot-separated")]
    [InlineData("\"build_id\": \"o:b\"", "\"build_id\": \"o:nothing\"", "is not in the document")]
    [InlineData("\"number\": {\"value\": 1.5, \"unit\": \"IOPS\"}", "\"number\": {\"unit\": \"IOPS\"}", "missing required key 'value'")]
    public void Kcidb_rules_reject_what_schema_v5_3_rejects(string from, string to, string expected)
    {
        var bad = GoodKcidb.Replace(from, to, StringComparison.Ordinal);
        Assert.NotEqual(GoodKcidb, bad);
        Assert.Contains(KcidbRules.Check(bad), p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void A_kcidb_origin_outside_the_schema_pattern_is_an_input_error_naming_the_option()
    {
        using var fixture = new ReportFixture(ReportFixture.FaultRun);
        var e = Assert.Throws<Harness.Yaml.InputException>(() => KcidbReport.Render(fixture.Load(), "My-Lab"));
        Assert.StartsWith("--origin: 'My-Lab' is not a KCIDB origin", e.Message, StringComparison.Ordinal);
    }

    // ---- report.html in a real browser ----

    [Fact]
    public async Task Report_html_renders_in_headless_chromium_with_the_corrupted_sectors_marked()
    {
        using var fixture = new ReportFixture(ReportFixture.FaultRun);
        await ReportWriter.WriteAsync(fixture.Folder, fixture.ShownAs, null, JunitReport.DefaultExpected, CancellationToken.None);
        var html = File.ReadAllText(Path.Combine(fixture.Folder, ReportWriter.Html));
        var screenshot = Path.Combine(fixture.Folder, "report.png");

        var page = await Chromium.OpenAsync(Path.Combine(fixture.Folder, ReportWriter.Html), screenshot);

        // Self-contained: nothing to fetch, no script.
        Assert.DoesNotMatch(new Regex("(src|href)=\"(https?:)?//|<script|<link", RegexOptions.IgnoreCase), html);
        Assert.Empty(page.ConsoleErrors);
        // The record's first finding (ext4-seed iteration 0, after-remount: zeroed sectors 9-10) is on the map: in the
        // overview as one mark, and in the zoomed fs blocks sector by sector.
        var finding = RunJournal.ReadIterations(new RunFolder(fixture.Folder), "ext4-seed")[0].Passes.Single(p => p.Pass == "after-remount").Findings.Single();
        Assert.Equal((FindingClass.Zeroed, 9L, 2L), (finding.Class, finding.FirstSector, finding.SectorCount));
        Assert.Matches($"<rect class=\"sector-mark overview\" data-class=\"zeroed\" data-first-sector=\"{finding.FirstSector}\" data-sectors=\"{finding.SectorCount}\"", page.Dom);
        var zoomed = Regex.Matches(page.Dom, "<rect class=\"sector-mark zoom\" data-sector=\"(\\d+)\" data-class=\"zeroed\"").Select(m => long.Parse(m.Groups[1].Value)).ToArray();
        Assert.Equal([9L, 10L], zoomed);
        Assert.Equal(4, Regex.Matches(page.Dom, "<svg ").Count); // rate plot, map overview, map zoom, IOPS
        // The screenshot, kept with the run, shows the marks in the zeroed colour: 2 sectors in the zoom (~30x40 px) and the overview mark.
        var image = new PngImage(screenshot);
        Assert.True(image.Count(HtmlReport.ClassColours[FindingClass.Zeroed]) > 1000, $"{image.Count(HtmlReport.ClassColours[FindingClass.Zeroed])} zeroed-coloured pixels in {screenshot}");
        // Kept beside the test binaries too (the run folder is temporary), for CI to archive and people to look at.
        var kept = Path.Combine(AppContext.BaseDirectory, "report-screenshots");
        Directory.CreateDirectory(kept);
        File.Copy(screenshot, Path.Combine(kept, $"{ReportFixture.FaultRun}.png"), overwrite: true);
    }

    [Fact]
    public void Report_html_of_a_validation_plots_both_sides_with_intervals_and_maps_the_unpatched_kernel_s_corruption()
    {
        using var fixture = new ReportFixture(ReportFixture.Validation);
        var html = HtmlReport.Render(fixture.Load());

        // Without, with and control: one interval each, against the max-residual line, with the verdict.
        var verdictPlot = html[html.IndexOf("<svg class=\"verdict-plot\"", StringComparison.Ordinal)..];
        verdictPlot = verdictPlot[..(verdictPlot.IndexOf("</svg>", StringComparison.Ordinal))];
        Assert.Equal(["20/20", "0/60", "0/20"], Regex.Matches(verdictPlot, "data-failures=\"(\\d+)\" data-runs=\"(\\d+)\"").Select(m => $"{m.Groups[1]}/{m.Groups[2]}"));
        Assert.Contains("max residual 5 %", verdictPlot);
        Assert.Contains("ocfs2/seed: FIXES", verdictPlot);
        // The map is of the kernel without the patch: its first corrupted read-back.
        Assert.Contains("<p>ocfs2-seed-without-look01-g1, iteration 0, after-fsync read-back", html);
        Assert.Contains("<rect class=\"sector-mark overview\" data-class=\"zeroed\" data-first-sector=\"8\"", html);
    }

    [Fact]
    public async Task The_console_check_catches_a_page_that_throws()
    {
        using var fixture = new ReportFixture(ReportFixture.FaultRun);
        var bad = Path.Combine(fixture.Folder, "bad.html");
        File.WriteAllText(bad, "<!DOCTYPE html><html><body><p>x</p><script>nosuch();</script></body></html>");

        var page = await Chromium.OpenAsync(bad, Path.Combine(fixture.Folder, "bad.png"));

        Assert.Contains(page.ConsoleErrors, m => m.Contains("nosuch is not defined", StringComparison.Ordinal));
    }

    [Fact]
    public void A_run_without_corrupted_sectors_has_no_map_marks()
    {
        using var fixture = new ReportFixture(ReportFixture.FaultRun);
        var model = fixture.Load();
        var clean = model with
        {
            Cells = model.Cells.Select(c => c with
            {
                Iterations = c.Iterations.Select(i => i with { Outcome = Outcome.Pass, Passes = i.Passes.Select(p => p with { FindingCount = 0, Findings = [], FindingsByClass = new Dictionary<string, int>() }).ToArray() }).ToArray(),
            }).ToArray(),
        };

        var html = HtmlReport.Render(clean);

        Assert.DoesNotContain("sector-mark", html);
        Assert.Contains("id=\"no-corruption\"", html);
    }
}
