// Dirties free space before a run, as xfstests generic/240 does: write a file of recognisable
// Stale sectors, then delete it. Blocks the target file later gets may hold this old content,
// so a read that exposes stale data (instead of zeros or new data) shows up as Stale.
using System.Diagnostics;
using Harness.Agent.Interop;
using Harness.Workload;

namespace Harness.Agent;

internal static class FreeSpaceDirt
{
    public const string FileName = ".harness-dirt";

    // How long the dirt's blocks may take to come back to the free count before the workload
    // starts anyway (a neighbour filling the same filesystem can keep them from ever showing).
    private static readonly TimeSpan ReleaseWait = TimeSpan.FromSeconds(1);

    /// <summary>Writes and deletes the dirt; returns where its blocks were (FIEMAP, taken before the delete).</summary>
    public static ExtentMap Write(string directory, long bytes, ulong dirtTag, TextWriter log, CancellationToken cancellationToken)
    {
        if (bytes <= 0) return ExtentMap.Empty;
        var path = Path.Combine(directory, FileName);
        var length = ChunkedWriter.RoundUpToSector(bytes);
        log.WriteLine($"harness-agent: dirtying {length} bytes of free space through {path}");
        Posix.Unlink(path);
        ExtentMap extents;
        var availableWithDirt = 0L;
        try
        {
            // O_DIRECT so the dirt reaches the disk now rather than sitting in the page cache.
            using var file = Posix.Open(path, OpenFlags.ReadWrite | OpenFlags.Create | OpenFlags.Exclusive | OpenFlags.Direct | OpenFlags.CloseOnExec);
            ChunkedWriter.Write(file, path, length,
                (sector, offset) => SectorFormat.WriteStale(sector, dirtTag, offset / SectorFormat.SectorSize),
                cancellationToken);
            Posix.Fsync(file, path);
            extents = ExtentMap.Read(file, path, "dirt file");
            availableWithDirt = Posix.FilesystemSpace(directory).Available;
        }
        finally
        {
            // Also on failure (ENOSPC): a leftover dirt file would hide free space from the next run.
            Posix.Unlink(path);
        }
        // Commit the unlink: ext4 and xfs do not reuse blocks freed in an uncommitted transaction.
        Posix.Sync();
        WaitForRelease(directory, availableWithDirt, length, log);
        return extents;
    }

    // xfs (Linux >= 5.19) frees an unlinked file's blocks later, in a background worker
    // (inodegc) that sync(2) does not wait for: on this host's xfs loop, in about half the
    // runs the dirt was not yet back in the free count after the sync above. Those frees then
    // ran beside the timed workload, and the blocks stayed "busy" (not reusable without a log
    // force) until a later checkpoint. statfs kicks the worker; wait until the dirt is back in
    // the free count, then syncfs so the frees are committed before the first submit.
    private static void WaitForRelease(string directory, long availableWithDirt, long length, TextWriter log)
    {
        var start = Stopwatch.GetTimestamp();
        var waited = false;
        while (Posix.FilesystemSpace(directory).Available < availableWithDirt + length / 8 * 7)
        {
            if (Stopwatch.GetElapsedTime(start) > ReleaseWait)
            {
                log.WriteLine($"harness-agent: the dirt's blocks were not back in the free count after {ReleaseWait.TotalSeconds:F0} s; starting anyway");
                break;
            }
            waited = true;
            Thread.Sleep(1);
        }
        // Even when they were back at once, sync(2) may have forced this filesystem's log before
        // the worker finished (it flushes the other filesystems after): commit them again.
        Posix.SyncFilesystem(directory);
        if (waited) log.WriteLine($"harness-agent: waited {Stopwatch.GetElapsedTime(start).TotalMilliseconds:F0} ms for the filesystem to free the dirt");
    }
}
