// What one iteration of a case asks the agent to do. Shared by the harness (which judges)
// and the agent (which executes); the plan is recomputed from it on both sides, never shipped.
namespace Harness.Workload;

/// <summary>How the target file is prepared before the concurrent writes.</summary>
public enum FilePreparation
{
    /// <summary>ftruncate to size: every block is a hole (generic/240's setup).</summary>
    Sparse,
    /// <summary>fallocate'd: unwritten extents that the writes must convert.</summary>
    Unwritten,
    /// <summary>Fully written with a known pattern first: no block is new.</summary>
    Written,
    /// <summary>Empty file: every write extends it past EOF.</summary>
    Extending,
}

/// <summary>How IO offsets and lengths are chosen.</summary>
public enum IoPattern
{
    /// <summary>IO i at start + i*stride, io-size long (generic/240's pattern when stride = size = fs block).</summary>
    Stride,
    /// <summary>Random fs blocks, each cut into random sub-block pieces written in random order.</summary>
    RandomSubBlock,
    /// <summary>Random aligned offsets in a hot region, so writes overlap each other.</summary>
    Overlap,
    /// <summary>The stride pattern's IOs in a seeded random order, each once (fio's rw=randwrite with its random map).</summary>
    RandomStride,
}

/// <summary>
/// The validated parameters of a workload. Offsets and sizes are in bytes; the agent's
/// sector format uses 512-byte units, so everything here is a multiple of <see cref="Alignment"/>.
/// </summary>
public sealed record WorkloadSpec(
    long FileSize,
    int FsBlockSize,
    int IoSize,
    int Alignment,
    IoPattern Pattern,
    long Stride,
    long Start,
    int QueueDepth,
    int IoCount,
    FilePreparation Preparation,
    long DirtyBytes,
    ulong Seed)
{
    /// <summary>Operations issued beside the writes (case schema 2); empty for schema-1 cases.</summary>
    public IReadOnlyList<PlannedOp> Ops { get; init; } = [];

    // Written out because a record compares a list by reference: two loads of one case file
    // must be equal (the shrinker and the tests rely on it). A new field must be added here too.
    /// <summary>Value equality over every field, the ops element by element.</summary>
    public bool Equals(WorkloadSpec? other) =>
        other is not null && FileSize == other.FileSize && FsBlockSize == other.FsBlockSize && IoSize == other.IoSize
        && Alignment == other.Alignment && Pattern == other.Pattern && Stride == other.Stride && Start == other.Start
        && QueueDepth == other.QueueDepth && IoCount == other.IoCount && Preparation == other.Preparation
        && DirtyBytes == other.DirtyBytes && Seed == other.Seed && Ops.SequenceEqual(other.Ops);

    public override int GetHashCode() =>
        HashCode.Combine(HashCode.Combine(FileSize, FsBlockSize, IoSize, Alignment, Pattern, Stride, Start, QueueDepth),
            HashCode.Combine(IoCount, Preparation, DirtyBytes, Seed, Ops.Count));
}
