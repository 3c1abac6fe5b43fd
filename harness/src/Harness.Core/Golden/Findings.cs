// What the golden model reports for one read-back pass: runs of sectors holding content no
// legal history of the workload could have left there, classified and tied to the IOs involved.
using System.Globalization;
using System.Text;
using Harness.Workload;

namespace Harness.Golden;

/// <summary>Why a sector's content is illegal.</summary>
public enum FindingClass
{
    /// <summary>
    /// Zeros where data belongs while the same fs block holds other written data (or over the
    /// prewritten pattern): the sub-block zeroing race of fs/direct-io.c that generic/240 catches.
    /// </summary>
    Zeroed,

    /// <summary>Old free-space content: a block reached the file without being initialised.</summary>
    Stale,

    /// <summary>Data of another IO, for another offset, or from another run.</summary>
    Foreign,

    /// <summary>A sector whose checksum fails, or that is nothing the harness wrote.</summary>
    Torn,

    /// <summary>An acknowledged write is not there: the old content, an older write, a block of zeros, or end of file.</summary>
    LostWrite,

    /// <summary>A write the kernel should have taken failed or came back short (errno and count in the finding).</summary>
    IoError,

    /// <summary>The file's size after the workload differs from what the plan and the acknowledged IOs imply.</summary>
    Size,

    /// <summary>The filesystem checker (run read-only after the cell) reported damage.</summary>
    Fsck,
}

/// <summary>
/// Consecutive illegal sectors of one class. Offsets are file offsets; <see cref="IosInFlight"/>
/// lists every planned IO touching the fs blocks involved (the writers that raced), by index.
/// </summary>
public sealed record Finding(
    FindingClass Class,
    long FirstSector,
    long SectorCount,
    long FirstFsBlock,
    long LastFsBlock,
    IReadOnlyList<int> IosInFlight,
    string Expected,
    string Observed)
{
    /// <summary>Most IO indices <see cref="ToString"/> prints before it abbreviates.</summary>
    private const int IosPrinted = 16;

    public long EndSector => FirstSector + SectorCount;

    /// <summary>File offset of the first bad byte.</summary>
    public long Offset => FirstSector * SectorFormat.SectorSize;

    /// <summary>Bad bytes, a whole number of sectors.</summary>
    public long Length => SectorCount * SectorFormat.SectorSize;

    public long EndOffset => Offset + Length;

    /// <summary>A fio-style verify failure: where, how long, which blocks, what was expected and seen, and the IOs.</summary>
    public override string ToString()
    {
        var inv = CultureInfo.InvariantCulture;
        var sectors = SectorCount == 1 ? $"sector {FirstSector}" : $"sectors {FirstSector}-{EndSector - 1}";
        var blocks = FirstFsBlock == LastFsBlock ? $"fs block {FirstFsBlock}" : $"fs blocks {FirstFsBlock}-{LastFsBlock}";
        var ios = new StringBuilder();
        ios.AppendJoin(", ", IosInFlight.Take(IosPrinted));
        if (IosInFlight.Count > IosPrinted) ios.Append(inv, $", ... ({IosInFlight.Count} IOs)");
        if (IosInFlight.Count == 0) ios.Append("none");
        return string.Create(inv,
            $"{Class} at file offset {Offset} (0x{Offset:x}), length {Length} ({sectors}), {blocks}\n" +
            $"  expected: {Expected}\n" +
            $"  observed: {Observed}\n" +
            $"  IOs touching {blocks}: {ios}");
    }
}

/// <summary>The golden model's verdict on one read-back pass.</summary>
public sealed record PassJudgement(string Pass, long SectorsChecked, IReadOnlyList<Finding> Findings)
{
    public bool Clean => Findings.Count == 0;

    /// <summary>Sectors covered by findings.</summary>
    public long IllegalSectors => Findings.Sum(f => f.SectorCount);
}
