// Whether a block device is still claimed by a filesystem. umount(8) succeeding does not mean the
// filesystem is gone: a lazy unmount, or a copy of the mount in another mount namespace (a
// container or `unshare` started while it was mounted), keeps the superblock alive, and a checker
// run then reads a live filesystem (xfs_repair -n reports its unwritten log as "valuable metadata
// changes", seen once in CI). A mounted filesystem holds its device exclusively, so an O_EXCL open
// of the device fails with EBUSY exactly while the superblock lives.
using System.Runtime.InteropServices;

namespace Harness.Interop;

/// <summary>Tells whether a block device is held exclusively (by a live filesystem).</summary>
public static partial class BlockDeviceClaim
{
    private const int ORdOnly = 0, OExcl = 0x80, OCloexec = 0x80000, Ebusy = 16;

    /// <summary>True while the device is held exclusively; false when it opens exclusively or is gone.</summary>
    public static bool IsClaimed(string device)
    {
        var fd = Open(device, ORdOnly | OExcl | OCloexec);
        if (fd >= 0)
        {
            _ = Close(fd);
            return false;
        }
        return Marshal.GetLastPInvokeError() == Ebusy;
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
