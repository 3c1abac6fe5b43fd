// Filesystems are data: how to format an image file and how to mount it. A new
// filesystem is one entry here, not a switch in five places.
using System.Globalization;
using Harness.Yaml;

namespace Harness.Filesystems;

/// <summary>
/// How to check one filesystem read-only after a cell. "{image}" in the arguments becomes the
/// image path. Exit codes in <see cref="CleanCodes"/> mean clean, in <see cref="ComplaintCodes"/>
/// damage found (a finding); any other code means the checker itself failed (an ERROR).
/// </summary>
public sealed record FsckSpec(string Program, IReadOnlyList<string> Arguments, IReadOnlyList<int> CleanCodes, IReadOnlyList<int> ComplaintCodes)
{
    /// <summary>The checker's arguments for an image, with a log device when the filesystem keeps its log apart.</summary>
    public IReadOnlyList<string> ArgumentsFor(string imagePath, IReadOnlyList<string>? logArguments = null) =>
        [.. logArguments ?? [], .. Arguments.Select(a => a.Replace("{image}", imagePath, StringComparison.Ordinal))];
}

/// <summary>
/// A filesystem laid out with its journal (log) on a second device: the io-error fault needs
/// the data device to fail writes while fsync still commits. "{log}" becomes the log device.
/// </summary>
public sealed record ExternalLogSpec(
    IReadOnlyList<string> LogMkfsArguments,  // empty: the data mkfs formats the log device too (xfs)
    IReadOnlyList<string> DataMkfsArguments,
    string MountOption,
    IReadOnlyList<string> FsckArguments)
{
    public static IReadOnlyList<string> Fill(IReadOnlyList<string> arguments, string logDevice) =>
        [.. arguments.Select(a => a.Replace("{log}", logDevice, StringComparison.Ordinal))];
}

/// <summary>How to make and mount one filesystem. "{block}" in mkfs arguments becomes the case's fs block size.</summary>
public sealed record FilesystemSpec(
    string Name,
    string MkfsProgram,
    IReadOnlyList<string> MkfsArguments,
    string MountType,
    long MinImageSize,
    string DebianPackage,
    string Role,
    IReadOnlyList<string> KernelModules)
{
    /// <summary>The read-only checker run on the image after the cell (null: none known).</summary>
    public FsckSpec? Fsck { get; init; }

    /// <summary>How to keep the journal on its own device, where the filesystem can (null: it cannot).</summary>
    public ExternalLogSpec? ExternalLog { get; init; }

    /// <summary>Mount options a data fault needs so raw-image corruption reads back as data (btrfs: nodatasum).</summary>
    public IReadOnlyList<string> RawDataMountOptions { get; init; } = [];

    /// <summary>Smallest fs-block-size this filesystem's mkfs accepts (measured, see the catalog).</summary>
    public int MinBlockSize { get; init; } = 1024;

    /// <summary>Largest fs-block-size this filesystem's mkfs accepts.</summary>
    public int MaxBlockSize { get; init; } = 65536;

    /// <summary>
    /// mkfs arguments that set the filesystem's sector size, "{sector}" filled with the disk's
    /// logical sector, given only when it is not 512 (mkfs on an image file assumes 512, and xfs
    /// made so does not mount on a 4Kn disk). Empty where the block size already decides it.
    /// </summary>
    public IReadOnlyList<string> SectorSizeArguments { get; init; } = [];

    /// <summary>The setup this spec runs under (`compare --setup`): mkfs and mount options, disk geometry; null for a plain --fs.</summary>
    public Setups.SetupSpec? Setup { get; init; }

    /// <summary>What cells are named after: the setup's name, else the filesystem's.</summary>
    public string CellName => Setup?.Name ?? Name;

    /// <summary>Mount options the setup adds (mount -o), none without a setup.</summary>
    public IReadOnlyList<string> MountOptions => Setup?.MountOptions ?? [];

    /// <summary>The test disk's sectors and bus: the setup's, else 512-byte sectors on virtio-blk.</summary>
    public Setups.DiskGeometry Geometry => Setup?.Geometry ?? Setups.DiskGeometry.Default;

    /// <summary>
    /// mkfs arguments for an image, with the block size filled in, then the setup's sector size
    /// and mkfs options; the image path goes last.
    /// </summary>
    public IReadOnlyList<string> MkfsArgumentsFor(int blockSize, string imagePath) =>
        [.. MkfsArguments.Select(a => a.Replace("{block}", blockSize.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)),
         .. Geometry.LogicalSector == 512 ? [] : SectorSizeArguments.Select(a => a.Replace("{sector}", Geometry.LogicalSector.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)),
         .. Setup?.MkfsOptions ?? [],
         imagePath];
}

/// <summary>The filesystems the harness knows. Unknown names fail with the list.</summary>
public static class FilesystemCatalog
{
    private static readonly FsckSpec E2fsck = new("e2fsck", ["-f", "-n", "{image}"], [0], [1, 2, 4]);

    // Block sizes: what mkfs accepts on a 300 MiB image file (host, e2fsprogs 1.47, xfsprogs 6.1,
    // btrfs-progs 6.2, ocfs2-tools 1.8; 2026-11-26): ext4/ext2 1024..65536, xfs 1024..65536
    // (v5 format), btrfs 4096..65536, ocfs2 512..4096; mkfs.f2fs has no block option (4096).
    public static IReadOnlyList<FilesystemSpec> All { get; } =
    [
        // e2fsck(8): 0 clean, 1/2 errors corrected (never with -n), 4 errors left uncorrected,
        // 8 operational error, 16 usage, 32 cancelled.
        new("ext4", "mkfs.ext4", ["-F", "-q", "-b", "{block}"], "ext4", 64L << 20, "e2fsprogs",
            "unwritten extents; serialises unaligned AIO DIO since v2.6.38", ["ext4"])
        {
            Fsck = E2fsck,
            // errors=continue: with the data device failing writes, ext4 may also fail to write its
            // superblock and would then remount read-only, unpredictably (seen once under load in CI),
            // ending the cell on EROFS instead of the -EIO writes the fault is about. noinit_itable: the
            // background inode-table zeroing (ext4lazyinit) writes to the data device right after mount; under
            // the fault those writes fail, and ext4 then returns EIO from the next metadata change (seen as the
            // agent's unlink failing at the start of an iteration, 3 runs in 4 on a loaded host).
            ExternalLog = new(["-F", "-q", "-O", "journal_dev", "-b", "{block}"], ["-J", "device={log}"], "journal_path={log},errors=continue,noinit_itable", ["-j", "{log}"]),
        },
        // xfs_repair(8) -n: 0 clean, 1 corruption found; -f because the target is an image file.
        new("xfs", "mkfs.xfs", ["-f", "-q", "-b", "size={block}"], "xfs", 300L << 20, "xfsprogs",
            "unwritten extents; serialises unaligned DIO since v2.6.38", ["xfs"])
        {
            Fsck = new("xfs_repair", ["-n", "-f", "{image}"], [0], [1]),
            SectorSizeArguments = ["-s", "size={sector}"],
            ExternalLog = new([], ["-l", "logdev={log}"], "logdev={log}", ["-l", "{log}"]),
        },
        // btrfs check --readonly: nonzero when it found errors (it has no finer codes). btrfs
        // checksums data, so a data fault mounts with nodatasum (new files only: the target is new).
        new("btrfs", "mkfs.btrfs", ["-f", "-q", "-s", "{block}"], "btrfs", 128L << 20, "btrfs-progs",
            "negative control: sub-block direct writes fall back to buffered IO", ["btrfs"])
        {
            MinBlockSize = 4096,
            Fsck = new("btrfs", ["check", "--readonly", "{image}"], [0], [1]),
            RawDataMountOptions = ["nodatasum"],
        },
        // ocfs2 without a cluster stack (DESIGN.md): local mount, one slot, 4 KiB clusters so a
        // cluster is one block. mkfs.ocfs2 asks before overwriting an old ocfs2 image, so the
        // image is always a freshly created file.
        new("ocfs2", "mkfs.ocfs2", ["-q", "-M", "local", "-b", "{block}", "-C", "4096", "-N", "1", "-F"], "ocfs2", 256L << 20, "ocfs2-tools",
            "fs/direct-io.c user with unwritten extents: the 2010 race's home today", ["ocfs2"])
        {
            MinBlockSize = 512,
            MaxBlockSize = 4096,
            // fsck.ocfs2(8) -n: e2fsck's exit codes (0 clean, 4 errors left, 8 operational).
            Fsck = new("fsck.ocfs2", ["-f", "-n", "{image}"], [0], [1, 2, 4]),
        },
        new("f2fs", "mkfs.f2fs", ["-q", "-f"], "f2fs", 128L << 20, "f2fs-tools",
            "negative control: sub-block direct writes fall back to buffered IO", ["f2fs"])
        {
            MinBlockSize = 4096,
            MaxBlockSize = 4096,
            // fsck.f2fs -f --dry-run: 0 clean; 1/4 errors; 255 (-1) when the metadata cannot be
            // read at all (measured: a zeroed superblock area gives 255).
            Fsck = new("fsck.f2fs", ["-f", "--dry-run", "{image}"], [0], [1, 2, 4, 255]),
        },
        new("ext2", "mkfs.ext2", ["-F", "-q", "-b", "{block}"], "ext2", 16L << 20, "e2fsprogs",
            "fs/direct-io.c user without unwritten extents (served by the ext4 driver when EXT4_USE_FOR_EXT2)", ["ext4"])
        {
            Fsck = E2fsck,
        },
    ];

    public static FilesystemSpec Find(string name) =>
        All.FirstOrDefault(f => f.Name == name)
        ?? throw new InputException(new InputProblem("--fs", 0, 0, "--fs",
            $"unknown filesystem '{name}'; valid: {string.Join(", ", All.Select(f => f.Name))}"));
}
