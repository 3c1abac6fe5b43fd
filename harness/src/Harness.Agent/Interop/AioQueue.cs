// A fixed set of AIO slots on one O_DIRECT file: prepare a slot, submit slots, reap completions.
// It keeps the iocbs in native memory and pins each slot's buffer while the kernel owns it,
// so code outside Interop drives AIO without seeing a pointer or a raw fd.
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Harness.Agent.Interop;

/// <summary>One reaped IO: the slot it used and its result (bytes, or -errno).</summary>
public readonly record struct AioCompletion(int Slot, long Result);

/// <summary>An io_context with <see cref="Depth"/> slots writing to one file.</summary>
public sealed unsafe class AioQueue : IDisposable
{
    private readonly SafeFileHandle _file;
    private readonly string _path;
    private readonly AioContextHandle _context;
    private readonly Iocb* _iocbs;
    private readonly Iocb** _submitList;
    private readonly IoEvent[] _events;
    private readonly AlignedBuffer?[] _prepared;
    private readonly bool[] _inFlight;
    private bool _fileAddRef;
    private bool _disposed;

    public AioQueue(SafeFileHandle file, string path, int depth)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(depth);
        _file = file;
        _path = path;
        Depth = depth;
        _events = new IoEvent[depth];
        _prepared = new AlignedBuffer?[depth];
        _inFlight = new bool[depth];
        _iocbs = (Iocb*)NativeMemory.AllocZeroed((nuint)depth, (nuint)sizeof(Iocb));
        _submitList = (Iocb**)NativeMemory.AllocZeroed((nuint)depth, (nuint)sizeof(Iocb*));
        try
        {
            // The iocbs carry the raw fd: keep it from being closed while this queue lives.
            _file.DangerousAddRef(ref _fileAddRef);
            _context = LibAio.Setup(depth);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int Depth { get; }

    /// <summary>Makes <paramref name="slot"/> a pwrite of the first <paramref name="length"/> bytes of <paramref name="buffer"/>.</summary>
    public void PrepareWrite(int slot, AlignedBuffer buffer, int length, long offset)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, buffer.Length);
        if (_inFlight[slot]) throw new InvalidOperationException($"AIO slot {slot} is still in flight");
        _iocbs[slot] = new Iocb
        {
            Data = (ulong)slot,
            LioOpcode = IoCommand.PWrite,
            Fildes = (int)_file.DangerousGetHandle(),
            Buf = (ulong)buffer.Pointer,
            NBytes = (ulong)length,
            Offset = offset,
        };
        _prepared[slot] = buffer;
    }

    /// <summary>
    /// Submits prepared slots in the given order in one io_submit. Returns how many leading
    /// slots the kernel took (possibly fewer, or 0 when it asked to retry later).
    /// </summary>
    public int Submit(ReadOnlySpan<int> slots)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (slots.Length > Depth) throw new ArgumentException("more slots than the queue depth", nameof(slots));
        for (var i = 0; i < slots.Length; i++)
        {
            if (_prepared[slots[i]] is null || _inFlight[slots[i]])
                throw new InvalidOperationException($"AIO slot {slots[i]} is not prepared");
            _submitList[i] = &_iocbs[slots[i]];
        }
        var taken = LibAio.Submit(_context, _submitList, slots.Length, _path);
        for (var i = 0; i < taken; i++)
        {
            // The kernel now writes from this buffer: it must outlive the IO even if disposed early.
            var added = false;
            _prepared[slots[i]]!.DangerousAddRef(ref added);
            _inFlight[slots[i]] = true;
        }
        return taken;
    }

    /// <summary>Waits for at least <paramref name="minNr"/> completions; returns how many were written to <paramref name="into"/>.</summary>
    public int Reap(int minNr, Span<AioCompletion> into)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var max = Math.Min(into.Length, _events.Length);
        var got = LibAio.GetEvents(_context, minNr, _events.AsSpan(0, max), _path);
        for (var i = 0; i < got; i++)
        {
            var slot = (int)_events[i].Data;
            into[i] = new AioCompletion(slot, unchecked((long)_events[i].Res));
            Release(slot);
        }
        return got;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        // io_destroy blocks until every IO still in flight has completed (Linux >= 4.x,
        // "aio: block io_destroy() until all context requests are completed"), so only
        // after it may the buffers and iocbs go.
        _context?.Dispose();
        for (var slot = 0; slot < Depth; slot++)
            if (_inFlight[slot]) Release(slot);
        NativeMemory.Free(_iocbs);
        NativeMemory.Free(_submitList);
        if (_fileAddRef) _file.DangerousRelease();
    }

    private void Release(int slot)
    {
        _inFlight[slot] = false;
        _prepared[slot]?.DangerousRelease();
        _prepared[slot] = null;
    }
}
