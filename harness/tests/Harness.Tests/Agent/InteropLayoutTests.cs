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
}
