// What a stretch of sectors may legally hold, and how an illegal sector is classified.
// Rules work on a piece of one observed run at once: a run's sectors share kind, tag, IO and
// integrity, and their claimed offsets advance with the sector, so a clean file costs one check
// per run, not per sector.
using Harness.Workload;

namespace Harness.Golden;

/// <summary>What must be in a stretch of sectors when no acknowledged write covers it, or that one does.</summary>
internal enum ExpectKind
{
    /// <summary>Acknowledged writes cover it: one of the writers not superseded.</summary>
    Writers,
    /// <summary>Inside the prepared file, never written: a hole or unwritten extent reads zero.</summary>
    BaselineZero,
    /// <summary>Inside the prepared file, never written: the prewritten pattern.</summary>
    BaselinePrewritten,
    /// <summary>Past the prepared size but below the end acknowledged writes reached: a gap, reads zero.</summary>
    HoleZero,
    /// <summary>Past everything required: zero or end of file (an errored write may have extended it).</summary>
    ZeroOrEndOfFile,
    /// <summary>No acknowledged write covers it but a zeroing op (punch, zero-range, truncate) that succeeded does: zeros.</summary>
    OpZero,
}

/// <summary>
/// A stretch's rule. For <see cref="ExpectKind.Writers"/>, <see cref="MaxSubmit"/> is the latest
/// submit among the acknowledged writers covering it: a writer reaped before that lost for good.
/// </summary>
/// <remarks>
/// <see cref="MaxSubmit"/> also counts the start of every zeroing op that succeeded over the
/// stretch. <see cref="ZerosLegal"/>: a zeroing op over it was not superseded (it ended after that
/// latest start). <see cref="MissingLegal"/>: a truncate succeeded and the stretch lies at or past
/// the smallest legal file size, so it may be beyond end of file (the size check judges the size).
/// </remarks>
internal readonly record struct Expectation(ExpectKind Kind, long MaxSubmit, bool ZerosLegal = false, bool MissingLegal = false)
{
    public static Expectation Baseline(ExpectKind kind) => new(kind, long.MinValue);
}

internal sealed class SectorRules(WorkloadPlan plan, WriterIndex writers)
{
    private const int Sector = SectorFormat.SectorSize;
    private readonly long _prewrittenEnd = plan.Spec.Preparation == FilePreparation.Written ? plan.Spec.FileSize / Sector : 0;
    private readonly long _fsBlock = Math.Max(plan.Spec.FsBlockSize, Sector);

    /// <summary>Whether every sector of [first, end), all inside <paramref name="run"/> (null: not read), is legal.</summary>
    public bool IsLegal(long first, long end, SectorRun? run, Expectation expect)
    {
        var kind = run?.Kind ?? SectorKind.Missing;
        // Data of a writer of these sectors is legal unless a later acknowledged writer was
        // submitted after it was reaped. Writes in flight together may land in either order
        // (generic/240 keeps two in flight over one block), so any of them is correct. Errored
        // writers are allowed too: their data may or may not have landed.
        if (kind == SectorKind.Data) return IsGenuine(run!, first, end) && writers.CompleteSeq(run!.Io) >= expect.MaxSubmit;
        if (kind == SectorKind.Zero && expect.ZerosLegal) return true;
        if (kind == SectorKind.Missing && expect.MissingLegal) return true;
        return expect.Kind switch
        {
            ExpectKind.BaselinePrewritten => kind == SectorKind.Prewritten && IsOwnPrewritten(run!),
            ExpectKind.BaselineZero or ExpectKind.HoleZero => kind == SectorKind.Zero,
            ExpectKind.ZeroOrEndOfFile => kind is SectorKind.Zero or SectorKind.Missing,
            _ => false,
        };
    }

    /// <summary>Why sector <paramref name="sector"/> (already known illegal) is wrong.</summary>
    public FindingClass Classify(long sector, SectorRun? run, Expectation expect, ObservedRuns observed)
    {
        switch (run?.Kind ?? SectorKind.Missing)
        {
            case SectorKind.Missing:
                return FindingClass.LostWrite;
            case SectorKind.Zero:
                // Outside Writers zeros are only illegal over the prewritten pattern. Inside, zeros
                // next to written data in the same block are the sub-block zeroing signature; a
                // block with no data at all means the write never got there.
                if (expect.Kind is not (ExpectKind.Writers or ExpectKind.OpZero) || IsPrewrittenBaseline(sector)) return FindingClass.Zeroed;
                var (blockFirst, blockEnd) = FsBlockOf(sector);
                return observed.HoldsData(blockFirst, blockEnd, plan.RunTag) ? FindingClass.Zeroed : FindingClass.LostWrite;
            case SectorKind.Garbage:
                return FindingClass.Torn;
        }
        if (!run!.Intact) return FindingClass.Torn;
        return run.Kind switch
        {
            SectorKind.Stale => FindingClass.Stale,
            // The old content still where an acknowledged write should be: that write was lost.
            SectorKind.Prewritten => expect.Kind is ExpectKind.Writers or ExpectKind.OpZero && IsPrewrittenBaseline(sector) && IsOwnPrewritten(run)
                ? FindingClass.LostWrite
                : FindingClass.Foreign,
            // A real writer of this sector, but superseded: the later write (or zeroing op) was lost.
            _ => expect.Kind is ExpectKind.Writers or ExpectKind.OpZero && IsGenuine(run, sector, sector + 1) ? FindingClass.LostWrite : FindingClass.Foreign,
        };
    }

    /// <summary>Sectors [first, end) of the fs block holding <paramref name="sector"/>.</summary>
    public (long First, long End) FsBlockOf(long sector)
    {
        var block = sector * Sector / _fsBlock;
        return (block * _fsBlock / Sector, ((block + 1) * _fsBlock + Sector - 1) / Sector);
    }

    public long FsBlockIndex(long sector) => sector * Sector / _fsBlock;

    private bool IsPrewrittenBaseline(long sector) => sector < _prewrittenEnd;

    // This run's data, for these very sectors, written by an IO of the plan that covers them all.
    private bool IsGenuine(SectorRun run, long first, long end) =>
        run.Intact && run.Tag == plan.RunTag && run.FirstClaimedOffset == run.FirstSector * Sector
        && writers.Covers(run.Io, first, end) && run.FirstSectorInIo == run.FirstSector - writers.StartSector(run.Io);

    private bool IsOwnPrewritten(SectorRun run) =>
        run.Intact && run.Tag == plan.RunTag && run.FirstClaimedOffset == run.FirstSector * Sector;
}
