// Operations issued beside the AIO writes (issue 13 part 2): buffered writes, fallocate and
// its punch / zero-range modes, truncate and fsync. Each runs on the agent's second thread
// once the AIO stream has submitted a given IO, and is recorded with sequence numbers from the
// same counter as the writes, so the judge knows which writes it overlapped in time.
namespace Harness.Workload;

/// <summary>What an operation does to the file.</summary>
public enum OpKind
{
    /// <summary>pwrite(2) without O_DIRECT (page cache) of self-describing sectors; only where no direct IO can be in flight.</summary>
    BufferedWrite,
    /// <summary>fallocate(2) mode 0: allocates, keeps data, extends the size when past EOF.</summary>
    Fallocate,
    /// <summary>fallocate(2) FALLOC_FL_KEEP_SIZE: allocates, keeps data and size.</summary>
    FallocateKeepSize,
    /// <summary>fallocate(2) FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE: the range reads zeros, size kept.</summary>
    PunchHole,
    /// <summary>fallocate(2) FALLOC_FL_ZERO_RANGE: the range reads zeros, size extended when past EOF.</summary>
    ZeroRange,
    /// <summary>ftruncate(2) to <see cref="PlannedOp.Offset"/>: down drops what lies beyond, up adds zeros.</summary>
    Truncate,
    /// <summary>fsync(2) of the file while writes are in flight: no effect on what must be read back.</summary>
    Fsync,
}

/// <summary>
/// One planned operation, issued once IO <see cref="AfterIo"/> of the AIO stream was submitted
/// (or when the stream ended, if it has fewer IOs). Byte range [Offset, Offset + Length); for
/// <see cref="OpKind.Truncate"/> Offset is the new size and Length 0; fsync has neither.
/// </summary>
public sealed record PlannedOp(int Index, OpKind Kind, int AfterIo, long Offset, long Length)
{
    public long End => Offset + Length;

    /// <summary>Whether the op, when it succeeds, makes [Offset, End) (truncate: everything from Offset) read zeros.</summary>
    public bool Zeroes => Kind is OpKind.PunchHole or OpKind.ZeroRange or OpKind.Truncate;

    /// <summary>Whether a successful op can raise i_size to <see cref="End"/> (truncate sets it to Offset).</summary>
    public bool Extends => Kind is OpKind.Fallocate or OpKind.ZeroRange or OpKind.BufferedWrite;
}

/// <summary>
/// What happened to one op. Sequence numbers come from the counter the writes use: StartSeq is
/// taken just before the system call, EndSeq just after it returned. Result is 0 (or bytes
/// written for a buffered write) on success, -errno on failure.
/// </summary>
public sealed record OpRecord(int Index, long StartSeq, long EndSeq, long Result, long StartNs, long EndNs);

/// <summary>The case-file words for each <see cref="OpKind"/>.</summary>
public static class OpWords
{
    private static readonly (OpKind Kind, string Word)[] Table =
    [
        (OpKind.BufferedWrite, "buffered-write"),
        (OpKind.Fallocate, "fallocate"),
        (OpKind.FallocateKeepSize, "fallocate-keep-size"),
        (OpKind.PunchHole, "punch-hole"),
        (OpKind.ZeroRange, "zero-range"),
        (OpKind.Truncate, "truncate"),
        (OpKind.Fsync, "fsync"),
    ];

    public static IReadOnlyList<string> All { get; } = Table.Select(t => t.Word).ToArray();

    public static string Word(OpKind kind) => Table.First(t => t.Kind == kind).Word;

    public static OpKind Parse(string word) => Table.First(t => t.Word == word).Kind;
}
