// A folder the harness made itself and so may remove. Users point --dir at their own
// filesystems: the harness works only inside a fresh subfolder it created with an exclusive
// mkdir, and deletes it only while the path still names that very folder (device + inode).
using Harness.Interop;

namespace Harness.Machines;

/// <summary>A folder created by this process, remembered by identity, removed only if still the same one.</summary>
public sealed class OwnedDirectory
{
    private readonly FileIdentity _identity;

    private OwnedDirectory(string path, FileIdentity identity)
    {
        Path = path;
        _identity = identity;
    }

    public string Path { get; }

    /// <summary>
    /// Creates <paramref name="parent"/>/<paramref name="name"/>, or name-2, name-3... when that
    /// name is taken: an existing path is never reused, whatever it is.
    /// </summary>
    public static OwnedDirectory Create(string parent, string name)
    {
        for (var n = 1; n < 1000; n++)
        {
            var path = System.IO.Path.Combine(parent, n == 1 ? name : $"{name}-{n}");
            if (!PosixDirectory.TryCreateExclusive(path)) continue;
            return new OwnedDirectory(path, PosixDirectory.Identify(path)
                ?? throw new IOException($"{path} vanished right after it was created"));
        }
        throw new IOException($"{parent}: {name} and 999 numbered variants already exist; remove the old ones");
    }

    /// <summary>
    /// Removes the folder and what is in it, but only when the path still names the folder this
    /// process made (a replaced or moved folder is left alone and reported). Best effort: returns
    /// why something was left, or null.
    /// </summary>
    public string? TryDelete()
    {
        try
        {
            var now = PosixDirectory.Identify(Path);
            if (now is null) return null;
            // A symlink is never ours (we made a folder) and may point anywhere; checked apart
            // from the inode because a freed inode number is soon given to the next new file.
            if (new DirectoryInfo(Path).LinkTarget is not null) return $"{Path} is now a symbolic link, not the folder the harness created; left untouched";
            if (now != _identity) return $"{Path} is no longer the folder the harness created; left untouched";
            // Everything inside was made by the harness's agent; Directory.Delete removes symlinks
            // as links and never follows them out of this folder.
            Directory.Delete(Path, recursive: true);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"could not remove {Path}: {e.Message}";
        }
    }
}
