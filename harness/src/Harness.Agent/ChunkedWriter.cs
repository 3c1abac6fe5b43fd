// Writes a long run of self-describing sectors from the start of a file in big O_DIRECT
// chunks: used for free-space dirt and for the Written preparation.
using Harness.Agent.Interop;
using Harness.Workload;
using Microsoft.Win32.SafeHandles;

namespace Harness.Agent;

/// <summary>Fills one 512-byte sector that will land at <paramref name="fileOffset"/>.</summary>
internal delegate void SectorFill(Span<byte> sector, long fileOffset);

internal static class ChunkedWriter
{
    public const int ChunkSize = 1 << 20;

    /// <summary>Writes <paramref name="length"/> bytes (whole sectors) from offset 0.</summary>
    public static void Write(SafeFileHandle file, string path, long length, SectorFill fill, CancellationToken cancellationToken)
    {
        if (length <= 0) return;
        using var buffer = new AlignedBuffer((int)Math.Min(ChunkSize, length));
        for (long at = 0; at < length; at += buffer.Length)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = (int)Math.Min(buffer.Length, length - at);
            var span = buffer.Span;
            for (var s = 0; s < count; s += SectorFormat.SectorSize)
                fill(span.Slice(s, SectorFormat.SectorSize), at + s);
            Posix.PWriteAll(file, buffer, count, at, path);
        }
    }

    public static long RoundUpToSector(long bytes) =>
        (bytes + SectorFormat.SectorSize - 1) / SectorFormat.SectorSize * SectorFormat.SectorSize;
}
