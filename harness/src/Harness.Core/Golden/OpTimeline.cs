// The ops of a workload (case schema 2) as the judge needs them: which ones zero sectors and
// when they ran on the writes' sequence counter, and what final file sizes the ops and the
// writes together allow. An op that failed is not done: it changed nothing. An op with no
// record (the agent stopped first) may have done its work or not: allowed, never required.
using Harness.Workload;

namespace Harness.Golden;

internal sealed class OpTimeline
{
    private const int Sector = SectorFormat.SectorSize;

    /// <summary>A zeroing op: sectors [First, End) read zeros after it, unless a later write covers them.</summary>
    public sealed record Zeroer(int Op, long First, long End, long StartSeq, long EndSeq, bool Done);

    private readonly List<Zeroer> _zeroers = [];
    private readonly List<(long Min, long Max)> _sizes = [];

    public OpTimeline(WorkloadPlan plan, IReadOnlyList<OpRecord> ops, WriterIndex writers, long sectorCount)
    {
        var records = new OpRecord?[plan.Ops.Count];
        foreach (var record in ops)
        {
            if ((uint)record.Index >= (uint)plan.Ops.Count)
                throw new ArgumentException($"op record index {record.Index} is outside the plan's {plan.Ops.Count} ops", nameof(ops));
            if (records[record.Index] is not null) throw new ArgumentException($"op {record.Index} has two records", nameof(ops));
            records[record.Index] = record;
        }
        foreach (var op in plan.Ops.Where(o => o.Zeroes))
        {
            var record = records[op.Index];
            if (record is { Result: < 0 }) continue; // failed: not done
            var first = op.Kind == OpKind.Truncate ? (op.Offset + Sector - 1) / Sector : op.Offset / Sector;
            var end = op.Kind == OpKind.Truncate ? Math.Max(first, sectorCount) : (op.End + Sector - 1) / Sector;
            if (end <= first) continue;
            _zeroers.Add(record is null
                ? new Zeroer(op.Index, first, end, long.MinValue, long.MaxValue, Done: false)
                : new Zeroer(op.Index, first, end, record.StartSeq, record.EndSeq, Done: true));
        }

        HasTruncate = plan.Ops.Any(o => o.Kind == OpKind.Truncate && records[o.Index] is { Result: >= 0 });
        ComputeSizes(plan, records, writers);
        MinSize = _sizes.Min(s => s.Min);
    }

    public IReadOnlyList<Zeroer> Zeroers => _zeroers;

    /// <summary>Whether a truncate succeeded: sectors past the smallest legal size may then be beyond EOF.</summary>
    public bool HasTruncate { get; }

    /// <summary>The smallest file size any legal order of the writes and ops leaves.</summary>
    public long MinSize { get; }

    /// <summary>Legal final sizes: a union of ranges, one per op that can have set the size last.</summary>
    public IReadOnlyList<(long Min, long Max)> Sizes => _sizes;

    /// <summary>Sector boundaries where the zeroers' rule changes.</summary>
    public IEnumerable<long> Bounds() => _zeroers.SelectMany(z => new[] { z.First, z.End })
        .Concat(HasTruncate ? [(MinSize + Sector - 1) / Sector] : []);

    // Size: a truncate sets it, and every extending write or op ordered after the truncate
    // raises it to its end. The truncate that ran last is one no other done truncate started
    // after it ended; writers and ops that overlapped it in time may be on either side.
    private void ComputeSizes(WorkloadPlan plan, OpRecord?[] records, WriterIndex writers)
    {
        var prepared = plan.Spec.Preparation == FilePreparation.Extending ? 0 : plan.Spec.FileSize;
        // (start, end, required end if done, possible end) of everything that can extend the file.
        var extenders = new List<(long Start, long EndSeq, long DoneEnd, long MaybeEnd)>();
        for (var w = 0; w < writers.Count; w++)
        {
            if (!writers.IsRecorded(w))
                extenders.Add((long.MinValue, long.MaxValue, 0, writers.PlannedEndByte(w)));
            else if (writers.AcknowledgedEndByteOf(w) > 0)
                extenders.Add((writers.SubmitSeq(w), writers.CompleteSeq(w), writers.AcknowledgedEndByteOf(w), writers.AcknowledgedEndByteOf(w)));
        }
        foreach (var op in plan.Ops.Where(o => o.Extends && o.Kind != OpKind.BufferedWrite))
        {
            if (records[op.Index] is not { } r) extenders.Add((long.MinValue, long.MaxValue, 0, op.End));
            else if (r.Result >= 0) extenders.Add((r.StartSeq, r.EndSeq, op.End, op.End));
        }

        var truncates = plan.Ops.Where(o => o.Kind == OpKind.Truncate && records[o.Index] is { Result: >= 0 })
            .Select(o => (Size: o.Offset, Record: records[o.Index]!)).ToList();
        if (truncates.Count == 0)
        {
            var min = Math.Max(prepared, extenders.Count == 0 ? 0 : extenders.Max(e => e.DoneEnd));
            var max = Math.Max(min, extenders.Count == 0 ? 0 : extenders.Max(e => e.MaybeEnd));
            _sizes.Add((min, max));
            return;
        }
        foreach (var (size, t) in truncates)
        {
            if (truncates.Any(o => o.Record.StartSeq > t.EndSeq)) continue; // another truncate surely came later
            var min = extenders.Where(e => e.Start > t.EndSeq).Select(e => e.DoneEnd).DefaultIfEmpty(0).Max();
            var max = extenders.Where(e => e.EndSeq > t.StartSeq).Select(e => e.MaybeEnd).DefaultIfEmpty(0).Max();
            _sizes.Add((Math.Max(size, min), Math.Max(size, Math.Max(min, max))));
        }
    }
}
