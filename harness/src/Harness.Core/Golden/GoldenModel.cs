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
    public static PassJudgement Judge(WorkloadPlan plan, IReadOnlyList<IoRecord> ios, ReadbackPass pass)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(ios);
        ArgumentNullException.ThrowIfNull(pass);

        var sectorCount = (plan.ReadbackLength + Sector - 1) / Sector;
        var writers = new WriterIndex(plan, ios);
        var rules = new SectorRules(plan, writers);
        var observed = new ObservedRuns(pass.Runs);
        var findings = new FindingCollector(plan, writers, rules);

        var preparedEnd = plan.Spec.Preparation == FilePreparation.Extending ? 0 : plan.Spec.FileSize / Sector;
        var requiredEnd = Math.Max(preparedEnd, writers.AcknowledgedEndSector);
        var acknowledged = writers.AcknowledgedByStart().ToArray();

        // Segment boundaries: wherever the set of acknowledged writers or the baseline changes.
        // Inside a segment the rule is uniform, so each observed run piece is checked once.
        var bounds = new List<long>(acknowledged.Length * 2 + 4) { 0, sectorCount, preparedEnd, requiredEnd };
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

            var expect = covering.TryPeek(out _, out var latestSubmit)
                ? new Expectation(ExpectKind.Writers, latestSubmit)
                : Expectation.Baseline(
                    first < preparedEnd
                        ? plan.Spec.Preparation == FilePreparation.Written ? ExpectKind.BaselinePrewritten : ExpectKind.BaselineZero
                        : first < requiredEnd ? ExpectKind.HoleZero : ExpectKind.ZeroOrEndOfFile);

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
        if (SizeFinding(plan, writers, rules, pass.FileSize) is { } size) all.Add(size);
        return new PassJudgement(pass.Name, sectorCount, all);
    }

    /// <summary>
    /// The size the file must have after the workload: the prepared size (none for extending),
    /// or more where acknowledged bytes (a short write's head included) reach beyond it. A
    /// failed write extends nothing. Only IOs with no record at all (never reaped) may have
    /// left it anywhere up to the plan's written end.
    /// </summary>
    public static (long Min, long Max) ExpectedFileSize(WorkloadPlan plan, IReadOnlyList<IoRecord> ios)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(ios);
        var writers = new WriterIndex(plan, ios);
        return ExpectedFileSize(plan, writers);
    }

    private static (long Min, long Max) ExpectedFileSize(WorkloadPlan plan, WriterIndex writers)
    {
        var prepared = plan.Spec.Preparation == FilePreparation.Extending ? 0 : plan.Spec.FileSize;
        var min = Math.Max(prepared, writers.AcknowledgedEndByte);
        return (min, writers.AnyUnrecorded ? Math.Max(min, plan.WrittenEnd) : min);
    }

    private static Finding? SizeFinding(WorkloadPlan plan, WriterIndex writers, SectorRules rules, long seen)
    {
        var (min, max) = ExpectedFileSize(plan, writers);
        if (seen >= min && seen <= max) return null;
        var expected = min == max ? $"{min}" : $"{min} to {max}";
        var edge = seen < min ? seen : max;
        var first = edge / Sector;
        var count = Math.Max(1, ((seen < min ? min : seen) - edge + Sector - 1) / Sector);
        var ios = writers.Touching(first, first + count);
        return new Finding(FindingClass.Size, first, count, rules.FsBlockIndex(first), rules.FsBlockIndex(first + count - 1), ios,
            string.Create(CultureInfo.InvariantCulture,
                $"file size {expected} bytes (prepared {(plan.Spec.Preparation == FilePreparation.Extending ? 0 : plan.Spec.FileSize)}, acknowledged writes end at {writers.AcknowledgedEndByte})"),
            string.Create(CultureInfo.InvariantCulture, $"file size {seen} bytes ({(seen < min ? "short" : "long")} by {Math.Abs(seen < min ? min - seen : seen - max)})"));
    }
}
