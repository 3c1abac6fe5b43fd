// fsync(2) of a folder, so a rename into it survives a power cut (the rename is a change to the
// folder, not to the file). .NET cannot open a folder as a file handle, hence libc directly.
using System.Runtime.InteropServices;

namespace Harness.Interop;

/// <summary>Makes a folder's entries (a renamed record) durable.</summary>
public static partial class DirectorySync
{
    private const int ORdOnly = 0, ODirectory = 0x10000, OCloexec = 0x80000;

    /// <summary>fsync of the folder; an <see cref="IOException"/> with errno when it fails.</summary>
    public static void Flush(string directory)
    {
        var fd = Open(directory, ORdOnly | ODirectory | OCloexec);
        if (fd < 0) throw new IOException($"{directory}: open for fsync failed (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (Fsync(fd) != 0) throw new IOException($"{directory}: fsync failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally { _ = Close(fd); }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
