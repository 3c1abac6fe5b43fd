// What a read-back saw, run-length encoded so a 64 MiB file comes back as a few records
// (a clean file is one run per IO) over a slow guest channel.
namespace Harness.Workload;

/// <summary>
/// Consecutive sectors that decode alike: same kind, and for Data/Prewritten the same tag,
/// IO and integrity, with claimed offsets advancing one sector at a time.
/// </summary>
public sealed record SectorRun(long FirstSector, int Count, SectorKind Kind, ulong Tag, int Io, int FirstSectorInIo, long FirstClaimedOffset, bool Intact)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public long EndSector => FirstSector + Count;

    /// <summary>The decoded header of the i-th sector of this run.</summary>
    public DecodedSector At(long sector)
    {
        var i = sector - FirstSector;
        return Kind is SectorKind.Data or SectorKind.Prewritten
            ? new DecodedSector(Kind, Tag, Io, FirstSectorInIo + (int)i, FirstClaimedOffset + i * SectorFormat.SectorSize, Intact)
            : new DecodedSector(Kind, Tag, Io, 0, 0, Intact);
    }
}

/// <summary>Appends decoded sectors in file order and merges them into runs.</summary>
public sealed class ObservationBuilder
{
    private readonly List<SectorRun> _runs = [];
    private SectorRun? _open;

    public void Add(long sector, DecodedSector decoded)
    {
        if (_open is { } open && open.EndSector == sector && Continues(open, decoded))
        {
            _open = open with { Count = open.Count + 1 };
            return;
        }
        Flush();
        _open = new SectorRun(sector, 1, decoded.Kind, decoded.Tag, decoded.Io, decoded.SectorInIo, decoded.Offset, decoded.Intact);
    }

    public void AddMissing(long firstSector, long count)
    {
        for (var s = firstSector; s < firstSector + count; s++)
            Add(s, new DecodedSector(SectorKind.Missing, 0, -1, 0, 0, false));
    }

    public IReadOnlyList<SectorRun> Build()
    {
        Flush();
        return _runs.ToArray();
    }

    private void Flush()
    {
        if (_open is not null) _runs.Add(_open);
        _open = null;
    }

    private static bool Continues(SectorRun open, DecodedSector next)
    {
        if (open.Kind != next.Kind) return false;
        if (open.Kind is not (SectorKind.Data or SectorKind.Prewritten)) return true;
        var expected = open.At(open.EndSector);
        return next.Tag == open.Tag && next.Io == open.Io && next.Intact == open.Intact
            && next.Offset == expected.Offset && next.SectorInIo == expected.SectorInIo;
    }
}
