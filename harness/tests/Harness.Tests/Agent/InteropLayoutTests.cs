// The agent's native structs must match the C headers byte for byte, or io_submit reads a
// wrong buffer address. Expected values are from /usr/include/libaio.h and asm/stat.h on
// x86_64 (checked with gcc's sizeof/offsetof).
using System.Runtime.InteropServices;
using Harness.Agent.Interop;
using Xunit;

namespace Harness.Tests.Agent;

public sealed unsafe class InteropLayoutTests
{
    [Fact]
    public void Iocb_is_64_bytes_like_struct_iocb()
    {
        Assert.Equal(64, sizeof(Iocb));
        Assert.Equal(64, Marshal.SizeOf<Iocb>());
    }

    [Fact]
    public void Io_event_is_32_bytes_like_struct_io_event()
    {
        Assert.Equal(32, sizeof(IoEvent));
        Assert.Equal(32, Marshal.SizeOf<IoEvent>());
    }

    [Theory]
    [InlineData(nameof(Iocb.Data), 0)]
    [InlineData(nameof(Iocb.Key), 8)]
    [InlineData(nameof(Iocb.RwFlags), 12)]
    [InlineData(nameof(Iocb.LioOpcode), 16)]
    [InlineData(nameof(Iocb.ReqPrio), 18)]
    [InlineData(nameof(Iocb.Fildes), 20)]
    [InlineData(nameof(Iocb.Buf), 24)]
    [InlineData(nameof(Iocb.NBytes), 32)]
    [InlineData(nameof(Iocb.Offset), 40)]
    [InlineData(nameof(Iocb.Reserved), 48)]
    [InlineData(nameof(Iocb.Flags), 56)]
    [InlineData(nameof(Iocb.ResFd), 60)]
    public void Iocb_fields_sit_where_libaio_h_puts_them(string field, int offset) =>
        Assert.Equal(offset, (int)Marshal.OffsetOf<Iocb>(field));

    [Theory]
    [InlineData(nameof(IoEvent.Data), 0)]
    [InlineData(nameof(IoEvent.Obj), 8)]
    [InlineData(nameof(IoEvent.Res), 16)]
    [InlineData(nameof(IoEvent.Res2), 24)]
    public void Io_event_fields_sit_where_libaio_h_puts_them(string field, int offset) =>
        Assert.Equal(offset, (int)Marshal.OffsetOf<IoEvent>(field));

    [Fact]
    public void Iocb_fields_agree_with_pointer_arithmetic()
    {
        var iocb = default(Iocb);
        var start = (byte*)&iocb;
        Assert.Equal(16, (byte*)&iocb.LioOpcode - start);
        Assert.Equal(20, (byte*)&iocb.Fildes - start);
        Assert.Equal(24, (byte*)&iocb.Buf - start);
        Assert.Equal(40, (byte*)&iocb.Offset - start);
    }

    [Fact]
    public void Opcodes_match_io_iocb_cmd_t()
    {
        Assert.Equal(0, (short)IoCommand.PRead);
        Assert.Equal(1, (short)IoCommand.PWrite);
    }

    [Fact]
    public void Stat_is_144_bytes_with_st_size_at_48()
    {
        Assert.Equal(144, sizeof(Stat));
        Assert.Equal(48, (int)Marshal.OffsetOf<Stat>(nameof(Stat.Size)));
        Assert.Equal(64, (int)Marshal.OffsetOf<Stat>(nameof(Stat.Blocks)));
    }

    // gcc on x86_64: sizeof(struct statx) 256, stx_dev_major 136, stx_dev_minor 140,
    // stx_dio_mem_align 152, stx_dio_offset_align 156 (linux/stat.h); struct statfs 120.
    [Theory]
    [InlineData(nameof(StatxBuffer.Mask), 0)]
    [InlineData(nameof(StatxBuffer.BlkSize), 4)]
    [InlineData(nameof(StatxBuffer.Size), 40)]
    [InlineData(nameof(StatxBuffer.DevMajor), 136)]
    [InlineData(nameof(StatxBuffer.DevMinor), 140)]
    [InlineData(nameof(StatxBuffer.DioMemAlign), 152)]
    [InlineData(nameof(StatxBuffer.DioOffsetAlign), 156)]
    public void Statx_fields_sit_where_linux_stat_h_puts_them(string field, int offset) =>
        Assert.Equal(offset, (int)Marshal.OffsetOf<StatxBuffer>(field));

    [Fact]
    public void Statx_is_256_bytes_and_statfs_120()
    {
        Assert.Equal(256, sizeof(StatxBuffer));
        Assert.Equal(120, sizeof(StatfsBuffer));
        Assert.Equal(0x2000u, Posix.StatxDioAlign);
    }

    // gcc: sizeof(struct fiemap) 32 (fm_mapped_extents 20, fm_extent_count 24, fm_extents 32),
    // sizeof(struct fiemap_extent) 56 (fe_physical 8, fe_length 16, fe_flags 40); FS_IOC_FIEMAP 0xc020660b.
    [Fact]
    public void Fiemap_structs_match_linux_fiemap_h()
    {
        Assert.Equal(32, sizeof(FiemapHeader));
        Assert.Equal(20, (int)Marshal.OffsetOf<FiemapHeader>(nameof(FiemapHeader.MappedExtents)));
        Assert.Equal(24, (int)Marshal.OffsetOf<FiemapHeader>(nameof(FiemapHeader.ExtentCount)));
        Assert.Equal(56, sizeof(FiemapExtent));
        Assert.Equal(8, (int)Marshal.OffsetOf<FiemapExtent>(nameof(FiemapExtent.Physical)));
        Assert.Equal(16, (int)Marshal.OffsetOf<FiemapExtent>(nameof(FiemapExtent.Length)));
        Assert.Equal(40, (int)Marshal.OffsetOf<FiemapExtent>(nameof(FiemapExtent.Flags)));
        Assert.Equal(0xC020660Bu, Posix.FsIocFiemap);
    }
}
