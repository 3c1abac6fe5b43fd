// Gathers illegal sectors, in file order, into findings: consecutive sectors of one class make
// one finding, described in a few words (what should be there, what is) for a developer.
using System.Globalization;
using Harness.Workload;

namespace Harness.Golden;

internal sealed class FindingCollector(WorkloadPlan plan, WriterIndex writers, SectorRules rules)
{
    /// <summary>Pieces named in Expected/Observed before the rest is summarised.</summary>
    private const int PiecesNamed = 3;

    private const int Sector = SectorFormat.SectorSize;

    private readonly List<Finding> _findings = [];
    private Open? _open;

    public void Add(long sector, FindingClass findingClass, Expectation expect, SectorRun? run)
    {
        if (_open is null || _open.Class != findingClass || _open.End != sector)
        {
            Close();
            _open = new Open(findingClass, sector);
        }
        _open.End = sector + 1;

        var expected = _open.Expected;
        if (expected.Count > 0 && expected[^1].Expect == expect && expected[^1].End == sector)
            expected[^1] = expected[^1] with { End = sector + 1 };
        else
            expected.Add(new ExpectedPiece(sector, sector + 1, expect));

        var observed = _open.Observed;
        if (observed.Count > 0 && ReferenceEquals(observed[^1].Run, run) && observed[^1].End == sector)
            observed[^1] = observed[^1] with { End = sector + 1 };
        else
            observed.Add(new ObservedPiece(sector, sector + 1, run));
    }

    public IReadOnlyList<Finding> Finish()
    {
        Close();
        return _findings.ToArray();
    }

    private void Close()
    {
        if (_open is not { } open) return;
        _open = null;
        var firstBlock = rules.FsBlockIndex(open.First);
        var lastBlock = rules.FsBlockIndex(open.End - 1);
        var ios = writers.Touching(rules.FsBlockOf(open.First).First, rules.FsBlockOf(open.End - 1).End);
        _findings.Add(new Finding(open.Class, open.First, open.End - open.First, firstBlock, lastBlock, ios,
            Summarise(open.Expected.Select(DescribeExpected)), Summarise(open.Observed.Select(DescribeObserved))));
    }

    // Adjacent pieces with the same words merge: "io 17 (sectors 0-3 of io)" and "io 17 (sectors 4-7 of io)" are one.
    private static string Summarise(IEnumerable<Described> pieces)
    {
        var merged = new List<Described>();
        foreach (var piece in pieces)
        {
            if (merged.Count > 0 && merged[^1].CanExtend(piece)) merged[^1] = merged[^1].Extend(piece);
            else merged.Add(piece);
        }
        var text = string.Join("; ", merged.Take(PiecesNamed).Select(p => p.Text));
        return merged.Count > PiecesNamed ? string.Create(CultureInfo.InvariantCulture, $"{text}; ... ({merged.Count} pieces)") : text;
    }

    private Described DescribeExpected(ExpectedPiece piece) => piece.Expect.Kind switch
    {
        ExpectKind.Writers when piece.Expect.ZerosLegal => LegalWriters(piece).Count == 0
            ? Described.Fixed(OpZeroText)
            : Described.Fixed(DescribeWriters(piece).Text + " or zeros (a zeroing op in flight with it)"),
        ExpectKind.Writers => DescribeWriters(piece),
        ExpectKind.OpZero => Described.Fixed(OpZeroText),
        ExpectKind.BaselineZero => Described.Fixed("baseline zero"),
        ExpectKind.BaselinePrewritten => Described.Fixed("baseline prewritten pattern"),
        ExpectKind.HoleZero => Described.Fixed("zeros (gap below the acknowledged end of file)"),
        _ => Described.Fixed("zeros or end of file"),
    };

    private const string OpZeroText = "zeros (a punch-hole, zero-range or truncate op done after every write here)";

    private List<int> LegalWriters(ExpectedPiece piece) => writers.Touching(piece.First, piece.First + 1)
        .Where(io => writers.IsAcknowledged(io) && piece.First < writers.AcknowledgedEnd(io) && writers.CompleteSeq(io) >= piece.Expect.MaxSubmit)
        .ToList();

    private Described DescribeWriters(ExpectedPiece piece)
    {
        var legal = LegalWriters(piece);
        if (legal.Count == 0) return Described.Fixed("an acknowledged write");
        if (legal.Count == 1)
        {
            var io = legal[0];
            var start = writers.StartSector(io);
            return Described.InIo($"io {io}", "", piece.First - start, piece.End - start);
        }
        // Writes that were in flight together: any of them may be the one that shows.
        var names = legal.Take(4).Select(io => string.Create(CultureInfo.InvariantCulture, $"io {io}")).ToList();
        var text = legal.Count <= 4
            ? string.Join(", ", names[..^1]) + " or " + names[^1]
            : string.Join(", ", names) + string.Create(CultureInfo.InvariantCulture, $" or {legal.Count - 4} more IOs");
        return Described.Fixed(text);
    }

    private Described DescribeObserved(ObservedPiece piece)
    {
        var run = piece.Run;
        switch (run?.Kind ?? SectorKind.Missing)
        {
            case SectorKind.Missing: return Described.Fixed("beyond end of file");
            case SectorKind.Zero: return Described.Fixed("zeros");
            case SectorKind.Stale: return Described.Fixed("stale free-space data");
            case SectorKind.Garbage: return Described.Fixed("garbage (no harness sector header)");
        }

        var qualifiers = new List<string>();
        if (run!.Tag != plan.RunTag) qualifiers.Add(string.Create(CultureInfo.InvariantCulture, $"from another run (tag 0x{run.Tag:x16})"));
        var claimed = run.At(piece.First).Offset;
        if (claimed != piece.First * Sector) qualifiers.Add(string.Create(CultureInfo.InvariantCulture, $"written for offset {claimed}"));
        if (!run.Intact) qualifiers.Add("checksum mismatch");
        var suffix = qualifiers.Count == 0 ? "" : ", " + string.Join(", ", qualifiers);
        if (run.Kind == SectorKind.Prewritten) return Described.Fixed("prewritten pattern" + suffix);
        var firstInIo = run.At(piece.First).SectorInIo;
        return Described.InIo(string.Create(CultureInfo.InvariantCulture, $"io {run.Io}"), suffix, firstInIo, firstInIo + piece.End - piece.First);
    }

    private sealed class Open(FindingClass findingClass, long first)
    {
        public FindingClass Class { get; } = findingClass;
        public long First { get; } = first;
        public long End { get; set; } = first;
        public List<ExpectedPiece> Expected { get; } = [];
        public List<ObservedPiece> Observed { get; } = [];
    }

    private readonly record struct ExpectedPiece(long First, long End, Expectation Expect);

    private readonly record struct ObservedPiece(long First, long End, SectorRun? Run);

    /// <summary>Words for a piece; an IO's sector range stays open so neighbours of the same IO merge.</summary>
    private sealed record Described(string Who, string Suffix, long FirstInIo, long EndInIo, bool HasRange)
    {
        public static Described Fixed(string text) => new(text, "", 0, 0, false);

        public static Described InIo(string who, string suffix, long firstInIo, long endInIo) => new(who, suffix, firstInIo, endInIo, true);

        public string Text => !HasRange
            ? Who
            : EndInIo - FirstInIo == 1
                ? string.Create(CultureInfo.InvariantCulture, $"{Who} (sector {FirstInIo} of io){Suffix}")
                : string.Create(CultureInfo.InvariantCulture, $"{Who} (sectors {FirstInIo}-{EndInIo - 1} of io){Suffix}");

        public bool CanExtend(Described next) =>
            Who == next.Who && Suffix == next.Suffix && HasRange == next.HasRange && (!HasRange || next.FirstInIo == EndInIo);

        public Described Extend(Described next) => this with { EndInIo = next.EndInIo };
    }
}
