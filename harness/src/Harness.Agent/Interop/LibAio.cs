// Linux native AIO through libaio.so.1 (io_setup, io_submit, io_getevents, io_destroy), with
// struct iocb and struct io_event mirrored from /usr/include/libaio.h for x86_64 little endian.
// libaio returns -errno as the function result and leaves errno alone.
using System.Runtime.InteropServices;
using Harness.Workload;

namespace Harness.Agent.Interop;

/// <summary>aio_lio_opcode values (libaio.h <c>io_iocb_cmd_t</c>).</summary>
public enum IoCommand : short
{
    PRead = 0,
    PWrite = 1,
    Fsync = 2,
    Fdsync = 3,
}

/// <summary>
/// <c>struct iocb</c> for x86_64 little endian (PADDED(x, y) is "x, y"; PADDEDptr and PADDEDul are
/// the plain 8-byte field), with the <c>io_iocb_common</c> arm of the union inlined: 64 bytes.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct Iocb
{
    /// <summary>Returned untouched in <see cref="IoEvent.Data"/>; we store the queue slot.</summary>
    public ulong Data;
    public uint Key;
    public uint RwFlags;
    public IoCommand LioOpcode;
    public short ReqPrio;
    public int Fildes;
    // u.c (struct io_iocb_common)
    public ulong Buf;
    public ulong NBytes;
    public long Offset;
    public long Reserved;
    public uint Flags;
    public uint ResFd;
}

/// <summary><c>struct io_event</c> for x86_64: 32 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IoEvent
{
    public ulong Data;
    /// <summary>Address of the iocb this event completes.</summary>
    public ulong Obj;
    /// <summary>Bytes transferred, or -errno, as an unsigned long: read it as signed.</summary>
    public ulong Res;
    public ulong Res2;
}

/// <summary>An <c>io_context_t</c>; releasing it calls io_destroy, which waits for IOs still in flight.</summary>
public sealed class AioContextHandle : SafeHandle
{
    public AioContextHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    internal void Set(nint context) => SetHandle(context);

    protected override bool ReleaseHandle() => LibAio.Destroy(handle) == 0;
}

/// <summary>Typed wrappers over libaio. Retryable conditions come back as 0, anything else throws.</summary>
public static unsafe partial class LibAio
{
    private const string Library = "libaio.so.1";

    /// <summary>io_setup(2): a context that can hold <paramref name="maxEvents"/> IOs in flight.</summary>
    public static AioContextHandle Setup(int maxEvents)
    {
        nint context = 0; // io_setup requires *ctxp == 0 on entry
        var rc = io_setup(maxEvents, &context);
        if (rc < 0)
        {
            var hint = -rc switch
            {
                LinuxErrno.ENOSYS => "the kernel was built without CONFIG_AIO",
                LinuxErrno.EAGAIN => "maxevents exceeds /proc/sys/fs/aio-max-nr",
                _ => null,
            };
            throw new NativeErrorException($"io_setup({maxEvents})", -rc, hint: hint);
        }
        var handle = new AioContextHandle();
        handle.Set(context);
        return handle;
    }

    /// <summary>
    /// io_submit(2). Returns how many of the leading iocbs the kernel took; 0 on EAGAIN or EINTR
    /// (nothing taken, reap and retry). Any other error on the first iocb throws.
    /// </summary>
    internal static int Submit(AioContextHandle context, Iocb** iocbs, int count, string path)
    {
        var rc = io_submit(context, count, iocbs);
        if (rc >= 0) return rc;
        if (-rc is LinuxErrno.EAGAIN or LinuxErrno.EINTR) return 0;
        throw new NativeErrorException($"io_submit({count} iocbs)", -rc, path);
    }

    /// <summary>io_getevents(2) with no timeout: waits for at least <paramref name="minNr"/> events; 0 on EINTR.</summary>
    internal static int GetEvents(AioContextHandle context, int minNr, Span<IoEvent> events, string path)
    {
        fixed (IoEvent* first = events)
        {
            var rc = io_getevents(context, minNr, events.Length, first, null);
            if (rc >= 0) return rc;
            if (-rc == LinuxErrno.EINTR) return 0;
            throw new NativeErrorException($"io_getevents({minNr}, {events.Length})", -rc, path);
        }
    }

    internal static int Destroy(nint context) => io_destroy(context);

    [LibraryImport(Library)]
    private static partial int io_setup(int maxevents, nint* ctxp);

    [LibraryImport(Library)]
    private static partial int io_destroy(nint ctx);

    [LibraryImport(Library)]
    private static partial int io_submit(AioContextHandle ctx, nint nr, Iocb** ios);

    [LibraryImport(Library)]
    private static partial int io_getevents(AioContextHandle ctx, nint min_nr, nint nr, IoEvent* events, void* timeout);
}
