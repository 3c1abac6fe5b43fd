// Out of space is the setup's fault, not the kernel's: where it can be computed before
// anything runs (an image the harness makes itself), a case that cannot fit is an input
// error naming the field, exit 2, instead of an ENOSPC part-way through (ERROR, exit 3) or,
// before issue 7, a PASS with thousands of failed writes.
using Harness.Filesystems;
using Harness.Yaml;

namespace Harness.Cases;

public static class CasePreflight
{
    /// <summary>Least room kept for the filesystem's own metadata (journal or log, inodes, allocation groups).</summary>
    public const long MetadataFloor = 32L << 20;

    /// <summary>
    /// Room allowed for metadata on an image: a fifth of it, at least <see cref="MetadataFloor"/>.
    /// Measured with mkfs defaults + df on 512 MiB images (host, 2026-11-26): available 451 MiB
    /// on ext4, 420 MiB on xfs, 431 MiB on btrfs (DUP metadata): up to 92 MiB, 18 %, is not for data.
    /// </summary>
    public static long MetadataAllowance(long imageBytes) => Math.Max(MetadataFloor, imageBytes / 5);

    /// <summary>
    /// Problems of running <paramref name="case"/> on <paramref name="fs"/> in an image of
    /// <paramref name="imageBytes"/> (raised to the filesystem's minimum, as the machines do).
    /// The dirt is deleted before the target is made, but the sum is what a reader can check
    /// without knowing the allocator, so the sum is required.
    /// </summary>
    public static IReadOnlyList<InputProblem> Check(CaseSpec @case, FilesystemSpec fs, long imageBytes)
    {
        ArgumentNullException.ThrowIfNull(@case);
        ArgumentNullException.ThrowIfNull(fs);
        var image = Math.Max(imageBytes, fs.MinImageSize);
        var w = @case.Workload;
        // mkfs would refuse it (exit 3 part-way through); say so as the case's field, before anything runs.
        if (w.FsBlockSize < fs.MinBlockSize || w.FsBlockSize > fs.MaxBlockSize)
            return [new InputProblem(@case.SourceFile, 0, 0, "fs-block-size",
                $"{w.FsBlockSize} is not a block size mkfs accepts for {fs.Name} ({(fs.MinBlockSize == fs.MaxBlockSize ? $"only {fs.MinBlockSize}" : $"{fs.MinBlockSize} to {fs.MaxBlockSize}")}); change fs-block-size or drop {fs.Name} from --fs")];
        var metadata = MetadataAllowance(image);
        var need = w.FileSize + w.DirtyBytes + metadata;
        if (need <= image) return [];
        var least = RoundUpToMiB(w.FileSize + w.DirtyBytes + Math.Max(MetadataFloor, (w.FileSize + w.DirtyBytes) / 4));
        return [new InputProblem(@case.SourceFile, 0, 0, "file.size",
            $"file.size {ByteSize.Format(w.FileSize)} + dirty-free-space {ByteSize.Format(w.DirtyBytes)} + metadata allowance {ByteSize.Format(metadata)} " +
            $"= {ByteSize.Format(need)} does not fit the {ByteSize.Format(image)} {fs.Name} image; use --image-size {ByteSize.Format(least)} or more, or lower file.size / dirty-free-space")];
    }

    /// <summary>Every (case, filesystem) problem at once; throws <see cref="InputException"/> when there is any.</summary>
    public static void ThrowIfAny(IEnumerable<CaseSpec> cases, IEnumerable<FilesystemSpec> filesystems, long imageBytes)
    {
        var fsList = filesystems.ToList();
        var problems = cases.SelectMany(c => fsList.SelectMany(fs => Check(c, fs, imageBytes))).ToList();
        if (problems.Count > 0) throw new InputException(problems);
    }

    private static long RoundUpToMiB(long bytes) => (bytes + (1L << 20) - 1) >> 20 << 20;
}
