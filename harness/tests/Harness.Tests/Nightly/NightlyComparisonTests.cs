// The nightly's judgement on planted records: validate's statistics decide (one FAIL among PASS is
// not a regression; a regression shown at the statistics' level is), a regression between two
// kernel versions starts a bisection (fake step runner, real git range) recorded in the nightly's
// folder, and the baseline is the newest complete nightly of the same plan name and content hash.
using Harness.Bisection;
using Harness.Nightly;
using Harness.Results;
using Harness.Tests.Bisection;
using Harness.Verdicts;
using Harness.Yaml;
using Xunit;

namespace Harness.Tests.Nightly;

public sealed class NightlyComparisonTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("harness-nightly-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    // The shipped plan's statistics: 14 repeats a cell on 2 guests, max residual 0.3, alpha 0.01 over 6 cells.
    private static readonly VerdictPolicy Policy = new(Alpha: 0.01, BatchSize: 14, MaxResidual: 0.3, MaxRunsPerSide: 14, Guests: 2, Pairs: 6);

    /// <summary>A guest's cell record as the run executor writes it.</summary>
    private static CellResult Guest(int g, int passed, int failed, int errored = 0) =>
        new(new CellInput($"ext4-seed-quick-g{g}", "ext4", $"seed-quick-g{g}", "cases/seed-quick.yaml", "", 1, passed + failed + errored),
            failed > 0 ? Outcome.Fail : errored > 0 ? Outcome.Error : Outcome.Pass, passed, failed, errored, failed > 0 ? "zeroed" : null,
            new Dictionary<string, int>(), 0, "6.1", 2, DateTimeOffset.UnixEpoch, 1);

    private static NightlyCell Cell(string identity, params CellResult[] guests) =>
        NightlyComparer.CellOf("k", "ext4", "seed-quick", identity, guests, 2);

    private static NightlyKernel GitKernel(string tree, string commit) =>
        new("k", BisectWith.Git, commit, "6.1.0", $"built git {tree}") { Tree = tree, Commit = commit };

    private static NightlyRecord Nightly(string id, DateTimeOffset started, string sha, IReadOnlyList<NightlyKernel> kernels, IReadOnlyList<NightlyCell> cells, bool complete = true) =>
        new(id, started, complete ? started.AddHours(1) : null, "harness nightly", "plan", "/p.yaml", sha, Policy, null, kernels, [], cells, [], [], !complete, 0, "");

    [Fact]
    public void One_FAIL_among_PASS_is_UNDECIDED_not_a_regression()
    {
        var baseline = Cell("a", Guest(1, 7, 0), Guest(2, 7, 0));
        var tonight = Cell("b", Guest(1, 6, 1), Guest(2, 7, 0));

        var c = NightlyComparer.Compare(Policy, baseline, tonight);

        Assert.Equal(NightlyWord.Undecided, c.Word);
        Assert.Equal(VerdictBasis.OnlyPatchedFailed, c.Basis);
        Assert.True(c.KernelChanged);
        Assert.Equal(4, NightlyComparer.ExitCode([c]));
    }

    [Fact]
    public void Failures_on_two_guests_significant_at_alpha_over_the_plans_cells_REGRESS()
    {
        var baseline = Cell("a", Guest(1, 7, 0), Guest(2, 7, 0));
        var tonight = Cell("b", Guest(1, 2, 5), Guest(2, 3, 4));

        var c = NightlyComparer.Compare(Policy, baseline, tonight);

        Assert.Equal(NightlyWord.Regresses, c.Word);
        Assert.Equal("REGRESSES", c.Verdict);
        Assert.Equal(new RateCounts(9, 14) { FailingGuests = 2 }, c.Tonight);
        Assert.True(c.PValue < 0.01 / 6);
        Assert.Equal(1, NightlyComparer.ExitCode([c]));
    }

    [Fact]
    public void The_same_failures_in_one_guest_only_do_not_regress()
    {
        // One cell alone (no Bonferroni), so 7/14 against 0/14 is significant: only the one-guest rule stops it.
        var c = NightlyComparer.Compare(Policy with { Pairs = 1 }, Cell("a", Guest(1, 7, 0), Guest(2, 7, 0)), Cell("a", Guest(1, 0, 7), Guest(2, 7, 0)));

        Assert.Equal(NightlyWord.Undecided, c.Word);
        Assert.Equal(VerdictBasis.MoreFailuresInOneGuestOnly, c.Basis);
    }

    [Fact]
    public void Two_clean_nights_are_SAME_and_two_corrupt_alike_are_SAME()
    {
        var clean = NightlyComparer.Compare(Policy, Cell("a", Guest(1, 7, 0), Guest(2, 7, 0)), Cell("a", Guest(1, 7, 0), Guest(2, 7, 0)));
        var corrupt = NightlyComparer.Compare(Policy, Cell("a", Guest(1, 4, 3), Guest(2, 3, 4)), Cell("a", Guest(1, 3, 4), Guest(2, 4, 3)));

        Assert.Equal((NightlyWord.Same, "NOT REPRODUCED"), (clean.Word, clean.Verdict));
        Assert.Equal((NightlyWord.Same, "NO CHANGE"), (corrupt.Word, corrupt.Verdict));
        Assert.Equal(0, NightlyComparer.ExitCode([clean, corrupt]));
    }

    [Fact]
    public void Errored_guests_count_nothing_and_a_cell_with_no_counted_run_is_infrastructure()
    {
        var tonight = Cell("a", Guest(1, 0, 0, errored: 7), Guest(2, 0, 0, errored: 7));

        var c = NightlyComparer.Compare(Policy, Cell("a", Guest(1, 7, 0), Guest(2, 7, 0)), tonight);

        Assert.Equal((0, 0, 14), (tonight.Counts.Runs, tonight.Counts.Failures, tonight.Errored));
        Assert.Equal(NightlyWord.Undecided, c.Word);
        Assert.Equal(3, NightlyComparer.ExitCode([c]));
    }

    [Fact]
    public async Task A_regression_between_two_commits_starts_a_bisection_recorded_in_the_nightlys_folder()
    {
        using var tree = new TempGitTree(12);
        var history = new FakeHistory(tree.Shas, culprit: 7, rate: 0.6, seed: 5);
        var was = GitKernel(tree.Path, tree.Shas[0]);
        var now = GitKernel(tree.Path, tree.Shas[^1]);
        var baseline = Nightly("n1", DateTimeOffset.UnixEpoch, "h", [was], [Cell(was.Identity, Guest(1, 7, 0), Guest(2, 7, 0))]);
        var cells = new[] { Cell(now.Identity, Guest(1, 2, 5), Guest(2, 3, 4)) };
        var comparisons = NightlyComparer.Compare(Policy, baseline, cells);
        var nightlyFolder = Directory.CreateDirectory(Path.Combine(_scratch, "results", "n2")).FullName;
        NightlyBisectTarget? asked = null;
        var bisector = new NightlyBisector(new ResultStore(Path.Combine(nightlyFolder, "bisect")), new BisectionPolicy(Probability: 0.95),
            (target, _) => { asked = target; return Task.FromResult<IBisectStepRunner>(history); }, TimeProvider.System, TextWriter.Null);

        var bisections = await bisector.RunAsync(baseline, [now], cells, comparisons, "harness nightly", CancellationToken.None);

        var b = Assert.Single(bisections);
        Assert.Null(b.NotStarted);
        Assert.Equal((tree.Shas[0], tree.Shas[^1]), (b.From, b.To));
        Assert.Equal(13, asked!.Range.Commits.Count);
        Assert.Equal(BisectionEnd.Culprit, b.End);
        Assert.Equal(tree.Shas[7], b.Culprit!.Sha);
        Assert.NotEmpty(history.Steps);
        var record = RecordFormat.Read<BisectRecord>(Path.Combine(nightlyFolder, b.BisectPath!));
        Assert.StartsWith("bisect/", b.BisectPath, StringComparison.Ordinal);
        Assert.Equal(("ext4", "seed-quick"), (record.Filesystem, record.Case));
        Assert.Equal(history.Steps.Count, record.Steps.Count);
    }

    [Fact]
    public async Task One_FAIL_among_PASS_starts_no_bisection_and_an_unchanged_kernel_is_not_bisected()
    {
        using var tree = new TempGitTree(3);
        var k = GitKernel(tree.Path, tree.Shas[^1]);
        var baseline = Nightly("n1", DateTimeOffset.UnixEpoch, "h", [k], [Cell(k.Identity, Guest(1, 7, 0), Guest(2, 7, 0))]);
        var store = new ResultStore(Path.Combine(_scratch, "bisect"));
        var bisector = new NightlyBisector(store, new BisectionPolicy(), (_, _) => throw new InvalidOperationException("no bisection was due"), TimeProvider.System, TextWriter.Null);

        var flaky = new[] { Cell(k.Identity, Guest(1, 6, 1), Guest(2, 7, 0)) };
        Assert.Empty(await bisector.RunAsync(baseline, [k], flaky, NightlyComparer.Compare(Policy, baseline, flaky), "", CancellationToken.None));

        var regressed = new[] { Cell(k.Identity, Guest(1, 2, 5), Guest(2, 3, 4)) };
        var b = Assert.Single(await bisector.RunAsync(baseline, [k], regressed, NightlyComparer.Compare(Policy, baseline, regressed), "", CancellationToken.None));
        Assert.Contains("unchanged", b.NotStarted, StringComparison.Ordinal);
        Assert.False(Directory.Exists(store.Root));
    }

    [Fact]
    public async Task A_baseline_version_apt_no_longer_serves_is_recorded_as_not_bisected()
    {
        var was = new NightlyKernel("k", BisectWith.PackageSeries, "linux-image-x=1", "6.1", "debian") { PackagePattern = "linux-image-x*" };
        var now = was with { Identity = "linux-image-x=2" };
        var baseline = Nightly("n1", DateTimeOffset.UnixEpoch, "h", [was], [Cell(was.Identity, Guest(1, 7, 0), Guest(2, 7, 0))]);
        var cells = new[] { Cell(now.Identity, Guest(1, 2, 5), Guest(2, 3, 4)) };
        var bisector = new NightlyBisector(new ResultStore(Path.Combine(_scratch, "bisect")), new BisectionPolicy(), (_, _) => throw new InvalidOperationException("not due"), TimeProvider.System, TextWriter.Null)
        {
            ResolveRange = (_, _, _) => throw new InputException(new InputProblem("--good", 0, 0, "--good", "'linux-image-x=1' names 0 of the 3 versions")),
        };

        var b = Assert.Single(await bisector.RunAsync(baseline, [now], cells, NightlyComparer.Compare(Policy, baseline, cells), "", CancellationToken.None));

        Assert.Contains("names 0 of the 3 versions", b.NotStarted, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_baseline_is_the_newest_complete_nightly_of_the_same_name_and_hash()
    {
        var root = Path.Combine(_scratch, "results");
        var t = DateTimeOffset.Parse("2026-11-20T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        async Task Write(NightlyRecord r) => await AtomicFile.WriteJsonAsync(Path.Combine(root, r.NightlyId, "nightly.json"), r, CancellationToken.None);
        await Write(Nightly("old", t, "h1", [], []));
        await Write(Nightly("newer", t.AddDays(1), "h1", [], []));
        await Write(Nightly("edited-plan", t.AddDays(2), "h2", [], []));
        await Write(Nightly("interrupted", t.AddDays(3), "h1", [], [], complete: false));
        await Write(Nightly("other-plan", t.AddDays(4), "h1", [], []) with { PlanName = "other" });
        Directory.CreateDirectory(Path.Combine(root, "a-run-folder"));
        File.WriteAllText(Path.Combine(root, "broken", "nightly.json") is var broken && Directory.CreateDirectory(Path.GetDirectoryName(broken)!) is not null ? broken : "", "{");

        var found = NightlyBaseline.FindLatest(root, "plan", "h1", null, TextWriter.Null);

        Assert.Equal("newer", found!.Value.Record.NightlyId);
        Assert.Equal("edited-plan", NightlyBaseline.FindLatest(root, "plan", "h2", null, TextWriter.Null)!.Value.Record.NightlyId);
        Assert.Null(NightlyBaseline.FindLatest(root, "plan", "h3", null, TextWriter.Null));
        Assert.Null(NightlyBaseline.FindLatest(Path.Combine(_scratch, "none"), "plan", "h1", null, TextWriter.Null));
    }

    [Fact]
    public async Task An_imported_baseline_must_be_a_complete_nightly_of_this_very_plan()
    {
        var folder = Path.Combine(_scratch, "artifact");
        await AtomicFile.WriteJsonAsync(Path.Combine(folder, "nightly.json"), Nightly("n1", DateTimeOffset.UnixEpoch, "h1", [], []), CancellationToken.None);
        var interrupted = Path.Combine(_scratch, "interrupted.json");
        await AtomicFile.WriteJsonAsync(interrupted, Nightly("n0", DateTimeOffset.UnixEpoch, "h1", [], [], complete: false), CancellationToken.None);

        Assert.Equal("n1", NightlyBaseline.Import(folder, "plan", "h1").Record.NightlyId);
        Assert.Equal("n1", NightlyBaseline.Import(Path.Combine(folder, "nightly.json"), "plan", "h1").Record.NightlyId);
        string Refused(string path, string name, string sha) =>
            Assert.Single(Assert.Throws<InputException>(() => NightlyBaseline.Import(path, name, sha)).Problems).ToString();
        Assert.Contains("--baseline: ", Refused(folder, "plan", "h2"), StringComparison.Ordinal);
        Assert.Contains("another version of plan 'plan'", Refused(folder, "plan", "h2"), StringComparison.Ordinal);
        Assert.Contains("not 'other'", Refused(folder, "other", "h1"), StringComparison.Ordinal);
        Assert.Contains("did not finish", Refused(interrupted, "plan", "h1"), StringComparison.Ordinal);
        Assert.Contains("no nightly.json there", Refused(_scratch, "plan", "h1"), StringComparison.Ordinal);
    }
}
