// The record of one `harness compare`: which setups ran on which kernels, and one row per
// (kernel, setup, case) summed up from that cell's own records. Reports render this record,
// never the live objects of a comparison.
using Harness.Results;
using Harness.Setups;
using Harness.Verdicts;

namespace Harness.Compare;

/// <summary>One kernel's (machine's) run inside a comparison; <see cref="RunPath"/> is relative to the compare folder.</summary>
public sealed record CompareRun(string Kernel, string Machine, string? RunId, string? RunPath, Outcome? Outcome);

/// <summary>
/// One (kernel, setup, case) of a comparison. Failures are FAIL and CRASH repeats; the rate is
/// failures over counted repeats (PASS + FAIL + CRASH; ERROR and SKIP say nothing about the
/// kernel, as in `validate`), with its exact two-sided Clopper-Pearson interval. A planned row
/// the machine could not run has no cell, outcome SKIP and <see cref="SkipReason"/>.
/// </summary>
public sealed record CompareRow(
    string Kernel,
    string Setup,
    string Filesystem,
    string Case,
    int FsBlockSize,
    string Disk,
    string? CellId,
    Outcome Outcome,
    int Repeats,
    int Passed,
    int Failed,
    int Crashed,
    int Errored,
    int Skipped,
    int Failures,
    int Counted,
    double? FailureRate,
    double? RateLower,
    double? RateUpper,
    double Confidence,
    IReadOnlyDictionary<string, int> FindingsByClass,
    int IoErrors,
    double IopsMedian,
    double IopsMin,
    double IopsMax,
    string? SkipReason,
    string? Error);

/// <summary>The compare record, results/&lt;compare-id&gt;/compare.json.</summary>
public sealed record CompareRecord(
    string CompareId,
    DateTimeOffset Started,
    DateTimeOffset? Finished,
    string CommandLine,
    string SetupsFile,
    string SetupsSha256,
    IReadOnlyList<SetupSpec> Setups,
    IReadOnlyList<string> Cases,
    IReadOnlyList<CompareRun> Runs,
    IReadOnlyList<CompareRow> Rows,
    Outcome? Outcome,
    bool Interrupted)
{
    /// <summary>Shape of this record (<see cref="RecordFormat"/>).</summary>
    public int FormatVersion { get; init; } = RecordFormat.Current;
}
