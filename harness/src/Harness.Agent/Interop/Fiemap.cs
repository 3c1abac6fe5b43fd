// FIEMAP (ioctl FS_IOC_FIEMAP, Documentation/filesystems/fiemap.rst): where a file's bytes sit
// on its device. Used to measure how much of the target file was allocated from the dirtied
// free space. struct fiemap is 32 bytes and struct fiemap_extent 56 (linux/fiemap.h), asserted
// against gcc in InteropLayoutTests.
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Harness.Agent.Interop;

/// <summary><c>struct fiemap</c> without its flexible extent array.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FiemapHeader
{
    public ulong Start;
    public ulong Length;
    public uint Flags;
    public uint MappedExtents;
    public uint ExtentCount;
    public uint Reserved;
}

/// <summary><c>struct fiemap_extent</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FiemapExtent
{
    public ulong Logical;
    public ulong Physical;
    public ulong Length;
    private readonly ulong _reserved64a;
    private readonly ulong _reserved64b;
    public uint Flags;
    private readonly uint _reserved0;
    private readonly uint _reserved1;
    private readonly uint _reserved2;
}

/// <summary>One mapped extent of a file: physical byte range on the device (or fs address space) and its flags.</summary>
public readonly record struct PhysicalExtent(long Logical, long Physical, long Length, uint Flags)
{
    /// <summary>FIEMAP_EXTENT_LAST.</summary>
    public const uint Last = 0x1;

    /// <summary>FIEMAP_EXTENT_UNKNOWN | DELALLOC | ENCODED | DATA_INLINE | NOT_ALIGNED: no comparable physical address.</summary>
    public const uint NotComparable = 0x2 | 0x4 | 0x8 | 0x200 | 0x100;

    public long End => Physical + Length;
}

public static unsafe partial class Posix
{
    /// <summary>_IOWR('f', 11, struct fiemap).</summary>
    public const uint FsIocFiemap = 0xC020660B;

    private const uint FiemapFlagSync = 0x1;
    private const int ExtentsPerCall = 256;

    /// <summary>
    /// Every extent of the open file (FIEMAP_FLAG_SYNC, so delayed allocations are placed first).
    /// Throws <see cref="NativeErrorException"/> with EOPNOTSUPP/ENOTTY where the filesystem has no FIEMAP.
    /// </summary>
    public static IReadOnlyList<PhysicalExtent> Fiemap(SafeFileHandle file, string path)
    {
        var size = sizeof(FiemapHeader) + ExtentsPerCall * sizeof(FiemapExtent);
        var buffer = (byte*)NativeMemory.AllocZeroed((nuint)size);
        try
        {
            var extents = new List<PhysicalExtent>();
            ulong start = 0;
            while (true)
            {
                new Span<byte>(buffer, size).Clear();
                var header = (FiemapHeader*)buffer;
                header->Start = start;
                header->Length = ulong.MaxValue;
                header->Flags = FiemapFlagSync;
                header->ExtentCount = ExtentsPerCall;
                int rc;
                do rc = ioctl(file, FsIocFiemap, buffer);
                while (rc < 0 && Marshal.GetLastPInvokeError() == Workload.LinuxErrno.EINTR);
                if (rc < 0) throw NativeErrorException.FromLastError("ioctl(FS_IOC_FIEMAP)", path);
                var mapped = (int)header->MappedExtents;
                if (mapped == 0) return extents;
                var array = (FiemapExtent*)(buffer + sizeof(FiemapHeader));
                for (var i = 0; i < mapped; i++)
                {
                    var e = array[i];
                    extents.Add(new PhysicalExtent((long)e.Logical, (long)e.Physical, (long)e.Length, e.Flags));
                }
                var last = array[mapped - 1];
                if ((last.Flags & PhysicalExtent.Last) != 0) return extents;
                start = last.Logical + last.Length;
            }
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    [LibraryImport(LibC, EntryPoint = "ioctl", SetLastError = true)]
    private static partial int ioctl(SafeFileHandle fd, nuint request, void* arg);
}
