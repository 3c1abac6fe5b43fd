// The agent's input and output, as JSON with a source-generated serializer (NativeAOT-safe).
// The same records travel over a pipe on the host or a virtio channel from a guest.
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Harness.Workload;

/// <summary>Which half of an iteration the agent runs.</summary>
public enum AgentPhase
{
    /// <summary>Dirty free space, prepare the file, run the workload, fsync, read back with O_DIRECT.</summary>
    Write,
    /// <summary>Read the file back again (after the machine remounted or dropped caches).</summary>
    Readback,
}

/// <summary>One agent invocation.</summary>
public sealed record AgentRequest(AgentPhase Phase, string Directory, string FileName, WorkloadSpec Spec, int Iteration, bool DropCaches);

/// <summary>What happened to one planned IO. Sequence numbers share one counter across submits and reaps.</summary>
public sealed record IoRecord(int Index, long SubmitSeq, long CompleteSeq, long Result, long SubmitNs, long CompleteNs);

/// <summary>One read of the whole file.</summary>
public sealed record ReadbackPass(string Name, long FileSize, IReadOnlyList<SectorRun> Runs);

/// <summary>What the agent did and saw. <see cref="Error"/> is set when it could not finish.</summary>
public sealed record AgentReport(
    AgentPhase Phase,
    string Kernel,
    int CpuCount,
    IReadOnlyList<IoRecord> Ios,
    IReadOnlyList<ReadbackPass> Passes,
    double WorkloadSeconds,
    string? Error)
{
    /// <summary>The target file's direct-IO alignment as probed before the workload; null on old agents.</summary>
    public DioAlignment? Alignment { get; init; }

    /// <summary>Set when the workload was not run because this machine cannot take the case (the judge says SKIP).</summary>
    public string? SkipReason { get; init; }

    /// <summary>How many target blocks came from the dirtied free space; null when it could not be measured.</summary>
    public DirtReuse? DirtReuse { get; init; }

    /// <summary>Why <see cref="DirtReuse"/> is unknown (FIEMAP unsupported, ...); null when it is known.</summary>
    public string? DirtReuseUnknown { get; init; }

    /// <summary>Size and free bytes of the test filesystem before the workload (statfs), for out-of-space messages; 0 when unknown.</summary>
    public long FilesystemBytes { get; init; }

    /// <inheritdoc cref="FilesystemBytes"/>
    public long FilesystemFreeBytes { get; init; }

    /// <summary>Where the agent's time went, in the order the phases ran (probe, dirt, prepare, workload, fsync, ...); empty on old agents.</summary>
    public IReadOnlyList<PhaseTime> Phases { get; init; } = [];

    /// <summary>One record per op the agent issued (case schema 2), in op order; empty on old agents and schema-1 cases.</summary>
    public IReadOnlyList<OpRecord> Ops { get; init; } = [];

    /// <summary>
    /// The errno of the target's fsync after the workload when it failed (0: it succeeded or did not
    /// run). A failed fsync says the writes are not known to be durable: the judge makes it an
    /// io-error finding, and the read-backs still run so the record shows what the file holds.
    /// </summary>
    public int FsyncErrno { get; init; }
}

/// <summary>
/// Wall time of one named phase of an iteration, seconds. The phases of an iteration, from the
/// machine, the agent and the judge, add up to its wall time (what is left over is polling and
/// process start, a few hundredths of a second): `make bench` and the records show where it went.
/// </summary>
public sealed record PhaseTime(string Name, double Seconds);

/// <summary>Where the direct-IO alignment came from.</summary>
public enum AlignmentSource
{
    /// <summary>statx(2) with STATX_DIOALIGN (Linux 6.1+, ext4/xfs/f2fs/block devices).</summary>
    Statx,
    /// <summary>The device's /sys/dev/block/M:m/queue/logical_block_size (the kernel did not report it).</summary>
    LogicalBlockSize,
    /// <summary>Neither: no DIOALIGN and no block device behind the file (btrfs, tmpfs, ...).</summary>
    Unknown,
}

/// <summary>The byte alignments O_DIRECT needs on the target file: for file offsets/lengths and for buffers. 0 when unknown.</summary>
public sealed record DioAlignment(int OffsetAlign, int MemoryAlign, AlignmentSource Source, string Detail);

/// <summary>
/// The power of the stale check: fs blocks of the deleted dirt file, of the target after the
/// workload, and how many of the target's blocks physically overlap the dirt's (FIEMAP).
/// </summary>
public sealed record DirtReuse(long DirtBlocks, long TargetBlocks, long ReusedBlocks);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, WriteIndented = false)]
[JsonSerializable(typeof(AgentRequest))]
[JsonSerializable(typeof(AgentReport))]
public sealed partial class AgentJsonContext : JsonSerializerContext;
