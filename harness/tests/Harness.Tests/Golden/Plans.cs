// Workload specs the golden-model tests share, named for what they imitate.
using Harness.Workload;

namespace Harness.Tests.Golden;

internal static class Plans
{
    public const int Block = 4096;

    /// <summary>
    /// xfstests generic/240: fs-block-sized writes, stride one block, starting one sector in, two in
    /// flight. IO i covers sectors 8i+1 .. 8i+8, so fs block i+1 is shared by IO i (its sector 0)
    /// and IO i+1 (its sectors 1-7).
    /// </summary>
    public static WorkloadPlan Generic240(int ioCount = 32, FilePreparation preparation = FilePreparation.Sparse) =>
        PlanBuilder.Build(new WorkloadSpec(
            FileSize: (ioCount + 1L) * Block, FsBlockSize: Block, IoSize: Block, Alignment: 512,
            Pattern: IoPattern.Stride, Stride: Block, Start: 512, QueueDepth: 2, IoCount: ioCount,
            Preparation: preparation, DirtyBytes: 0, Seed: 240), iteration: 0);

    /// <summary>Block-aligned writes, one per block: no two IOs share a block.</summary>
    public static WorkloadPlan Aligned(int ioCount = 16, FilePreparation preparation = FilePreparation.Sparse) =>
        PlanBuilder.Build(new WorkloadSpec(
            FileSize: ioCount * (long)Block, FsBlockSize: Block, IoSize: Block, Alignment: 512,
            Pattern: IoPattern.Stride, Stride: Block, Start: 0, QueueDepth: 1, IoCount: ioCount,
            Preparation: preparation, DirtyBytes: 0, Seed: 1), iteration: 0);

    /// <summary>Block-sized writes at random sector offsets in a small hot region: heavy overlap.</summary>
    public static WorkloadPlan Overlap(FilePreparation preparation, ulong seed, int ioCount = 200) =>
        PlanBuilder.Build(new WorkloadSpec(
            FileSize: 1 << 20, FsBlockSize: Block, IoSize: Block, Alignment: 512,
            Pattern: IoPattern.Overlap, Stride: 512, Start: 0, QueueDepth: 4, IoCount: ioCount,
            Preparation: preparation, DirtyBytes: 0, Seed: seed), iteration: 0);

    /// <summary>Random blocks cut into sub-block pieces, pieces of a block in flight together.</summary>
    public static WorkloadPlan RandomSubBlock(FilePreparation preparation, ulong seed) =>
        PlanBuilder.Build(new WorkloadSpec(
            FileSize: 1 << 20, FsBlockSize: Block, IoSize: Block, Alignment: 512,
            Pattern: IoPattern.RandomSubBlock, Stride: 0, Start: 0, QueueDepth: 8, IoCount: 500,
            Preparation: preparation, DirtyBytes: 0, Seed: seed), iteration: 0);

    /// <summary>A hand-made plan: IOs at these (offset, length) pairs, on a 64 KiB file.</summary>
    public static WorkloadPlan Handmade(FilePreparation preparation, params (long Offset, int Length)[] ios)
    {
        var spec = new WorkloadSpec(
            FileSize: 64 * 1024, FsBlockSize: Block, IoSize: Block, Alignment: 512,
            Pattern: IoPattern.Overlap, Stride: 512, Start: 0, QueueDepth: 2, IoCount: ios.Length,
            Preparation: preparation, DirtyBytes: 0, Seed: 7);
        return new WorkloadPlan(spec, 0, SeedMix.Mix(7, 1), ios.Select((io, i) => new PlannedIo(i, io.Offset, io.Length)).ToArray());
    }
}
