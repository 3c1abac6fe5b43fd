// The deterministic expansion of a WorkloadSpec into concrete IOs. Both sides call
// PlanBuilder.Build with the same spec and iteration and get the same list.
namespace Harness.Workload;

/// <summary>One planned write: submitted in <see cref="Index"/> order.</summary>
public sealed record PlannedIo(int Index, long Offset, int Length)
{
    public long End => Offset + Length;
}

/// <summary>The IOs of one iteration and the tag that marks every sector they write.</summary>
public sealed record WorkloadPlan(WorkloadSpec Spec, int Iteration, ulong RunTag, IReadOnlyList<PlannedIo> Ios)
{
    /// <summary>Highest byte any IO writes (exclusive).</summary>
    public long WrittenEnd => Ios.Count == 0 ? 0 : Ios.Max(io => io.End);

    /// <summary>Bytes of the file the read-back covers: the region, or the written end if beyond.</summary>
    public long ReadbackLength => Math.Max(Spec.Preparation == FilePreparation.Extending ? 0 : Spec.FileSize, WrittenEnd);

    /// <summary>The ops issued beside the writes (the spec's, in issue order).</summary>
    public IReadOnlyList<PlannedOp> Ops => Spec.Ops;

    /// <summary>
    /// Every writer of self-describing sectors: the AIO writes (indices 0..Ios.Count-1), then each
    /// buffered-write op as writer Ios.Count + k (k-th buffered write), the IO index its sectors carry.
    /// </summary>
    public IReadOnlyList<PlannedIo> Writers =>
        [.. Ios, .. Ops.Where(op => op.Kind == OpKind.BufferedWrite).Select((op, k) => new PlannedIo(Ios.Count + k, op.Offset, (int)op.Length))];

    /// <summary>The writer index of buffered-write op <paramref name="opIndex"/>, or -1 for another kind.</summary>
    public int WriterOf(int opIndex)
    {
        if (Ops[opIndex].Kind != OpKind.BufferedWrite) return -1;
        return Ios.Count + Ops.Take(opIndex).Count(op => op.Kind == OpKind.BufferedWrite);
    }
}

/// <summary>Expands a spec into a plan. Pure: same input, same plan.</summary>
public static class PlanBuilder
{
    public static WorkloadPlan Build(WorkloadSpec spec, int iteration)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var runTag = SeedMix.Mix(spec.Seed, (ulong)iteration + 1);
        var random = new SplitMix64(SeedMix.Mix(runTag, 0x9E3779B97F4A7C15UL));
        IReadOnlyList<PlannedIo> ios = spec.Pattern switch
        {
            IoPattern.Stride => BuildStride(spec),
            IoPattern.RandomSubBlock => BuildRandomSubBlock(spec, random),
            IoPattern.Overlap => BuildOverlap(spec, random),
            IoPattern.RandomStride => BuildRandomStride(spec, random),
            _ => throw new ArgumentOutOfRangeException(nameof(spec), spec.Pattern, "unknown pattern"),
        };
        return new WorkloadPlan(spec, iteration, runTag, ios);
    }

    private static PlannedIo[] BuildStride(WorkloadSpec spec)
    {
        var ios = new PlannedIo[spec.IoCount];
        for (var i = 0; i < ios.Length; i++)
            ios[i] = new PlannedIo(i, spec.Start + i * spec.Stride, spec.IoSize);
        return ios;
    }

    // fio's randwrite visits every block of its region once, in random order; indices stay in
    // submit order, so the judge sees which writes were in flight together.
    private static PlannedIo[] BuildRandomStride(WorkloadSpec spec, SplitMix64 random)
    {
        var offsets = new long[spec.IoCount];
        for (var i = 0; i < offsets.Length; i++) offsets[i] = spec.Start + i * spec.Stride;
        random.Shuffle(offsets);
        var ios = new PlannedIo[offsets.Length];
        for (var i = 0; i < ios.Length; i++) ios[i] = new PlannedIo(i, offsets[i], spec.IoSize);
        return ios;
    }

    // Pieces of one block are emitted together, so with a queue depth above one they are in
    // flight at the same time: that is what makes two sub-block writers meet in a new block.
    private static List<PlannedIo> BuildRandomSubBlock(WorkloadSpec spec, SplitMix64 random)
    {
        var firstBlock = (spec.Start + spec.FsBlockSize - 1) / spec.FsBlockSize;
        var blockCount = spec.FileSize / spec.FsBlockSize - firstBlock;
        var order = new long[blockCount];
        for (var i = 0; i < order.Length; i++) order[i] = firstBlock + i;
        random.Shuffle(order);

        var ios = new List<PlannedIo>(spec.IoCount);
        var pieces = new List<(long Offset, int Length)>();
        foreach (var block in order)
        {
            if (ios.Count >= spec.IoCount) break;
            pieces.Clear();
            var blockStart = block * spec.FsBlockSize;
            var at = 0;
            while (at < spec.FsBlockSize)
            {
                var maxUnits = Math.Min(spec.IoSize, spec.FsBlockSize - at) / spec.Alignment;
                var length = (int)(1 + random.Next((ulong)maxUnits)) * spec.Alignment;
                // Leave about one piece in four unwritten: those sectors must read back as zero.
                if (random.Next(4) != 0) pieces.Add((blockStart + at, length));
                at += length;
            }
            if (pieces.Count < 2) continue; // a lone writer cannot race anyone in this block
            var shuffled = pieces.ToArray();
            random.Shuffle(shuffled);
            foreach (var (offset, length) in shuffled)
            {
                if (ios.Count >= spec.IoCount) break;
                ios.Add(new PlannedIo(ios.Count, offset, length));
            }
        }
        return ios;
    }

    private static PlannedIo[] BuildOverlap(WorkloadSpec spec, SplitMix64 random)
    {
        // Hot region: IoCount * stride bytes, so a small stride means heavy overlap.
        var region = Math.Min(spec.FileSize - spec.Start - spec.IoSize, (long)spec.IoCount * spec.Stride);
        var slots = (ulong)(region / spec.Alignment) + 1;
        var ios = new PlannedIo[spec.IoCount];
        for (var i = 0; i < ios.Length; i++)
            ios[i] = new PlannedIo(i, spec.Start + (long)random.Next(slots) * spec.Alignment, spec.IoSize);
        return ios;
    }
}
