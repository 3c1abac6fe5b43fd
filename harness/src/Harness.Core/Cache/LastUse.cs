// When a cache entry was last used, for `harness cache status` and `cache gc --unused-for`.
// The harness marks an entry each time it hands it out (a cached kernel, a cached initramfs):
// a folder's marker file gets its modification time set (the marker's content never changes
// after it is written, and reading it, as `cache status` does, must not count as a use); a
// file that is itself the entry (an initramfs archive) gets its access time set, so its
// modification time keeps meaning "written", and its readers (QEMU, a cell's initrd copy)
// count as uses too.
namespace Harness.Cache;

/// <summary>Records and reads the last use of a cache entry (a folder's marker file, or a file entry).</summary>
public static class LastUse
{
    /// <summary>Marks the folder whose marker is <paramref name="markerFile"/> as used now. A missing file or a read-only cache is not an error.</summary>
    public static void MarkFolder(string markerFile) => Try(() => File.SetLastWriteTimeUtc(markerFile, DateTime.UtcNow), markerFile);

    /// <summary>Marks the file entry <paramref name="file"/> as used now.</summary>
    public static void MarkFile(string file) => Try(() => File.SetLastAccessTimeUtc(file, DateTime.UtcNow), file);

    /// <summary>Last use of a folder: its marker's modification time.</summary>
    public static DateTimeOffset OfFolder(string markerFile) => File.GetLastWriteTimeUtc(markerFile);

    /// <summary>Last use of a file entry: the later of its access and modification times.</summary>
    public static DateTimeOffset OfFile(string file)
    {
        var info = new FileInfo(file);
        return info.LastAccessTimeUtc > info.LastWriteTimeUtc ? info.LastAccessTimeUtc : info.LastWriteTimeUtc;
    }

    private static void Try(Action mark, string path)
    {
        try
        {
            if (File.Exists(path)) mark();
        }
        catch (IOException) { /* a cache on a read-only mount is still usable */ }
        catch (UnauthorizedAccessException) { }
    }
}
