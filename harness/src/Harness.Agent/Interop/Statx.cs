// statx(2) for the direct-IO alignment of a file (STATX_DIOALIGN, Linux 6.1) and the device it
// lives on, and statfs(2) for the filesystem's size. Layouts from linux/stat.h and
// bits/statfs.h on x86_64, asserted against gcc in InteropLayoutTests.
using System.Runtime.InteropServices;

namespace Harness.Agent.Interop;

/// <summary><c>struct statx</c> (linux/stat.h): 256 bytes; only the fields the agent reads are named.</summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
public struct StatxBuffer
{
    [FieldOffset(0)] public uint Mask;
    [FieldOffset(4)] public uint BlkSize;
    [FieldOffset(40)] public ulong Size;
    [FieldOffset(136)] public uint DevMajor;
    [FieldOffset(140)] public uint DevMinor;
    [FieldOffset(152)] public uint DioMemAlign;
    [FieldOffset(156)] public uint DioOffsetAlign;
}

/// <summary><c>struct statfs</c> (bits/statfs.h, x86_64): 120 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 120)]
public struct StatfsBuffer
{
    [FieldOffset(0)] public long Type;
    [FieldOffset(8)] public long BSize;
    [FieldOffset(16)] public ulong Blocks;
    [FieldOffset(24)] public ulong BFree;
    [FieldOffset(32)] public ulong BAvail;
}

/// <summary>What statx says about a file: its device and, when the kernel reports it, its O_DIRECT alignment (0 if not).</summary>
public readonly record struct StatxFacts(uint DevMajor, uint DevMinor, bool DioAlignReported, uint DioOffsetAlign, uint DioMemAlign);

public static unsafe partial class Posix
{
    /// <summary>statx mask bit for stx_dio_mem_align / stx_dio_offset_align (Linux 6.1, linux/stat.h).</summary>
    public const uint StatxDioAlign = 0x2000;

    private const uint StatxBasicStats = 0x7ff;
    private const int AtFdCwd = -100;

    /// <summary>statx(2) with STATX_DIOALIGN. Older kernels leave the bit unset in the returned mask.</summary>
    public static StatxFacts Statx(string path)
    {
        StatxBuffer buffer = default;
        int rc;
        do rc = statx(AtFdCwd, path, 0, StatxBasicStats | StatxDioAlign, &buffer);
        while (rc < 0 && Marshal.GetLastPInvokeError() == Workload.LinuxErrno.EINTR);
        if (rc < 0) throw NativeErrorException.FromLastError("statx(STATX_DIOALIGN)", path);
        var reported = (buffer.Mask & StatxDioAlign) != 0 && buffer.DioOffsetAlign != 0;
        return new StatxFacts(buffer.DevMajor, buffer.DevMinor, reported, buffer.DioOffsetAlign, buffer.DioMemAlign);
    }

    /// <summary>statfs(2): total and available bytes of the filesystem holding <paramref name="path"/>.</summary>
    public static (long Total, long Available) FilesystemSpace(string path)
    {
        StatfsBuffer buffer = default;
        if (statfs(path, &buffer) < 0) throw NativeErrorException.FromLastError("statfs", path);
        return ((long)buffer.Blocks * buffer.BSize, (long)buffer.BAvail * buffer.BSize);
    }

    [LibraryImport(LibC, EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int statx(int dirfd, string path, int flags, uint mask, StatxBuffer* buffer);

    [LibraryImport(LibC, EntryPoint = "statfs", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int statfs(string path, StatfsBuffer* buffer);
}
