// The record of one `harness nightly` (results/<nightly-id>/nightly.json): the plan by name and
// content hash, what every kernel resolved to that night, every cell's counts, the comparison of
// each cell with the baseline (the last nightly of the same plan), and the bisections it started.
// The next nightly reads this record alone to compare with, so the counts are kept here, not only
// in the run folders.
using Harness.Bisection;
using Harness.Results;
using Harness.Verdicts;

namespace Harness.Nightly;

/// <summary>
/// What a plan's kernel was this night. <see cref="Identity"/> is what "the kernel changed" compares:
/// "package=version" for a Debian package, the commit for a git tree, else the origin and release.
/// </summary>
public sealed record NightlyKernel(string Name, BisectWith BisectWith, string Identity, string Release, string Origin)
{
    /// <summary>Debian package kernels: the package and version apt resolved the pattern to.</summary>
    public string? Package { get; init; }

    public string? Version { get; init; }

    /// <summary>The Debian package pattern (what a package bisection walks).</summary>
    public string? PackagePattern { get; init; }

    /// <summary>Git kernels: the tree and the full commit its ref named.</summary>
    public string? Tree { get; init; }

    public string? Commit { get; init; }

    /// <summary>Why the kernel could not be had (fetch, build or boot set-up failed); its cells are ERROR.</summary>
    public string? Error { get; init; }
}

/// <summary>One kernel's run folder inside the nightly (relative path), or why it did not run.</summary>
public sealed record NightlyRun(string Kernel, string? RunId, string? RunPath, Outcome? Outcome, string? Error);

/// <summary>
/// One (kernel, filesystem or setup, case) cell of the plan: its counted runs over all its guests
/// (FAIL and CRASH are failures, PASS clean; ERROR and SKIP apart, as in validate), with failing guests.
/// </summary>
public sealed record NightlyCell(
    string Kernel,
    string Setup,
    string Case,
    string KernelIdentity,
    IReadOnlyList<string> CellIds,
    RateCounts Counts,
    int Errored,
    int Skipped,
    Outcome Outcome,
    string? Error)
{
    /// <summary>The key a cell is matched on across nights.</summary>
    public string Key => $"{Kernel}/{Setup}/{Case}";
}

/// <summary>The comparison words of a nightly cell (see <see cref="NightlyComparer"/>).</summary>
public enum NightlyWord
{
    /// <summary>validate's REGRESSES with the baseline as "without" and tonight as "with".</summary>
    Regresses,
    /// <summary>validate's FIXES.</summary>
    Fixes,
    /// <summary>validate's NO CHANGE (both corrupt alike) or NOT REPRODUCED (neither corrupts, bound met).</summary>
    Same,
    /// <summary>validate's INCONCLUSIVE (e.g. one failure among clean runs, failures in one guest only).</summary>
    Undecided,
    /// <summary>The baseline has no such cell (or there is no baseline): nothing to compare with.</summary>
    New,
}

/// <summary>One cell compared with its baseline cell: the word, validate's verdict and reason, and the numbers.</summary>
public sealed record NightlyComparison(
    string Kernel,
    string Setup,
    string Case,
    NightlyWord Word,
    string? Verdict,
    VerdictBasis? Basis,
    RateCounts? Baseline,
    RateCounts Tonight,
    string? BaselineKernel,
    string TonightKernel,
    bool KernelChanged,
    double? PValue,
    string Reason);

/// <summary>A bisection the nightly started for a regressed cell (or why none could start).</summary>
public sealed record NightlyBisection(
    string Kernel,
    string Setup,
    string Case,
    string From,
    string To,
    string? BisectPath,
    BisectionEnd? End,
    BisectCulprit? Culprit,
    string? Summary,
    string? NotStarted);

/// <summary>Which nightly tonight was compared with: found under results/ or imported with --baseline.</summary>
public sealed record NightlyBaselineRef(string NightlyId, string Path, bool Imported, DateTimeOffset Started);

/// <summary>results/&lt;nightly-id&gt;/nightly.json.</summary>
public sealed record NightlyRecord(
    string NightlyId,
    DateTimeOffset Started,
    DateTimeOffset? Finished,
    string CommandLine,
    string PlanName,
    string PlanFile,
    string PlanSha256,
    VerdictPolicy Policy,
    NightlyBaselineRef? Baseline,
    IReadOnlyList<NightlyKernel> Kernels,
    IReadOnlyList<NightlyRun> Runs,
    IReadOnlyList<NightlyCell> Cells,
    IReadOnlyList<NightlyComparison> Comparisons,
    IReadOnlyList<NightlyBisection> Bisections,
    bool Interrupted,
    int? ExitCode,
    string? Summary)
{
    /// <summary>Shape of this record (<see cref="RecordFormat"/>).</summary>
    public int FormatVersion { get; init; } = RecordFormat.Current;

    /// <summary>A nightly that ran to its end (not interrupted): only such a one is a baseline.</summary>
    public bool Complete => Finished is not null && !Interrupted;
}
