// libc file calls the agent needs beyond what .NET offers: open(2) with O_DIRECT, fallocate,
// ftruncate, fsync, pread/pwrite into aligned buffers, fstat, unlink, sync(2), syncfs(2). x86_64 Linux only.
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Harness.Workload;

namespace Harness.Agent.Interop;

/// <summary>open(2) flags for x86_64 Linux (asm-generic/fcntl.h; O_DIRECT differs on other architectures).</summary>
[Flags]
public enum OpenFlags
{
    ReadOnly = 0x0,
    ReadWrite = 0x2,
    Create = 0x40,
    Exclusive = 0x80,
    Truncate = 0x200,
    Direct = 0x4000,
    Directory = 0x1_0000,
    CloseOnExec = 0x8_0000,
}

/// <summary>
/// <c>struct stat</c> as the x86_64 kernel and glibc lay it out (asm/stat.h): 144 bytes.
/// Only the fields the agent reads are named.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct Stat
{
    public ulong Dev;
    public ulong Ino;
    public ulong NLink;
    public uint Mode;
    public uint Uid;
    public uint Gid;
    private readonly int _pad0;
    public ulong RDev;
    public long Size;
    public long BlkSize;
    public long Blocks;
    public long ATimeSec;
    public long ATimeNsec;
    public long MTimeSec;
    public long MTimeNsec;
    public long CTimeSec;
    public long CTimeNsec;
    private readonly long _reserved0;
    private readonly long _reserved1;
    private readonly long _reserved2;
}

/// <summary>Typed wrappers over libc; every failure is a <see cref="NativeErrorException"/> naming call and path.</summary>
public static unsafe partial class Posix
{
    // The soname, not "libc": a guest initramfs has libc.so.6 but no libc.so linker script.
    private const string LibC = "libc.so.6";

    /// <summary>open(2). The fd is owned by the returned handle and closed with it.</summary>
    public static SafeFileHandle Open(string path, OpenFlags flags, int mode = 0x1A4 /* 0644 */)
    {
        int fd;
        do fd = open(path, (int)flags, mode);
        while (fd < 0 && Marshal.GetLastPInvokeError() == LinuxErrno.EINTR);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            var hint = errno == LinuxErrno.EINVAL && flags.HasFlag(OpenFlags.Direct)
                ? "this filesystem does not support O_DIRECT"
                : null;
            throw new NativeErrorException($"open({Describe(flags)})", errno, path, hint);
        }
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>fallocate(2) with mode 0: allocates (as unwritten extents where supported) and extends the size.</summary>
    public static void Fallocate(SafeFileHandle file, long offset, long length, string path)
    {
        int rc;
        do rc = fallocate(file, 0, offset, length);
        while (rc < 0 && Marshal.GetLastPInvokeError() == LinuxErrno.EINTR);
        if (rc < 0) throw NativeErrorException.FromLastError("fallocate", path);
    }

    public static void Ftruncate(SafeFileHandle file, long length, string path)
    {
        int rc;
        do rc = ftruncate(file, length);
        while (rc < 0 && Marshal.GetLastPInvokeError() == LinuxErrno.EINTR);
        if (rc < 0) throw NativeErrorException.FromLastError("ftruncate", path);
    }

    public static void Fsync(SafeFileHandle file, string path)
    {
        int rc;
        do rc = fsync(file);
        while (rc < 0 && Marshal.GetLastPInvokeError() == LinuxErrno.EINTR);
        if (rc < 0) throw NativeErrorException.FromLastError("fsync", path);
    }

    /// <summary>fstat(2)'s st_size: the file size as the kernel sees it now.</summary>
    public static long FileSize(SafeFileHandle file, string path)
    {
        Stat st;
        if (fstat(file, &st) < 0) throw NativeErrorException.FromLastError("fstat", path);
        return st.Size;
    }

    /// <summary>pread(2) into the start of <paramref name="buffer"/>; returns bytes read (0 at EOF).</summary>
    public static int PRead(SafeFileHandle file, AlignedBuffer buffer, int count, long offset, string path)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, buffer.Length);
        nint n;
        do n = pread(file, buffer.Pointer, (nuint)count, offset);
        while (n < 0 && Marshal.GetLastPInvokeError() == LinuxErrno.EINTR);
        if (n < 0) throw NativeErrorException.FromLastError($"pread({count} bytes at {offset})", path);
        return (int)n;
    }

    /// <summary>pwrite(2) of the start of <paramref name="buffer"/>, looping over short writes.</summary>
    public static void PWriteAll(SafeFileHandle file, AlignedBuffer buffer, int count, long offset, string path)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, buffer.Length);
        var done = 0;
        while (done < count)
        {
            var n = pwrite(file, (byte*)buffer.Pointer + done, (nuint)(count - done), offset + done);
            if (n < 0 && Marshal.GetLastPInvokeError() == LinuxErrno.EINTR) continue;
            if (n < 0) throw NativeErrorException.FromLastError($"pwrite({count - done} bytes at {offset + done})", path);
            if (n == 0) throw new NativeErrorException($"pwrite({count - done} bytes at {offset + done}) wrote nothing", LinuxErrno.EIO, path);
            done += (int)n;
        }
    }

    /// <summary>fallocate(2) with any mode; returns 0 or -errno (an op's failure is recorded, not thrown).</summary>
    public static int TryFallocate(SafeFileHandle file, int mode, long offset, long length)
    {
        int rc;
        do rc = fallocate(file, mode, offset, length);
        while (rc < 0 && Marshal.GetLastPInvokeError() == LinuxErrno.EINTR);
        return rc < 0 ? -Marshal.GetLastPInvokeError() : 0;
    }

    /// <summary>ftruncate(2); returns 0 or -errno.</summary>
    public static int TryFtruncate(SafeFileHandle file, long length)
    {
        int rc;
        do rc = ftruncate(file, length);
        while (rc < 0 && Marshal.GetLastPInvokeError() == LinuxErrno.EINTR);
        return rc < 0 ? -Marshal.GetLastPInvokeError() : 0;
    }

    /// <summary>fsync(2); returns 0 or -errno.</summary>
    public static int TryFsync(SafeFileHandle file)
    {
        int rc;
        do rc = fsync(file);
        while (rc < 0 && Marshal.GetLastPInvokeError() == LinuxErrno.EINTR);
        return rc < 0 ? -Marshal.GetLastPInvokeError() : 0;
    }

    /// <summary>One pwrite(2) (no loop: a short write is the kernel's answer to record); bytes written or -errno.</summary>
    public static long TryPWrite(SafeFileHandle file, AlignedBuffer buffer, int count, long offset)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, buffer.Length);
        nint n;
        do n = pwrite(file, buffer.Pointer, (nuint)count, offset);
        while (n < 0 && Marshal.GetLastPInvokeError() == LinuxErrno.EINTR);
        return n < 0 ? -Marshal.GetLastPInvokeError() : n;
    }

    /// <summary>unlink(2); returns false when the file did not exist.</summary>
    public static bool Unlink(string path)
    {
        if (unlink(path) == 0) return true;
        var errno = Marshal.GetLastPInvokeError();
        if (errno == LinuxErrno.ENOENT) return false;
        throw new NativeErrorException("unlink", errno, path);
    }

    /// <summary>sync(2): flushes every filesystem and commits their journals.</summary>
    public static void Sync() => sync();

    /// <summary>syncfs(2) on the filesystem holding <paramref name="directory"/>: flushes it and commits its journal, and no other.</summary>
    public static void SyncFilesystem(string directory)
    {
        using var handle = Open(directory, OpenFlags.ReadOnly | OpenFlags.Directory | OpenFlags.CloseOnExec);
        if (syncfs(handle) < 0) throw NativeErrorException.FromLastError("syncfs", directory);
    }

    private static string Describe(OpenFlags flags)
    {
        var parts = new List<string> { flags.HasFlag(OpenFlags.ReadWrite) ? "O_RDWR" : "O_RDONLY" };
        if (flags.HasFlag(OpenFlags.Create)) parts.Add("O_CREAT");
        if (flags.HasFlag(OpenFlags.Exclusive)) parts.Add("O_EXCL");
        if (flags.HasFlag(OpenFlags.Truncate)) parts.Add("O_TRUNC");
        if (flags.HasFlag(OpenFlags.Direct)) parts.Add("O_DIRECT");
        if (flags.HasFlag(OpenFlags.Directory)) parts.Add("O_DIRECTORY");
        return string.Join('|', parts);
    }

    // open is variadic in C; on x86_64 SysV the mode travels in the same register either way,
    // and glibc's prologue only uses %al to decide whether to spill vector registers.
    [LibraryImport(LibC, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int open(string path, int flags, int mode);

    [LibraryImport(LibC, SetLastError = true)]
    private static partial int fallocate(SafeFileHandle fd, int mode, long offset, long len);

    [LibraryImport(LibC, SetLastError = true)]
    private static partial int ftruncate(SafeFileHandle fd, long length);

    [LibraryImport(LibC, SetLastError = true)]
    private static partial int fsync(SafeFileHandle fd);

    [LibraryImport(LibC, SetLastError = true)]
    private static partial int fstat(SafeFileHandle fd, Stat* buf);

    [LibraryImport(LibC, SetLastError = true)]
    private static partial nint pread(SafeFileHandle fd, void* buf, nuint count, long offset);

    [LibraryImport(LibC, SetLastError = true)]
    private static partial nint pwrite(SafeFileHandle fd, void* buf, nuint count, long offset);

    [LibraryImport(LibC, StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int unlink(string path);

    [LibraryImport(LibC)]
    private static partial void sync();

    [LibraryImport(LibC, SetLastError = true)]
    private static partial int syncfs(SafeFileHandle fd);
}
