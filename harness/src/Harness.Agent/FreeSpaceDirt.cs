// Dirties free space before a run, as xfstests generic/240 does: write a file of recognisable
// Stale sectors, then delete it. Blocks the target file later gets may hold this old content,
// so a read that exposes stale data (instead of zeros or new data) shows up as Stale.
using Harness.Agent.Interop;
using Harness.Workload;

namespace Harness.Agent;

internal static class FreeSpaceDirt
{
    public const string FileName = ".harness-dirt";

    /// <summary>Writes and deletes the dirt; returns where its blocks were (FIEMAP, taken before the delete).</summary>
    public static ExtentMap Write(string directory, long bytes, ulong dirtTag, TextWriter log, CancellationToken cancellationToken)
    {
        if (bytes <= 0) return ExtentMap.Empty;
        var path = Path.Combine(directory, FileName);
        var length = ChunkedWriter.RoundUpToSector(bytes);
        log.WriteLine($"harness-agent: dirtying {length} bytes of free space through {path}");
        Posix.Unlink(path);
        ExtentMap extents;
        try
        {
            // O_DIRECT so the dirt reaches the disk now rather than sitting in the page cache.
            using var file = Posix.Open(path, OpenFlags.ReadWrite | OpenFlags.Create | OpenFlags.Exclusive | OpenFlags.Direct | OpenFlags.CloseOnExec);
            ChunkedWriter.Write(file, path, length,
                (sector, offset) => SectorFormat.WriteStale(sector, dirtTag, offset / SectorFormat.SectorSize),
                cancellationToken);
            Posix.Fsync(file, path);
            extents = ExtentMap.Read(file, path, "dirt file");
        }
        finally
        {
            // Also on failure (ENOSPC): a leftover dirt file would hide free space from the next run.
            Posix.Unlink(path);
        }
        // Commit the unlink: ext4 and xfs do not reuse blocks freed in an uncommitted transaction.
        Posix.Sync();
        return extents;
    }
}
