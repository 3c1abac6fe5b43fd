// When a cache entry was last used, for `harness cache status` and `cache gc --unused-for`.
// The harness marks an entry each time it hands it out (a cached kernel, a cached initramfs):
// a folder gets a `.harness-last-use` file whose modification time is set (the folder's
// completion marker stays as written, and reading files, as `cache status` does, is no use);
// a file that is itself the entry (an initramfs archive) gets its access time set, so its
// modification time keeps meaning "written", and its readers (QEMU, a cell's initrd copy)
// count as uses too.
namespace Harness.Cache;

/// <summary>Records and reads the last use of a cache entry (a folder's marker file, or a file entry).</summary>
public static class LastUse
{
    private const string FolderStamp = ".harness-last-use";

    /// <summary>Marks <paramref name="folder"/> as used now. A read-only cache is not an error.</summary>
    public static void MarkFolder(string folder) => Try(() =>
    {
        var stamp = Path.Combine(folder, FolderStamp);
        if (!File.Exists(stamp)) File.WriteAllBytes(stamp, []);
        File.SetLastWriteTimeUtc(stamp, DateTime.UtcNow);
    }, folder);

    /// <summary>Marks the file entry <paramref name="file"/> as used now.</summary>
    public static void MarkFile(string file) => Try(() => File.SetLastAccessTimeUtc(file, DateTime.UtcNow), file);

    /// <summary>Last use of a folder: when it was last marked, else when its <paramref name="marker"/> was written.</summary>
    public static DateTimeOffset OfFolder(string folder, string marker)
    {
        var stamp = Path.Combine(folder, FolderStamp);
        return File.GetLastWriteTimeUtc(File.Exists(stamp) ? stamp : marker);
    }

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
            if (File.Exists(path) || Directory.Exists(path)) mark();
        }
        catch (IOException) { /* a cache on a read-only mount is still usable */ }
        catch (UnauthorizedAccessException) { }
    }
}
