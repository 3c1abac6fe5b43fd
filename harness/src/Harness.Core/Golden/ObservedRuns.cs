// The read-back's run-length-encoded sectors, walked forward in file order by the judge, with a
// random-access lookup for "does this fs block hold written data" when classifying zeros.
using Harness.Workload;

namespace Harness.Golden;

internal sealed class ObservedRuns
{
    private readonly SectorRun[] _runs;
    private int _cursor;

    public ObservedRuns(IReadOnlyList<SectorRun> runs)
    {
        // The agent emits runs in order without gaps; be robust to anything else rather than
        // throw: a sector no run mentions was not read, which is what Missing means.
        _runs = runs.Where(r => r.Count > 0 && r.FirstSector >= 0).ToArray();
        for (var i = 1; i < _runs.Length; i++)
        {
            if (_runs[i].FirstSector < _runs[i - 1].FirstSector)
            {
                Array.Sort(_runs, (a, b) => a.FirstSector.CompareTo(b.FirstSector));
                break;
            }
        }
    }

    /// <summary>
    /// The run holding sector <paramref name="at"/> (null: nothing was read there) and where that
    /// piece ends, at most <paramref name="end"/>. Calls must move forward through the file.
    /// </summary>
    public SectorRun? PieceAt(long at, long end, out long pieceEnd)
    {
        while (_cursor < _runs.Length && _runs[_cursor].EndSector <= at) _cursor++;
        if (_cursor < _runs.Length && _runs[_cursor].FirstSector <= at)
        {
            pieceEnd = Math.Min(end, _runs[_cursor].EndSector);
            return _runs[_cursor];
        }
        pieceEnd = _cursor < _runs.Length ? Math.Min(end, _runs[_cursor].FirstSector) : end;
        return null;
    }

    /// <summary>Whether any sector of [first, end) reads as workload data of this run.</summary>
    public bool HoldsData(long first, long end, ulong runTag)
    {
        int lo = 0, hi = _runs.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_runs[mid].EndSector <= first) lo = mid + 1;
            else hi = mid;
        }
        for (var i = lo; i < _runs.Length && _runs[i].FirstSector < end; i++)
            if (_runs[i].Kind == SectorKind.Data && _runs[i].Tag == runTag && _runs[i].EndSector > first) return true;
        return false;
    }
}
