// Reads a file back with O_DIRECT (from the disk, not the page cache) and decodes every
// 512-byte sector into run-length encoded observations for the judge.
using Harness.Agent.Interop;
using Harness.Workload;
using Microsoft.Win32.SafeHandles;

namespace Harness.Agent;

internal static class Readback
{
    public const int ChunkSize = 1 << 20;

    /// <summary>Decodes sectors [0, length rounded up to 512); sectors past EOF are Missing.</summary>
    public static ReadbackPass Read(SafeFileHandle file, string path, long length, string name, CancellationToken cancellationToken)
    {
        const int sectorSize = SectorFormat.SectorSize;
        var total = ChunkedWriter.RoundUpToSector(length);
        var observed = new ObservationBuilder();
        using var buffer = new AlignedBuffer((int)Math.Clamp(total, sectorSize, ChunkSize));
        long at = 0;
        while (at < total)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var want = (int)Math.Min(buffer.Length, total - at);
            var got = Posix.PRead(file, buffer, want, at, path);
            if (got == 0)
            {
                observed.AddMissing(at / sectorSize, (total - at) / sectorSize);
                break;
            }
            var span = buffer.Span;
            var whole = got / sectorSize * sectorSize;
            if (whole < got)
            {
                // EOF inside a sector (nothing we write does that): judge the bytes that exist.
                span[got..(whole + sectorSize)].Clear();
                whole += sectorSize;
            }
            for (var s = 0; s < whole; s += sectorSize)
                observed.Add((at + s) / sectorSize, SectorFormat.Decode(span.Slice(s, sectorSize)));
            at += whole;
        }
        return new ReadbackPass(name, Posix.FileSize(file, path), observed.Build());
    }
}
