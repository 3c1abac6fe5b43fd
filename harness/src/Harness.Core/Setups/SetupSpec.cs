// A filesystem setup: one named way to make and mount a filesystem on one kind of disk (mkfs
// options, mount options, block size, sector geometry, bus). `harness compare --setup` runs the
// same cases over several of them. Setups are data (cases/setups/setups.yaml), never code.
using System.Globalization;
using Harness.Cases;
using Harness.Filesystems;

namespace Harness.Setups;

/// <summary>How the test disk presents itself to the kernel.</summary>
public enum DiskBus
{
    /// <summary>virtio-blk (the QEMU machine's default test disk).</summary>
    VirtioBlk,
    /// <summary>virtio-scsi with a scsi-hd disk.</summary>
    VirtioScsi,
    /// <summary>An emulated NVMe controller.</summary>
    Nvme,
}

/// <summary>
/// Sector sizes and bus of the test disk. 512: 512-byte logical and physical sectors; 512e:
/// 512-byte logical on 4096-byte physical; 4Kn: 4096-byte logical and physical.
/// </summary>
public sealed record DiskGeometry(int LogicalSector, int PhysicalSector, DiskBus Bus)
{
    /// <summary>What both machines gave every cell before setups existed.</summary>
    public static DiskGeometry Default { get; } = new(512, 512, DiskBus.VirtioBlk);

    /// <summary>The names users write in `sectors:`, with their sizes.</summary>
    public static IReadOnlyList<(string Name, int Logical, int Physical)> SectorLayouts { get; } =
        [("512", 512, 512), ("512e", 512, 4096), ("4kn", 4096, 4096)];

    /// <summary>"512", "512e", "4kn" (or "logical/physical" for anything else).</summary>
    public string SectorsName =>
        SectorLayouts.FirstOrDefault(l => l.Logical == LogicalSector && l.Physical == PhysicalSector).Name
        ?? $"{LogicalSector}/{PhysicalSector}";

    public static string BusName(DiskBus bus) => Results.EnumWords.Kebab(bus);

    public override string ToString() => $"{SectorsName} {BusName(Bus)}";
}

/// <summary>
/// One validated setup. <see cref="BlockSize"/>, when set, wins over a case's fs-block-size
/// (the setup is what a comparison varies: xfs-1k and xfs-4k run the same case); when null the
/// case's fs-block-size is used.
/// </summary>
public sealed record SetupSpec(
    string Name,
    string Filesystem,
    string? Description,
    IReadOnlyList<string> MkfsOptions,
    IReadOnlyList<string> MountOptions,
    int? BlockSize,
    DiskGeometry Geometry,
    string SourceFile,
    int Line)
{
    /// <summary>The filesystem spec the machines use for this setup: its mkfs and mount options and disk.</summary>
    public FilesystemSpec ToFilesystem() => FilesystemCatalog.Find(Filesystem) with { Setup = this };

    /// <summary>The fs block size a case runs with on this setup: the setup's when it names one, else the case's.</summary>
    public int EffectiveBlockSize(CaseSpec @case) => BlockSize ?? @case.Workload.FsBlockSize;

    /// <summary>The case as it runs on this setup: the setup's block size in its workload (so mkfs, the agent and the judge agree).</summary>
    public CaseSpec Apply(CaseSpec @case) =>
        BlockSize is { } b && b != @case.Workload.FsBlockSize ? @case with { Workload = @case.Workload with { FsBlockSize = b } } : @case;

    /// <summary>
    /// Why this case cannot run on this setup (the case's sizes do not fit the setup's block, or
    /// the block is smaller than the disk's logical sector), or null. Said per row, never fatal:
    /// a comparison shows what was skipped and why.
    /// </summary>
    public string? CaseProblem(CaseSpec @case)
    {
        var block = EffectiveBlockSize(@case);
        var w = @case.Workload;
        var fs = FilesystemCatalog.Find(Filesystem);
        string B(int v) => v.ToString(CultureInfo.InvariantCulture);
        if (block < Geometry.LogicalSector)
            return $"fs block {B(block)} is smaller than the disk's {B(Geometry.LogicalSector)}-byte logical sector: mkfs cannot make it";
        if (block < fs.MinBlockSize || block > fs.MaxBlockSize)
            return $"fs block {B(block)} is not a block size mkfs accepts for {fs.Name} ({B(fs.MinBlockSize)} to {B(fs.MaxBlockSize)})";
        if (BlockSize is null) return null;
        if (w.FileSize % block != 0)
            return $"the case's file.size {w.FileSize} is not a multiple of the setup's block-size {B(block)}";
        if (w.Pattern == Workload.IoPattern.RandomSubBlock && w.IoSize >= block)
            return $"random-sub-block needs io.size ({B(w.IoSize)}) below the setup's block-size {B(block)}";
        return null;
    }

    /// <summary>One line for listings and the record: "xfs, block 1024, mkfs -m crc=1, mount noatime, 4kn nvme".</summary>
    public string Summary =>
        string.Join(", ", new[]
        {
            Filesystem,
            BlockSize is { } b ? $"block {b.ToString(CultureInfo.InvariantCulture)}" : "block from the case",
            MkfsOptions.Count > 0 ? $"mkfs {string.Join(' ', MkfsOptions)}" : null,
            MountOptions.Count > 0 ? $"mount -o {string.Join(',', MountOptions)}" : null,
            Geometry.ToString(),
        }.Where(s => s is not null));
}
