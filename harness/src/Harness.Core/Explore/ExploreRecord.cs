// explore.json: what an explore run covered and found, written durably (AtomicFile) after every
// workload and shrink step, so a killed explore keeps what it ran. Paths are relative to the run folder.
using Harness.Machines;
using Harness.Results;

namespace Harness.Explore;

/// <summary>One drawn workload and what it did.</summary>
public sealed record ExploredWorkload(
    int Index,
    ulong Seed,
    string CaseFile,
    string Shape,
    string CellId,
    string Outcome,
    int Iterations,
    int FailedIterations,
    long SectorsJudged,
    string? Signature,
    string? FirstFinding);

/// <summary>A failure signature (primary finding class or crash kind), seen once or more, with its reproducer when shrunk.</summary>
public sealed record ExploreFailure(string Signature, int Workloads, int FirstWorkload, string? FirstFinding, ExploreReproducer? Reproducer);

/// <summary>The shrunk case of one signature and the evidence it still fails.</summary>
public sealed record ExploreReproducer(
    string Signature,
    string CaseFile,
    bool Reproduced,
    bool Shrunk,
    bool Interrupted,
    int Runs,
    int Failures,
    double RateLower,
    double RateUpper,
    double Confidence,
    int IoCount,
    int QueueDepth,
    long FileSize,
    int Candidates,
    string? FirstFinding);

/// <summary>The explore record.</summary>
public sealed record ExploreRecord(
    string RunId,
    DateTimeOffset Started,
    DateTimeOffset? Finished,
    string CommandLine,
    MachineFacts Machine,
    string Kernel,
    string Filesystem,
    ulong Seed,
    int WorkloadsRun,
    long SectorsJudged,
    IReadOnlyDictionary<string, int> Shapes,
    IReadOnlyList<ExploredWorkload> Workloads,
    IReadOnlyList<ExploreFailure> Failures,
    ShrinkPolicy ShrinkPolicy)
{
    public bool BudgetReached { get; init; }
    public bool Interrupted { get; init; }
    public string? StopReason { get; init; }

    /// <summary>Shape of this record (<see cref="RecordFormat"/>).</summary>
    public int FormatVersion { get; init; } = RecordFormat.Current;
}
