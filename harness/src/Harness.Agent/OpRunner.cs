// The second thread of the workload (issue 13 part 2): issues the case's ops (buffered writes,
// fallocate, punch, zero-range, truncate, fsync) while the AIO loop keeps writes in flight.
// Each op waits until its IO of the AIO stream was submitted, then runs; its start and end
// take numbers from the counter the writes use, so the judge can order it against every write.
// A failing op is recorded (-errno), never fatal: the judge treats it as not done.
using Harness.Agent.Interop;
using Harness.Workload;
using Microsoft.Win32.SafeHandles;

namespace Harness.Agent;

/// <summary>One counter for every submit, reap, op start and op end, shared by both threads.</summary>
internal sealed class SequenceCounter
{
    private long _value;

    public long Next() => Interlocked.Increment(ref _value);
}

/// <summary>How far the AIO loop has submitted: ops wait on it.</summary>
internal sealed class SubmitProgress
{
    private readonly object _gate = new();
    private int _submitted;
    private bool _ended;

    /// <summary>IOs 0..<paramref name="count"/>-1 have been taken by io_submit.</summary>
    public void Submitted(int count)
    {
        lock (_gate)
        {
            if (count <= _submitted) return;
            _submitted = count;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>The AIO loop stopped (done, or failed): nothing more to wait for.</summary>
    public void End()
    {
        lock (_gate)
        {
            _ended = true;
            Monitor.PulseAll(_gate);
        }
    }

    public void WaitFor(int count, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            while (_submitted < count && !_ended)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Monitor.Wait(_gate, 100);
            }
        }
    }
}

internal sealed class OpRunner : IDisposable
{
    private const int FallocKeepSize = 0x01;  // linux/falloc.h
    private const int FallocPunchHole = 0x02;
    private const int FallocZeroRange = 0x10;

    private readonly WorkloadPlan _plan;
    private readonly SafeFileHandle _buffered;
    private readonly SafeFileHandle _direct;
    private readonly SequenceCounter _sequence;
    private readonly SubmitProgress _progress;
    private readonly TimeProvider _time;
    private readonly long _origin;
    private readonly OpRecord[] _records;
    private readonly Thread _thread;
    private readonly CancellationToken _cancellationToken;
    private Exception? _failure;
    private int _done;

    private OpRunner(WorkloadPlan plan, SafeFileHandle direct, SafeFileHandle buffered, SequenceCounter sequence, SubmitProgress progress,
        TimeProvider time, long origin, CancellationToken cancellationToken)
    {
        (_plan, _direct, _buffered, _sequence, _progress, _time, _origin, _cancellationToken) =
            (plan, direct, buffered, sequence, progress, time, origin, cancellationToken);
        _records = new OpRecord[plan.Ops.Count];
        _thread = new Thread(Run) { IsBackground = true, Name = "harness-ops" };
    }

    /// <summary>Starts the op thread; null when the plan has no ops. <paramref name="path"/> is opened again without O_DIRECT for buffered writes.</summary>
    public static OpRunner? Start(WorkloadPlan plan, SafeFileHandle direct, string path, SequenceCounter sequence, SubmitProgress progress,
        TimeProvider time, long origin, CancellationToken cancellationToken)
    {
        if (plan.Ops.Count == 0) return null;
        var buffered = Posix.Open(path, OpenFlags.ReadWrite | OpenFlags.CloseOnExec);
        var runner = new OpRunner(plan, direct, buffered, sequence, progress, time, origin, cancellationToken);
        runner._thread.Start();
        return runner;
    }

    /// <summary>Waits for the ops to finish (call after the AIO loop ended: waiting ops are released).</summary>
    public void Join()
    {
        _progress.End();
        _thread.Join();
    }

    /// <summary>The records of the ops issued, in op order; throws when the op thread itself failed.</summary>
    public IReadOnlyList<OpRecord> Records()
    {
        Join();
        if (_failure is not null) throw new AgentException($"op thread failed: {_failure.Message}");
        return _records.Take(_done).ToArray();
    }

    public void Dispose() => _buffered.Dispose();

    private void Run()
    {
        try
        {
            for (var i = 0; i < _plan.Ops.Count; i++)
            {
                var op = _plan.Ops[i];
                _progress.WaitFor(op.AfterIo + 1, _cancellationToken);
                _records[i] = Issue(op);
                _done = i + 1;
            }
        }
        catch (Exception e)
        {
            _failure = e;
        }
    }

    private OpRecord Issue(PlannedOp op)
    {
        AlignedBuffer? buffer = null;
        try
        {
            if (op.Kind == OpKind.BufferedWrite)
            {
                // Filled before the start number is taken: the op's interval covers the system call only.
                buffer = new AlignedBuffer((int)op.Length);
                SectorFormat.FillIo(buffer.Span[..(int)op.Length], _plan.RunTag, new PlannedIo(_plan.WriterOf(op.Index), op.Offset, (int)op.Length));
            }
            var startNs = Nanoseconds();
            var startSeq = _sequence.Next();
            long result = op.Kind switch
            {
                OpKind.BufferedWrite => Posix.TryPWrite(_buffered, buffer!, (int)op.Length, op.Offset),
                OpKind.Fallocate => Posix.TryFallocate(_direct, 0, op.Offset, op.Length),
                OpKind.FallocateKeepSize => Posix.TryFallocate(_direct, FallocKeepSize, op.Offset, op.Length),
                OpKind.PunchHole => Posix.TryFallocate(_direct, FallocPunchHole | FallocKeepSize, op.Offset, op.Length),
                OpKind.ZeroRange => Posix.TryFallocate(_direct, FallocZeroRange, op.Offset, op.Length),
                OpKind.Truncate => Posix.TryFtruncate(_direct, op.Offset),
                OpKind.Fsync => Posix.TryFsync(_direct),
                _ => throw new AgentException($"unknown op kind {op.Kind}"),
            };
            var endSeq = _sequence.Next();
            return new OpRecord(op.Index, startSeq, endSeq, result, startNs, Nanoseconds());
        }
        finally
        {
            buffer?.Dispose();
        }
    }

    private long Nanoseconds() => (long)((_time.GetTimestamp() - _origin) * (1e9 / _time.TimestampFrequency));
}
