// The planned IOs joined with what the kernel said about them, in sectors, plus an interval
// index so "which IOs touch these sectors" costs a binary search, not a scan of 64k IOs.
using Harness.Workload;

namespace Harness.Golden;

internal sealed class WriterIndex
{
    private const int Sector = SectorFormat.SectorSize;

    private readonly long[] _start;
    private readonly long[] _end;
    private readonly bool[] _acknowledged;
    private readonly long[] _ackEnd;
    private readonly long[] _submitSeq;
    private readonly long[] _completeSeq;
    private readonly int[] _byStart;
    private readonly long[] _sortedStarts;
    private readonly long _maxSectors;
    private readonly bool[] _recorded;
    private readonly long[] _ackEndByte;
    private readonly long[] _plannedEndByte;

    /// <summary>
    /// <paramref name="records"/> has one record per AIO write the agent submitted, plus one per
    /// buffered-write op (as <see cref="IoRecord"/> with the op's writer index and sequence numbers).
    /// </summary>
    public WriterIndex(WorkloadPlan plan, IReadOnlyList<IoRecord> records)
    {
        var planned = plan.Writers;
        var count = planned.Count;
        _ackEndByte = new long[count];
        _plannedEndByte = new long[count];
        _start = new long[count];
        _end = new long[count];
        _acknowledged = new bool[count];
        _ackEnd = new long[count];
        _submitSeq = new long[count];
        _completeSeq = new long[count];
        for (var i = 0; i < count; i++)
        {
            var io = planned[i];
            _plannedEndByte[i] = io.End;
            if (io.Index != i) throw new ArgumentException($"plan IO at position {i} has index {io.Index}; indices must be 0..{count - 1} in order", nameof(plan));
            if (io.Offset % Sector != 0 || io.Length % Sector != 0 || io.Length <= 0)
                throw new ArgumentException($"plan IO {i} (offset {io.Offset}, length {io.Length}) is not whole {Sector}-byte sectors", nameof(plan));
            _start[i] = io.Offset / Sector;
            _end[i] = io.End / Sector;
            _maxSectors = Math.Max(_maxSectors, _end[i] - _start[i]);
            // No record: the agent never reaped it (or never submitted it). Its data is allowed,
            // not required, and nothing reaped-before-submitted can be said about it.
            _completeSeq[i] = long.MaxValue;
        }

        var seen = new bool[count];
        foreach (var record in records)
        {
            if ((uint)record.Index >= (uint)count)
                throw new ArgumentException($"IO record index {record.Index} is outside the plan's {count} IOs", nameof(records));
            if (seen[record.Index]) throw new ArgumentException($"IO {record.Index} has two records", nameof(records));
            seen[record.Index] = true;
            // The kernel acknowledged result bytes from the IO's start (a short write took only
            // its head); only whole sectors of that head are required, the rest is merely allowed.
            var length = planned[record.Index].Length;
            var acknowledgedSectors = record.Result > 0 && record.Result <= length ? record.Result / Sector : 0;
            _acknowledged[record.Index] = acknowledgedSectors > 0;
            _ackEnd[record.Index] = _start[record.Index] + acknowledgedSectors;
            if (record.Result > 0)
            {
                _ackEndByte[record.Index] = planned[record.Index].Offset + Math.Min(record.Result, length);
                AcknowledgedEndByte = Math.Max(AcknowledgedEndByte, _ackEndByte[record.Index]);
            }
            _submitSeq[record.Index] = record.SubmitSeq;
            // A record that never completed (no reap after its submit) orders nothing.
            if (record.CompleteSeq > record.SubmitSeq) _completeSeq[record.Index] = record.CompleteSeq;
        }

        _recorded = seen;
        AnyUnrecorded = Array.IndexOf(seen, false) >= 0;

        _byStart = new int[count];
        for (var i = 0; i < count; i++) _byStart[i] = i;
        var starts = _start;
        Array.Sort(_byStart, (a, b) => starts[a] != starts[b] ? starts[a].CompareTo(starts[b]) : a.CompareTo(b));
        _sortedStarts = new long[count];
        for (var i = 0; i < count; i++) _sortedStarts[i] = _start[_byStart[i]];

        for (var i = 0; i < count; i++)
            if (_acknowledged[i]) AcknowledgedEndSector = Math.Max(AcknowledgedEndSector, _ackEnd[i]);
    }

    public int Count => _start.Length;

    /// <summary>Where the acknowledged writes say the file must reach, in sectors.</summary>
    public long AcknowledgedEndSector { get; }

    /// <summary>Where the acknowledged bytes (a short write's head included) end, in bytes: what i_size must reach.</summary>
    public long AcknowledgedEndByte { get; }

    public long StartSector(int io) => _start[io];

    public long EndSector(int io) => _end[io];

    public bool IsAcknowledged(int io) => _acknowledged[io];

    /// <summary>End (exclusive, sectors) of the part the kernel acknowledged: the IO's end, or less after a short write.</summary>
    public long AcknowledgedEnd(int io) => _ackEnd[io];

    /// <summary>Planned IOs that have no record at all (never reaped): they may have written anything in their range.</summary>
    public bool AnyUnrecorded { get; }

    public long SubmitSeq(int io) => _submitSeq[io];

    /// <summary>Whether the agent reported this writer at all.</summary>
    public bool IsRecorded(int io) => _recorded[io];

    /// <summary>End byte of what the kernel said this writer wrote (0 when it wrote nothing).</summary>
    public long AcknowledgedEndByteOf(int io) => _ackEndByte[io];

    /// <summary>End byte of the writer's planned range.</summary>
    public long PlannedEndByte(int io) => _plannedEndByte[io];

    /// <summary>When the IO was reaped; <see cref="long.MaxValue"/> when unknown, so it is never superseded.</summary>
    public long CompleteSeq(int io) => _completeSeq[io];

    /// <summary>Whether <paramref name="io"/> is a planned IO that writes all of [first, end).</summary>
    public bool Covers(int io, long first, long end) => (uint)io < (uint)_start.Length && _start[io] <= first && end <= _end[io];

    /// <summary>Acknowledged IOs ordered by first sector.</summary>
    public IEnumerable<int> AcknowledgedByStart() => _byStart.Where(io => _acknowledged[io]);

    /// <summary>Planned IOs writing any sector of [first, end), by index.</summary>
    public List<int> Touching(long first, long end)
    {
        var found = new List<int>();
        // Anything starting before first - longest IO ends before first.
        var at = LowerBound(_sortedStarts, first - _maxSectors + 1);
        for (; at < _sortedStarts.Length && _sortedStarts[at] < end; at++)
        {
            var io = _byStart[at];
            if (_end[io] > first) found.Add(io);
        }
        found.Sort();
        return found;
    }

    private static int LowerBound(long[] sorted, long value)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid] < value) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
