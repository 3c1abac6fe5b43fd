// When a cache entry was last used, for `harness cache status` and `cache gc --unused-for`.
// The harness sets the access time of the entry's marker explicitly each time it hands the
// entry out (a cached kernel, a cached initramfs): relatime mounts would otherwise update it
// at most once a day, and the modification time must keep meaning "written".
namespace Harness.Cache;

/// <summary>Records and reads the last use of a cache entry (a file, or a folder's marker file).</summary>
public static class LastUse
{
    /// <summary>Marks <paramref name="markerFile"/> as used now; a missing file or a read-only cache is not an error.</summary>
    public static void Mark(string markerFile, TimeProvider? time = null)
    {
        try
        {
            if (File.Exists(markerFile)) File.SetLastAccessTimeUtc(markerFile, (time ?? TimeProvider.System).GetUtcNow().UtcDateTime);
        }
        catch (IOException) { /* a cache on a read-only mount is still usable */ }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>The later of the file's access and modification times.</summary>
    public static DateTimeOffset Of(string markerFile)
    {
        var info = new FileInfo(markerFile);
        return info.LastAccessTimeUtc > info.LastWriteTimeUtc ? info.LastAccessTimeUtc : info.LastWriteTimeUtc;
    }
}
