// The workload engine, fio-style queue / commit / reap: keep up to QueueDepth writes in
// flight, submitted in plan order, each from its own buffer of self-describing sectors.
// One counter orders every submit and every reap, so the judge can tell which writes overlapped.
using System.Runtime.InteropServices;
using Harness.Agent.Interop;
using Harness.Workload;
using Microsoft.Win32.SafeHandles;

namespace Harness.Agent;

/// <summary>Per-IO records in plan order, and the time from the first submit to the last reap.</summary>
internal sealed record WorkloadResult(IReadOnlyList<IoRecord> Ios, double Seconds)
{
    /// <summary>The ops issued beside the writes, in op order (case schema 2).</summary>
    public IReadOnlyList<OpRecord> Ops { get; init; } = [];
}

internal static class AioWorkload
{
    // When io_submit keeps saying EAGAIN with nothing in flight to wait for, back off this
    // long between tries, and give up after this many.
    private static readonly TimeSpan EmptyQueueBackoff = TimeSpan.FromMilliseconds(1);
    private const int EmptyQueueRetries = 5000;

    public static WorkloadResult Run(SafeFileHandle file, string path, WorkloadPlan plan, TimeProvider time, CancellationToken cancellationToken)
    {
        var ios = plan.Ios;
        var sequence = new SequenceCounter();
        var progress = new SubmitProgress();
        var origin = time.GetTimestamp();
        // Ops run on their own thread beside the loop below; they are joined before returning so
        // the fsync and read-backs that follow never overlap one.
        using var ops = OpRunner.Start(plan, file, path, sequence, progress, time, origin, cancellationToken);
        WorkloadResult result;
        try
        {
            result = ios.Count == 0 ? new WorkloadResult([], 0) : RunWrites(file, path, plan, time, origin, sequence, progress, cancellationToken);
        }
        finally
        {
            progress.End();
            ops?.Join(); // a throw from the loop still waits for the op in its system call
        }
        return ops is null ? result : result with { Ops = ops.Records() };
    }

    private static WorkloadResult RunWrites(SafeFileHandle file, string path, WorkloadPlan plan, TimeProvider time, long origin,
        SequenceCounter sequence, SubmitProgress progress, CancellationToken cancellationToken)
    {
        var ios = plan.Ios;
        var depth = Math.Min(plan.Spec.QueueDepth, ios.Count);
        var bufferSize = (int)RoundUp(ios.Max(io => io.Length), AlignedBuffer.DefaultAlignment);

        var records = new IoRecord[ios.Count];
        var submitSeq = new long[ios.Count];
        var submitNs = new long[ios.Count];
        var slotIo = new int[depth];
        var free = new Stack<int>(Enumerable.Range(0, depth).Reverse());
        var pending = new List<int>(depth); // prepared slots not yet taken by the kernel, in plan order
        var completions = new AioCompletion[depth];
        long firstSubmitNs = -1, lastReapNs = 0;
        int next = 0, inFlight = 0, completed = 0, emptyRetries = 0;

        var buffers = new AlignedBuffer[depth];
        try
        {
            for (var i = 0; i < depth; i++) buffers[i] = new AlignedBuffer(bufferSize);
            // Declared after the buffers so it is disposed first: io_destroy waits for IOs in flight.
            using var queue = new AioQueue(file, path, depth);
            while (completed < ios.Count)
            {
                cancellationToken.ThrowIfCancellationRequested();

                // Queue: give every free slot the next IO of the plan.
                while (next < ios.Count && free.Count > 0)
                {
                    var slot = free.Pop();
                    var io = ios[next];
                    SectorFormat.FillIo(buffers[slot].Span[..io.Length], plan.RunTag, io);
                    queue.PrepareWrite(slot, buffers[slot], io.Length, io.Offset);
                    slotIo[slot] = next++;
                    pending.Add(slot);
                }

                // Commit: sequence numbers are taken just before the io_submit that carries them;
                // slots the kernel did not take get fresh numbers on the next try.
                if (pending.Count > 0)
                {
                    var now = Nanoseconds(time, origin);
                    foreach (var slot in pending)
                    {
                        submitSeq[slotIo[slot]] = sequence.Next();
                        submitNs[slotIo[slot]] = now;
                    }
                    var taken = queue.Submit(CollectionsMarshal.AsSpan(pending));
                    if (taken > 0) progress.Submitted(slotIo[pending[taken - 1]] + 1);
                    pending.RemoveRange(0, taken);
                    inFlight += taken;
                    if (taken > 0 && firstSubmitNs < 0) firstSubmitNs = now;
                    if (taken == 0 && inFlight == 0)
                    {
                        if (++emptyRetries > EmptyQueueRetries)
                            throw new NativeErrorException("io_submit (kept returning EAGAIN with nothing in flight)", LinuxErrno.EAGAIN, path);
                        Thread.Sleep(EmptyQueueBackoff);
                        continue;
                    }
                    emptyRetries = 0;
                }

                // Reap: wait for at least one completion, take whatever else is ready.
                if (inFlight > 0)
                {
                    var got = queue.Reap(1, completions);
                    var now = Nanoseconds(time, origin);
                    for (var i = 0; i < got; i++)
                    {
                        var (slot, result) = completions[i];
                        var index = slotIo[slot];
                        records[index] = new IoRecord(index, submitSeq[index], sequence.Next(), result, submitNs[index], now);
                        free.Push(slot);
                    }
                    inFlight -= got;
                    completed += got;
                    if (got > 0) lastReapNs = now;
                }
            }
        }
        finally
        {
            foreach (var buffer in buffers) buffer?.Dispose();
        }
        return new WorkloadResult(records, (lastReapNs - firstSubmitNs) / 1e9);
    }

    private static long Nanoseconds(TimeProvider time, long origin) =>
        (long)((time.GetTimestamp() - origin) * (1e9 / time.TimestampFrequency));

    private static long RoundUp(long value, long unit) => (value + unit - 1) / unit * unit;
}
