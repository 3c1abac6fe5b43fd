// mkdir(2) that fails when the path exists, and the (device, inode) identity of a path, which
// .NET does not expose. The harness uses them to own folders by identity (Machines/OwnedDirectory).
using System.Runtime.InteropServices;

namespace Harness.Interop;

/// <summary>Which file a path names: its device and inode number (lstat(2); a symlink is itself).</summary>
public readonly record struct FileIdentity(ulong Device, ulong Inode);

/// <summary>Raw libc calls behind typed wrappers; errno becomes an <see cref="IOException"/> here only.</summary>
public static partial class PosixDirectory
{
    private const string LibC = "libc";
    private const int EEXIST = 17;
    private const int ENOENT = 2;

    /// <summary>Creates a named pipe (FIFO, mode 0600) at <paramref name="path"/>.</summary>
    public static void CreateFifo(string path)
    {
        if (mkfifo(path, Convert.ToUInt32("600", 8)) == 0) return;
        var errno = Marshal.GetLastPInvokeError();
        throw new IOException($"mkfifo {path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
    }

    /// <summary>Creates exactly this folder (mode 0700). False when something already has that name.</summary>
    public static bool TryCreateExclusive(string path)
    {
        if (mkdir(path, Convert.ToUInt32("700", 8)) == 0) return true;
        var errno = Marshal.GetLastPInvokeError();
        if (errno == EEXIST) return false;
        throw new IOException($"mkdir {path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
    }

    /// <summary>The identity of the path itself (not a symlink's target); null when nothing is there.</summary>
    public static FileIdentity? Identify(string path)
    {
        // struct stat starts with st_dev and st_ino (u64 each) on x86_64 and on the generic
        // layout (arm64); the rest of the 144/128 bytes is not read.
        Span<ulong> buffer = stackalloc ulong[32];
        unsafe
        {
            fixed (ulong* p = buffer)
            {
                if (lstat(path, p) != 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == ENOENT) return null;
                    throw new IOException($"lstat {path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
                }
            }
        }
        return new FileIdentity(buffer[0], buffer[1]);
    }

    [LibraryImport(LibC, StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int mkdir(string path, uint mode);

    [LibraryImport(LibC, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mkfifo(string path, uint mode);

    [LibraryImport(LibC, StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int lstat(string path, ulong* buffer);
}
