// Native memory aligned for O_DIRECT: the kernel DMAs straight into it, so it must not move
// (no GC heap) and must start on a boundary the device accepts (we use 4096).
using System.Runtime.InteropServices;

namespace Harness.Agent.Interop;

/// <summary>A zeroed, aligned, fixed native buffer usable as an O_DIRECT or AIO target.</summary>
public sealed unsafe class AlignedBuffer : SafeHandle
{
    /// <summary>Page alignment: satisfies every logical block size up to 4 KiB.</summary>
    public const int DefaultAlignment = 4096;

    public AlignedBuffer(int length, int alignment = DefaultAlignment)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        Length = length;
        SetHandle((IntPtr)NativeMemory.AlignedAlloc((nuint)length, (nuint)alignment));
        Span.Clear();
    }

    public int Length { get; }

    public override bool IsInvalid => handle == IntPtr.Zero;

    public Span<byte> Span
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return new Span<byte>((void*)handle, Length);
        }
    }

    /// <summary>Start address, for Interop only; valid while this buffer is alive.</summary>
    internal void* Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return (void*)handle;
        }
    }

    protected override bool ReleaseHandle()
    {
        NativeMemory.AlignedFree((void*)handle);
        return true;
    }
}
