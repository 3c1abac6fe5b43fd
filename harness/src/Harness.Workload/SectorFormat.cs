// Every 512-byte sector the harness writes describes itself (fio's verify header idea), so a
// sector read back tells which IO of which run wrote it and for which offset.
//
//   0  u64 magic        8  u64 tag (run tag, or dirt tag for stale fill)
//  16  i32 io index    20  i32 sector index within the IO
//  24  i64 file offset of this sector (for stale fill: the dirt sector number)
//  32  u32 crc32c of the whole sector with this field zero
//  36  seeded fill up to 512
using System.Buffers.Binary;
using System.Numerics;

namespace Harness.Workload;

/// <summary>What a sector read back turned out to be.</summary>
public enum SectorKind
{
    /// <summary>All zero bytes.</summary>
    Zero,
    /// <summary>A workload IO's sector (see the header for which).</summary>
    Data,
    /// <summary>The preallocation pattern written before the workload (Written preparation).</summary>
    Prewritten,
    /// <summary>Free-space dirt written and deleted before the workload: old disk content.</summary>
    Stale,
    /// <summary>Not anything the harness wrote.</summary>
    Garbage,
    /// <summary>Beyond end of file: the read returned nothing.</summary>
    Missing,
}

/// <summary>A decoded sector header. <see cref="Intact"/> is false when the checksum fails.</summary>
public readonly record struct DecodedSector(SectorKind Kind, ulong Tag, int Io, int SectorInIo, long Offset, bool Intact);

/// <summary>Encodes and decodes self-describing sectors.</summary>
public static class SectorFormat
{
    public const int SectorSize = 512;
    public const ulong DataMagic = 0x3154_4144_4F49_4444UL;      // "DDIODAT1"
    public const ulong PrewrittenMagic = 0x3157_5250_4F49_4444UL; // "DDIOPRW1"
    public const ulong StaleMagic = 0x3154_4C53_4F49_4444UL;      // "DDIOSLT1"
    private const int CrcOffset = 32;
    private const int FillOffset = 36;

    public static void WriteData(Span<byte> sector, ulong runTag, int io, int sectorInIo, long fileOffset) =>
        Write(sector, DataMagic, runTag, io, sectorInIo, fileOffset);

    public static void WritePrewritten(Span<byte> sector, ulong runTag, long fileOffset) =>
        Write(sector, PrewrittenMagic, runTag, -1, 0, fileOffset);

    public static void WriteStale(Span<byte> sector, ulong dirtTag, long dirtSector) =>
        Write(sector, StaleMagic, dirtTag, -1, 0, dirtSector);

    /// <summary>Fills a buffer of whole sectors with an IO's data.</summary>
    public static void FillIo(Span<byte> buffer, ulong runTag, PlannedIo io)
    {
        ArgumentNullException.ThrowIfNull(io);
        for (var s = 0; s < io.Length / SectorSize; s++)
            WriteData(buffer.Slice(s * SectorSize, SectorSize), runTag, io.Index, s, io.Offset + (long)s * SectorSize);
    }

    private static void Write(Span<byte> sector, ulong magic, ulong tag, int io, int sectorInIo, long offset)
    {
        if (sector.Length != SectorSize) throw new ArgumentException("a sector is 512 bytes", nameof(sector));
        BinaryPrimitives.WriteUInt64LittleEndian(sector, magic);
        BinaryPrimitives.WriteUInt64LittleEndian(sector[8..], tag);
        BinaryPrimitives.WriteInt32LittleEndian(sector[16..], io);
        BinaryPrimitives.WriteInt32LittleEndian(sector[20..], sectorInIo);
        BinaryPrimitives.WriteInt64LittleEndian(sector[24..], offset);
        BinaryPrimitives.WriteUInt32LittleEndian(sector[CrcOffset..], 0);
        var fill = new SplitMix64(SeedMix.Mix(tag ^ magic, (ulong)offset ^ ((ulong)(uint)io << 40)));
        BinaryPrimitives.WriteUInt32LittleEndian(sector[FillOffset..], (uint)fill.NextUInt64());
        for (var at = FillOffset + 4; at < SectorSize; at += 8)
            BinaryPrimitives.WriteUInt64LittleEndian(sector[at..], fill.NextUInt64());
        BinaryPrimitives.WriteUInt32LittleEndian(sector[CrcOffset..], Checksum(sector));
    }

    public static DecodedSector Decode(ReadOnlySpan<byte> sector)
    {
        if (sector.Length != SectorSize) throw new ArgumentException("a sector is 512 bytes", nameof(sector));
        if (!sector.ContainsAnyExcept((byte)0)) return new DecodedSector(SectorKind.Zero, 0, -1, 0, 0, true);
        var magic = BinaryPrimitives.ReadUInt64LittleEndian(sector);
        var kind = magic switch
        {
            DataMagic => SectorKind.Data,
            PrewrittenMagic => SectorKind.Prewritten,
            StaleMagic => SectorKind.Stale,
            _ => SectorKind.Garbage,
        };
        if (kind == SectorKind.Garbage) return new DecodedSector(SectorKind.Garbage, 0, -1, 0, 0, false);
        var intact = BinaryPrimitives.ReadUInt32LittleEndian(sector[CrcOffset..]) == Checksum(sector);
        return new DecodedSector(
            kind,
            BinaryPrimitives.ReadUInt64LittleEndian(sector[8..]),
            BinaryPrimitives.ReadInt32LittleEndian(sector[16..]),
            BinaryPrimitives.ReadInt32LittleEndian(sector[20..]),
            BinaryPrimitives.ReadInt64LittleEndian(sector[24..]),
            intact);
    }

    // crc32c over the sector with the crc field read as zero; hardware CRC32 instructions.
    private static uint Checksum(ReadOnlySpan<byte> sector)
    {
        var crc = 0xFFFF_FFFFu;
        for (var at = 0; at < CrcOffset; at += 8)
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(sector[at..]));
        crc = BitOperations.Crc32C(crc, 0u);
        crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt32LittleEndian(sector[FillOffset..]));
        for (var at = FillOffset + 4; at < SectorSize; at += 8)
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(sector[at..]));
        return ~crc;
    }
}
