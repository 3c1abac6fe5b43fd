// Results as data: every report (terminal table, JSON today; JUnit, KCIDB, HTML later)
// renders these records, never the live objects of a run.
using Harness.Golden;
using Harness.Machines;
using Harness.Verdicts;
using Harness.Workload;

namespace Harness.Results;

/// <summary>One judged read-back pass. Findings are capped; <see cref="FindingCount"/> is the true total.</summary>
public sealed record PassResult(string Pass, long SectorsChecked, int FindingCount, IReadOnlyDictionary<string, int> FindingsByClass, IReadOnlyList<Finding> Findings);

/// <summary>
/// One iteration of one cell. <see cref="Error"/> says why it is not PASS when it is ERROR or
/// SKIP (the skip reason), and keeps an infrastructure error that came after a finding (FAIL).
/// </summary>
public sealed record IterationResult(
    string CellId,
    int Iteration,
    Outcome Outcome,
    string? Error,
    string Kernel,
    int CpuCount,
    int IoCount,
    int IoErrors,
    double WorkloadSeconds,
    double Iops,
    IReadOnlyList<PassResult> Passes)
{
    /// <summary>Seconds from machine start to the guest's boot marker; 0 on the host kernel.</summary>
    public double BootSeconds { get; init; }

    /// <summary>The filesystem check after the cell (its last iteration only), with the checker's output.</summary>
    public Filesystems.FsckResult? Fsck { get; init; }

    /// <summary>The target file's direct-IO alignment the agent probed, and where it came from.</summary>
    public DioAlignment? Alignment { get; init; }

    /// <summary>The stale check's power: target blocks that came from dirtied free space; null when unknown.</summary>
    public DirtReuse? DirtReuse { get; init; }

    /// <summary>Why <see cref="DirtReuse"/> is unknown; null when known.</summary>
    public string? DirtReuseUnknown { get; init; }

    /// <summary>Host wall time of this iteration, seconds: from the previous one (or the cell's start) to its judgement.</summary>
    public double Seconds { get; init; }

    /// <summary>The ops issued beside the writes (case schema 2), as the agent recorded them: sequence numbers, result (-errno when failed).</summary>
    public IReadOnlyList<OpRecord> Ops { get; init; } = [];

    /// <summary>Where <see cref="Seconds"/> went: the machine's phases, the agent's, then the judge's (see <see cref="PhaseTime"/>).</summary>
    public IReadOnlyList<PhaseTime> Phases { get; init; } = [];

    /// <summary>Shape of this record (<see cref="RecordFormat"/>); 0 when read from a record written before versions.</summary>
    public int FormatVersion { get; init; } = RecordFormat.Current;
}

/// <summary>How a machine failed a cell (kernel panic, boot timeout, ...), with the console excerpt.</summary>
public sealed record MachineFailure(string Kind, string Message, string? Excerpt, string? ConsoleLog);

/// <summary>What a cell was asked to do.</summary>
public sealed record CellInput(string CellId, string Filesystem, string Case, string CaseFile, string CaseSha256, ulong Seed, int Repeats)
{
    /// <summary>The setup (cases/setups/setups.yaml) the cell ran under, for `compare`; null for a plain --fs.</summary>
    public string? Setup { get; init; }

    /// <summary>The case's fs block size in bytes (reports draw block boundaries with it); 0 in records written before it was kept.</summary>
    public int FsBlockSize { get; init; }

    /// <summary>The case's target file size in bytes (the corruption map's axis); 0 in records written before it was kept.</summary>
    public long FileSize { get; init; }
}

/// <summary>A cell's summary over its iterations.</summary>
public sealed record CellResult(
    CellInput Input,
    Outcome Outcome,
    int Passed,
    int Failed,
    int Errored,
    string? Error,
    IReadOnlyDictionary<string, int> FindingsByClass,
    double MedianIops,
    string Kernel,
    int CpuCount,
    DateTimeOffset Started,
    double Seconds)
{
    /// <summary>Set when the machine, not the data, ended the cell.</summary>
    public MachineFailure? Failure { get; init; }

    /// <summary>Boot to agent start of the cell's machine, seconds (0 on the host kernel).</summary>
    public double BootSeconds { get; init; }

    /// <summary>Failed or short writes over all iterations (ENOSPC included).</summary>
    public int IoErrors { get; init; }

    /// <summary>Iterations that were SKIP (the reason is in <see cref="Error"/>).</summary>
    public int Skipped { get; init; }

    /// <summary>Dirt reuse summed over the iterations where it was known; null when it never was.</summary>
    public DirtReuse? DirtReuse { get; init; }

    /// <summary>Iterations (or the machine run) ended by the kernel under test failing: panic, oops, BUG, sanitizer, lockdep, hung task, reset.</summary>
    public int Crashed { get; init; }

    /// <summary>Kernel warnings printed while the cell ran (count and the first few); they do not change the outcome.</summary>
    public KernelWarnings KernelWarnings { get; init; } = KernelWarnings.None;

    /// <summary>The cell was stopped (Ctrl-C, budget) before its planned iterations ran: `--resume` finishes it.</summary>
    public bool Interrupted { get; init; }

    /// <summary>Shape of this record (<see cref="RecordFormat"/>).</summary>
    public int FormatVersion { get; init; } = RecordFormat.Current;
}

/// <summary>The run record: inputs, versions, where it ran, and each cell as it finished.</summary>
public sealed record RunRecord(
    string RunId,
    DateTimeOffset Started,
    DateTimeOffset? Finished,
    string CommandLine,
    string HarnessVersion,
    string DotnetVersion,
    string HostKernel,
    MachineFacts Machine,
    IReadOnlyList<CellInput> Inputs,
    IReadOnlyList<CellResult> Cells,
    Outcome? Outcome,
    bool Interrupted)
{
    /// <summary>With --dir: the type of the filesystem the user mounted, read from the mount (findmnt), not from --fs.</summary>
    public string? MountedFilesystem { get; init; }

    /// <summary>Why the run stopped short ("interrupted (SIGINT)", "budget reached", "process 123 gone: ..."); null when it ran to the end.</summary>
    public string? StopReason { get; init; }

    /// <summary>--budget ran out before every planned cell finished (the exit code is then the outcome's, not 130).</summary>
    public bool BudgetReached { get; init; }

    /// <summary>The `run` arguments as given (after "run"), so `--resume` can rebuild the same matrix.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>The working directory the run started in: relative paths in <see cref="Arguments"/> are relative to it.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>When `--resume` continued this run, one entry per resume.</summary>
    public IReadOnlyList<DateTimeOffset> Resumed { get; init; } = [];

    /// <summary>Shape of this record (<see cref="RecordFormat"/>).</summary>
    public int FormatVersion { get; init; } = RecordFormat.Current;
}
