// A file image built in memory the way the agent would find it after a run, so the golden model
// can be tested without a kernel: baseline first, then each IO's sectors in a chosen landing
// order, then whatever corruption a test injects; Read() decodes it into a ReadbackPass.
using Harness.Workload;

namespace Harness.Tests.Golden;

internal sealed class SyntheticDisk
{
    private const int Sector = SectorFormat.SectorSize;
    private const ulong DirtTag = 0xD1D1_D1D1_0000_0001UL;

    private readonly WorkloadPlan _plan;
    private readonly byte[] _bytes;
    private long _size;

    /// <summary>The prepared file: zeros, the prewritten pattern, or (Extending) nothing.</summary>
    public SyntheticDisk(WorkloadPlan plan)
    {
        _plan = plan;
        _bytes = new byte[plan.ReadbackLength];
        _size = plan.Spec.Preparation == FilePreparation.Extending ? 0 : plan.Spec.FileSize;
        if (plan.Spec.Preparation == FilePreparation.Written) RestoreBaseline(0, plan.Spec.FileSize / Sector);
    }

    public long SectorCount => _bytes.Length / Sector;

    /// <summary>Lands every IO in index order.</summary>
    public SyntheticDisk LandAll() => Land(Enumerable.Range(0, _plan.Ios.Count));

    /// <summary>Lands these IOs' data, later ones over earlier ones; a write past EOF extends the file.</summary>
    public SyntheticDisk Land(IEnumerable<int> order)
    {
        foreach (var index in order)
        {
            var io = _plan.Ios[index];
            SectorFormat.FillIo(_bytes.AsSpan((int)io.Offset, io.Length), _plan.RunTag, io);
            _size = Math.Max(_size, io.End);
        }
        return this;
    }

    /// <summary>Lands writers by writer index (AIO writes, then buffered-write ops: <see cref="WorkloadPlan.Writers"/>).</summary>
    public SyntheticDisk LandWriters(params int[] writers)
    {
        foreach (var index in writers)
        {
            var io = _plan.Writers[index];
            SectorFormat.FillIo(_bytes.AsSpan((int)io.Offset, io.Length), _plan.RunTag, io);
            _size = Math.Max(_size, io.End);
        }
        return this;
    }

    public SyntheticDisk Zero(long firstSector, long count)
    {
        Span(firstSector, count).Clear();
        return this;
    }

    /// <summary>Old free-space content, as the agent's dirtying pass leaves it.</summary>
    public SyntheticDisk Stale(long firstSector, long count)
    {
        for (var s = firstSector; s < firstSector + count; s++) SectorFormat.WriteStale(Span(s, 1), DirtTag, s);
        return this;
    }

    /// <summary>What the preparation left in these sectors: the prewritten pattern (Written) or zeros.</summary>
    public SyntheticDisk RestoreBaseline(long firstSector, long count)
    {
        for (var s = firstSector; s < firstSector + count; s++)
        {
            if (_plan.Spec.Preparation == FilePreparation.Written && s * Sector < _plan.Spec.FileSize)
                SectorFormat.WritePrewritten(Span(s, 1), _plan.RunTag, s * Sector);
            else
                Span(s, 1).Clear();
        }
        return this;
    }

    public SyntheticDisk CopySector(long from, long to)
    {
        Span(from, 1).CopyTo(Span(to, 1));
        return this;
    }

    /// <summary>Corrupts one byte of a sector; past the 36-byte header by default, so only the checksum notices.</summary>
    public SyntheticDisk FlipByte(long sector, int byteInSector = 100)
    {
        _bytes[sector * Sector + byteInSector] ^= 0xA5;
        return this;
    }

    /// <summary>ftruncate: bytes past the new size are gone (and read zero if the file grows again).</summary>
    public SyntheticDisk Truncate(long size)
    {
        if (size < _size) _bytes.AsSpan((int)size, (int)(Math.Min(_size, _bytes.Length) - size)).Clear();
        _size = size;
        return this;
    }

    /// <summary>Reads the file back as the agent does: decode each sector, Missing past EOF.</summary>
    public ReadbackPass Read(string name = "after-fsync")
    {
        var builder = new ObservationBuilder();
        var inFile = Math.Min(SectorCount, _size / Sector);
        for (var s = 0L; s < inFile; s++) builder.Add(s, SectorFormat.Decode(Span(s, 1)));
        builder.AddMissing(inFile, SectorCount - inFile);
        return new ReadbackPass(name, _size, builder.Build());
    }

    private Span<byte> Span(long firstSector, long count) => _bytes.AsSpan((int)(firstSector * Sector), (int)(count * Sector));
}
