// The overlap arithmetic behind "N of M target blocks were dirt", and that an unknown map
// stays unknown instead of becoming a number.
using Harness.Agent;
using Harness.Agent.Interop;
using Xunit;

namespace Harness.Tests.Agent;

public sealed class DirtReuseMeterTests
{
    private static PhysicalExtent E(long physical, long length, uint flags = 0) => new(0, physical, length, flags);

    [Fact]
    public void Counts_target_blocks_that_physically_overlap_the_dirt()
    {
        // Dirt at [0, 40 KiB) and [100 KiB, 120 KiB); target at [32 KiB, 48 KiB) and [96 KiB, 104 KiB).
        var dirt = new ExtentMap([E(100 << 10, 20 << 10), E(0, 40 << 10)], null);
        var target = new ExtentMap([E(32 << 10, 16 << 10), E(96 << 10, 8 << 10)], null);

        var (reuse, unknown) = DirtReuseMeter.Measure(dirt, target, 4096);

        Assert.Null(unknown);
        Assert.Equal(new Harness.Workload.DirtReuse(15, 6, 3), reuse);
    }

    [Fact]
    public void No_dirt_means_zero_reused_and_an_unknown_map_means_unknown()
    {
        var target = new ExtentMap([E(0, 8192)], null);

        Assert.Equal(new Harness.Workload.DirtReuse(0, 2, 0), DirtReuseMeter.Measure(ExtentMap.Empty, target, 4096).Reuse);
        Assert.Equal((null, "FIEMAP of the dirt file failed: EOPNOTSUPP"),
            DirtReuseMeter.Measure(new ExtentMap(null, "FIEMAP of the dirt file failed: EOPNOTSUPP"), target, 4096));
    }
}
