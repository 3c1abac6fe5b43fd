// The golden model: from a plan and what the kernel acknowledged, work out what every sector of
// the file may legally hold after the workload, and report every sector holding anything else.
// Plain computation, no I/O: every machine kind hands it the same agent report.
using System.Globalization;
using Harness.Workload;

namespace Harness.Golden;

/// <summary>
/// Judges read-back passes. A sector's legal content is a set, not one value: writes in flight
/// together over it may land in either order, so any of them is correct and a race between
/// them is never a false alarm. Only a writer reaped before another was submitted over the same
/// sector is ordered, and must lose. Never-written sectors hold the preparation's baseline.
/// </summary>
public static class GoldenModel
{
    private const int Sector = SectorFormat.SectorSize;

    /// <summary>
    /// Checks sectors [0, ceil(plan.ReadbackLength / 512)) of <paramref name="pass"/> against
    /// <paramref name="plan"/> and the agent's <paramref name="ios"/> (one record per IO it submitted).
    /// </summary>
    public static PassJudgement Judge(WorkloadPlan plan, IReadOnlyList<IoRecord> ios, ReadbackPass pass) => Judge(plan, ios, [], pass);

    /// <summary>
    /// As above, with the records of the plan's ops (case schema 2). An op zeroing a sector counts
    /// like a writer of zeros: it supersedes every write reaped before it started, and a write
    /// submitted after it ended supersedes it; in between, both contents are legal.
    /// </summary>
    public static PassJudgement Judge(WorkloadPlan plan, IReadOnlyList<IoRecord> ios, IReadOnlyList<OpRecord> ops, ReadbackPass pass)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(ios);
        ArgumentNullException.ThrowIfNull(ops);
        ArgumentNullException.ThrowIfNull(pass);

        var sectorCount = (plan.ReadbackLength + Sector - 1) / Sector;
        var writers = new WriterIndex(plan, WriterRecords(plan, ios, ops));
        var timeline = new OpTimeline(plan, ops, writers, sectorCount);
        var rules = new SectorRules(plan, writers);
        var observed = new ObservedRuns(pass.Runs);
        var findings = new FindingCollector(plan, writers, rules);

        var preparedEnd = plan.Spec.Preparation == FilePreparation.Extending ? 0 : plan.Spec.FileSize / Sector;
        var requiredEnd = Math.Max(preparedEnd, writers.AcknowledgedEndSector);
        var acknowledged = writers.AcknowledgedByStart().ToArray();

        // Segment boundaries: wherever the set of acknowledged writers or the baseline changes.
        // Inside a segment the rule is uniform, so each observed run piece is checked once.
        var bounds = new List<long>(acknowledged.Length * 2 + 4) { 0, sectorCount, preparedEnd, requiredEnd };
        bounds.AddRange(timeline.Bounds());
        foreach (var io in acknowledged)
        {
            bounds.Add(writers.StartSector(io));
            bounds.Add(writers.AcknowledgedEnd(io));
        }
        bounds.Sort();

        // Max-heap on submit sequence of the acknowledged writers covering the sweep point;
        // writers that ended are dropped lazily when they reach the top.
        var covering = new PriorityQueue<int, long>(Comparer<long>.Create((a, b) => b.CompareTo(a)));
        var nextWriter = 0;
        for (var k = 0; k + 1 < bounds.Count; k++)
        {
            var first = Math.Max(bounds[k], 0);
            var end = Math.Min(bounds[k + 1], sectorCount);
            if (first >= end) continue;

            while (nextWriter < acknowledged.Length && writers.StartSector(acknowledged[nextWriter]) <= first)
            {
                var io = acknowledged[nextWriter++];
                covering.Enqueue(io, writers.SubmitSeq(io));
            }
            while (covering.TryPeek(out var top, out _) && writers.AcknowledgedEnd(top) <= first) covering.Dequeue();

            // Done zeroing ops over this segment order like writers; any zeroer not superseded
            // (it ended after the latest start of anything done here) makes zeros legal.
            var hasWriters = covering.TryPeek(out _, out var latestSubmit);
            var latestStart = hasWriters ? latestSubmit : long.MinValue;
            var zeroedByOp = false;
            foreach (var z in timeline.Zeroers)
            {
                if (!z.Done || z.First > first || z.End <= first) continue;
                zeroedByOp = true;
                latestStart = Math.Max(latestStart, z.StartSeq);
            }
            var zerosLegal = timeline.Zeroers.Any(z => z.First <= first && first < z.End && z.EndSeq >= latestStart);
            var missingLegal = timeline.HasTruncate && first * Sector >= timeline.MinSize;
            var expect = hasWriters || zeroedByOp
                ? new Expectation(hasWriters ? ExpectKind.Writers : ExpectKind.OpZero, latestStart, zerosLegal, missingLegal)
                : Expectation.Baseline(
                    first < preparedEnd
                        ? plan.Spec.Preparation == FilePreparation.Written ? ExpectKind.BaselinePrewritten : ExpectKind.BaselineZero
                        : first < requiredEnd ? ExpectKind.HoleZero : ExpectKind.ZeroOrEndOfFile) with { ZerosLegal = zerosLegal, MissingLegal = missingLegal };

            for (var at = first; at < end;)
            {
                var run = observed.PieceAt(at, end, out var pieceEnd);
                if (!rules.IsLegal(at, pieceEnd, run, expect))
                {
                    // Rare path: sector by sector, since part of a piece may still be legal.
                    for (var sector = at; sector < pieceEnd; sector++)
                        if (!rules.IsLegal(sector, sector + 1, run, expect))
                            findings.Add(sector, rules.Classify(sector, run, expect, observed), expect, run);
                }
                at = pieceEnd;
            }
        }

        var all = findings.Finish().ToList();
        if (SizeFinding(plan, writers, timeline, rules, pass.FileSize) is { } size) all.Add(size);
        return new PassJudgement(pass.Name, sectorCount, all);
    }

    // Buffered-write ops are writers of self-describing sectors like the AIO writes: their
    // records join the IOs' under their writer index, start and end as submit and reap.
    private static IReadOnlyList<IoRecord> WriterRecords(WorkloadPlan plan, IReadOnlyList<IoRecord> ios, IReadOnlyList<OpRecord> ops)
    {
        if (!ops.Any(op => (uint)op.Index < (uint)plan.Ops.Count && plan.Ops[op.Index].Kind == OpKind.BufferedWrite)) return ios;
        return [.. ios, .. ops.Where(op => (uint)op.Index < (uint)plan.Ops.Count && plan.Ops[op.Index].Kind == OpKind.BufferedWrite)
            .Select(op => new IoRecord(plan.WriterOf(op.Index), op.StartSeq, op.EndSeq, op.Result, op.StartNs, op.EndNs))];
    }

    /// <summary>
    /// The size the file must have after the workload: the prepared size (none for extending),
    /// or more where acknowledged bytes (a short write's head included) reach beyond it. A
    /// failed write extends nothing. Only IOs with no record at all (never reaped) may have
    /// left it anywhere up to the plan's written end. With ops, a truncate sets the size and
    /// what is ordered after it extends it: the union over the truncates that can have run last.
    /// </summary>
    public static (long Min, long Max) ExpectedFileSize(WorkloadPlan plan, IReadOnlyList<IoRecord> ios)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(ios);
        var writers = new WriterIndex(plan, ios);
        var sizes = new OpTimeline(plan, [], writers, (plan.ReadbackLength + Sector - 1) / Sector).Sizes;
        return (sizes.Min(s => s.Min), sizes.Max(s => s.Max));
    }

    private static Finding? SizeFinding(WorkloadPlan plan, WriterIndex writers, OpTimeline timeline, SectorRules rules, long seen)
    {
        var sizes = timeline.Sizes;
        if (sizes.Any(s => seen >= s.Min && seen <= s.Max)) return null;
        // Report against the nearest legal range.
        var (min, max) = sizes.OrderBy(s => seen < s.Min ? s.Min - seen : seen - s.Max).First();
        var expected = sizes.Count > 1
            ? string.Join(" or ", sizes.Select(s => s.Min == s.Max ? $"{s.Min}" : $"{s.Min} to {s.Max}"))
            : min == max ? $"{min}" : $"{min} to {max}";
        var edge = seen < min ? seen : max;
        var first = edge / Sector;
        var count = Math.Max(1, ((seen < min ? min : seen) - edge + Sector - 1) / Sector);
        var ios = writers.Touching(first, first + count);
        var truncated = timeline.HasTruncate ? ", after the truncate ops" : "";
        return new Finding(FindingClass.Size, first, count, rules.FsBlockIndex(first), rules.FsBlockIndex(first + count - 1), ios,
            string.Create(CultureInfo.InvariantCulture,
                $"file size {expected} bytes (prepared {(plan.Spec.Preparation == FilePreparation.Extending ? 0 : plan.Spec.FileSize)}, acknowledged writes end at {writers.AcknowledgedEndByte}{truncated})"),
            string.Create(CultureInfo.InvariantCulture, $"file size {seen} bytes ({(seen < min ? "short" : "long")} by {Math.Abs(seen < min ? min - seen : seen - max)})"));
    }
}
