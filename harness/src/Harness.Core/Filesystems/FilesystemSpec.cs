// Filesystems are data: how to format an image file and how to mount it. A new
// filesystem is one entry here, not a switch in five places.
using System.Globalization;
using Harness.Yaml;

namespace Harness.Filesystems;

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
    /// <summary>mkfs arguments for an image, with the block size filled in; the image path goes last.</summary>
    public IReadOnlyList<string> MkfsArgumentsFor(int blockSize, string imagePath) =>
        [.. MkfsArguments.Select(a => a.Replace("{block}", blockSize.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)), imagePath];
}

/// <summary>The filesystems the harness knows. Unknown names fail with the list.</summary>
public static class FilesystemCatalog
{
    public static IReadOnlyList<FilesystemSpec> All { get; } =
    [
        new("ext4", "mkfs.ext4", ["-F", "-q", "-b", "{block}"], "ext4", 64L << 20, "e2fsprogs",
            "unwritten extents; serialises unaligned AIO DIO since v2.6.38", ["ext4"]),
        new("xfs", "mkfs.xfs", ["-f", "-q", "-b", "size={block}"], "xfs", 300L << 20, "xfsprogs",
            "unwritten extents; serialises unaligned DIO since v2.6.38", ["xfs"]),
        new("btrfs", "mkfs.btrfs", ["-f", "-q", "-s", "{block}"], "btrfs", 128L << 20, "btrfs-progs",
            "negative control: sub-block direct writes fall back to buffered IO", ["btrfs"]),
        // ocfs2 without a cluster stack (DESIGN.md): local mount, one slot, 4 KiB clusters so a
        // cluster is one block. mkfs.ocfs2 asks before overwriting an old ocfs2 image, so the
        // image is always a freshly created file.
        new("ocfs2", "mkfs.ocfs2", ["-q", "-M", "local", "-b", "{block}", "-C", "4096", "-N", "1", "-F"], "ocfs2", 256L << 20, "ocfs2-tools",
            "fs/direct-io.c user with unwritten extents: the 2010 race's home today", ["ocfs2"]),
        new("f2fs", "mkfs.f2fs", ["-q", "-f"], "f2fs", 128L << 20, "f2fs-tools",
            "negative control: sub-block direct writes fall back to buffered IO", ["f2fs"]),
        new("ext2", "mkfs.ext2", ["-F", "-q", "-b", "{block}"], "ext2", 16L << 20, "e2fsprogs",
            "fs/direct-io.c user without unwritten extents (served by the ext4 driver when EXT4_USE_FOR_EXT2)", ["ext4"]),
    ];

    public static FilesystemSpec Find(string name) =>
        All.FirstOrDefault(f => f.Name == name)
        ?? throw new InputException(new InputProblem("--fs", 0, 0, "--fs",
            $"unknown filesystem '{name}'; valid: {string.Join(", ", All.Select(f => f.Name))}"));
}
