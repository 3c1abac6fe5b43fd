// Faults on the raw bytes of the unmounted image, aimed through the file's extents: each puts
// one kind of wrong content where an acknowledged write's data lies, so the golden model must
// name exactly that class. Sectors are chosen in IO 1 (IO 0 on a one-IO plan), away from the
// file's first block, so every one lies inside data the plan wrote.
using Harness.Golden;
using Harness.Workload;

namespace Harness.Faults;

/// <summary>Shared plumbing: read and write whole sectors of the image at file offsets.</summary>
public abstract class ImageSectorFault : IFaultInjector
{
    protected const int Sector = SectorFormat.SectorSize;

    public abstract string Name { get; }
    public abstract FindingClass Proves { get; }
    public abstract string Description { get; }
    public FaultStage Stage => FaultStage.AfterWriteUnmounted;

    /// <summary>
    /// Whether the filesystem must not checksum data (btrfs: mounted nodatasum), so the damage
    /// reads back as data to judge instead of a read error.
    /// </summary>
    public virtual bool NeedsUnchecksummedData => true;

    public abstract Task ApplyAsync(FaultContext context, CancellationToken cancellationToken);

    /// <summary>The IO whose sectors the fault damages.</summary>
    protected static PlannedIo Victim(WorkloadPlan plan) => plan.Ios.Count > 1 ? plan.Ios[1] : plan.Ios[0];

    protected static async Task<byte[]> ReadAsync(FaultContext context, long fileOffset, int length, CancellationToken cancellationToken)
    {
        var buffer = new byte[length];
        await using var image = Open(context, FileAccess.Read);
        image.Position = await context.ImageOffsetAsync(fileOffset, cancellationToken);
        await image.ReadExactlyAsync(buffer, cancellationToken);
        return buffer;
    }

    /// <summary>Writes <paramref name="data"/> (whole sectors, one extent) at a file offset and flushes it to the image.</summary>
    protected static async Task WriteAsync(FaultContext context, long fileOffset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await using var image = Open(context, FileAccess.Write);
        image.Position = await context.ImageOffsetAsync(fileOffset, cancellationToken);
        await image.WriteAsync(data, cancellationToken);
        await image.FlushAsync(cancellationToken);
        image.Flush(flushToDisk: true);
    }

    private static FileStream Open(FaultContext context, FileAccess access) =>
        new(context.ImagePath, FileMode.Open, access, FileShare.ReadWrite);
}

/// <summary>
/// Zeroes a sub-block range where two IOs share an fs block: exactly what the 2010 race
/// leaves behind (the head of IO 1, in the block that also holds the tail of IO 0).
/// </summary>
public sealed class ZeroSubBlockFault(int sectors = 2) : ImageSectorFault
{
    public override string Name => "zero-sub-block";
    public override FindingClass Proves => FindingClass.Zeroed;
    public override string Description => "zeroes the head of IO 1 in the fs block it shares with IO 0 (the 2010 race's signature)";

    public override Task ApplyAsync(FaultContext context, CancellationToken cancellationToken)
    {
        var target = Victim(context.Plan);
        return WriteAsync(context, target.Offset, new byte[Math.Min(sectors * Sector, target.Length)], cancellationToken);
    }
}

/// <summary>Old free-space dirt (the agent's stale sector format) in a sector an acknowledged IO wrote.</summary>
public sealed class StaleFault : ImageSectorFault
{
    public override string Name => "stale";
    public override FindingClass Proves => FindingClass.Stale;
    public override string Description => "writes a free-space dirt sector (as the agent dirties free space) over a sector of IO 1";

    public override Task ApplyAsync(FaultContext context, CancellationToken cancellationToken)
    {
        var target = Victim(context.Plan);
        var offset = target.Offset + target.Length / Sector / 2 * Sector;
        var sector = new byte[Sector];
        // The tag the agent gives the dirt of this iteration (AgentRunner: SeedMix.Mix(runTag, 0xD1)).
        SectorFormat.WriteStale(sector, SeedMix.Mix(context.Plan.RunTag, 0xD1), offset / Sector);
        return WriteAsync(context, offset, sector, cancellationToken);
    }
}

/// <summary>Swaps one sector of IO 1 with the same sector of IO 2: both intact data, each at the other's offset.</summary>
public sealed class ForeignFault : ImageSectorFault
{
    public override string Name => "foreign";
    public override FindingClass Proves => FindingClass.Foreign;
    public override string Description => "swaps a sector of IO 1 with one of IO 2 (intact data at the wrong offset)";

    public override async Task ApplyAsync(FaultContext context, CancellationToken cancellationToken)
    {
        if (context.Plan.Ios.Count < 3) throw new InvalidOperationException("the foreign fault needs a plan of at least 3 IOs");
        var a = context.Plan.Ios[1];
        var b = context.Plan.Ios[2];
        var inIo = Math.Min(a.Length, b.Length) / Sector / 2 * Sector;
        var (offsetA, offsetB) = (a.Offset + inIo, b.Offset + inIo);
        var sectorA = await ReadAsync(context, offsetA, Sector, cancellationToken);
        var sectorB = await ReadAsync(context, offsetB, Sector, cancellationToken);
        await WriteAsync(context, offsetA, sectorB, cancellationToken);
        await WriteAsync(context, offsetB, sectorA, cancellationToken);
    }
}

/// <summary>Flips bytes in the seeded fill of one written sector: the header still says who wrote it, the checksum fails.</summary>
public sealed class TornFault : ImageSectorFault
{
    public override string Name => "torn";
    public override FindingClass Proves => FindingClass.Torn;
    public override string Description => "flips 16 bytes inside one sector of IO 1 (its checksum fails)";

    public override async Task ApplyAsync(FaultContext context, CancellationToken cancellationToken)
    {
        var target = Victim(context.Plan);
        var offset = target.Offset + target.Length / Sector / 2 * Sector;
        var sector = await ReadAsync(context, offset, Sector, cancellationToken);
        for (var i = 200; i < 216; i++) sector[i] ^= 0xA5;
        await WriteAsync(context, offset, sector, cancellationToken);
    }
}

/// <summary>
/// Puts the pre-write content back over one whole fs block that acknowledged writes filled:
/// zeros for a hole or unwritten extent, the prewritten pattern for a written file. The whole
/// block, because zeros beside surviving data in the same block are the zeroing race's
/// signature (Zeroed, see SectorRules.Classify); a block with no data left is a lost write.
/// </summary>
public sealed class LostWriteFault : ImageSectorFault
{
    public override string Name => "lost-write";
    public override FindingClass Proves => FindingClass.LostWrite;
    public override string Description => "puts the pre-write content (zeros, or the prewritten pattern) back over a whole fs block IO 1 wrote into";

    public override Task ApplyAsync(FaultContext context, CancellationToken cancellationToken)
    {
        var spec = context.Plan.Spec;
        var block = Math.Max(spec.FsBlockSize, Sector);
        // The block holding IO 1's last sector: for the seed case that block is IO 1's tail
        // and IO 2's head, both acknowledged.
        var target = Victim(context.Plan);
        var start = (target.End - 1) / block * block;
        var content = new byte[block];
        if (spec.Preparation == FilePreparation.Written)
        {
            for (var s = 0; s < block / Sector; s++)
                SectorFormat.WritePrewritten(content.AsSpan(s * Sector, Sector), context.Plan.RunTag, start + (long)s * Sector);
        }
        return WriteAsync(context, start, content, cancellationToken);
    }
}

/// <summary>Extends the file by one fs block after the write phase (mounted): only its size is wrong.</summary>
public sealed class SizeFault : IFaultInjector
{
    public string Name => "size";
    public FindingClass Proves => FindingClass.Size;
    public FaultStage Stage => FaultStage.AfterWriteMounted;
    public string Description => "extends the file by one fs block after the write phase (truncate -s +block)";

    public async Task ApplyAsync(FaultContext context, CancellationToken cancellationToken)
    {
        var path = context.TargetPath ?? throw new InvalidOperationException("the size fault needs the mounted target file");
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        file.SetLength(file.Length + Math.Max(context.Plan.Spec.FsBlockSize, SectorFormat.SectorSize));
        file.Flush(flushToDisk: true);
    }
}
