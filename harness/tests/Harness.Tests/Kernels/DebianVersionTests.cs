// Debian version order: ours must agree with dpkg's, since it picks which kernel gets tested.
using Harness.Kernels;
using Harness.Machines;
using Xunit;

namespace Harness.Tests.Kernels;

public sealed class DebianVersionTests
{
    [Theory]
    [InlineData("6.1.192-2", "6.1.192-1")]
    [InlineData("6.1.176-1", "6.1.170-3")]
    [InlineData("6.1.10-1", "6.1.9-5")]
    [InlineData("6.12.117-1", "6.12.117-1~deb12u1")]
    [InlineData("6.12.117-1~deb12u1", "6.12.115-1~deb12u1")]
    [InlineData("1:0.1-1", "9.9-1")]
    [InlineData("1.0a-1", "1.0-1")]
    [InlineData("1.0+b1", "1.0")]
    [InlineData("1.0", "1.0~rc1")]
    public async Task Newer_versions_sort_after_older_ones_as_dpkg_says(string newer, string older)
    {
        var dpkgAgrees = await DpkgSaysGreater(newer, older);

        Assert.True(dpkgAgrees, $"dpkg does not order {newer} > {older}: fix the test data");
        Assert.True(DebianVersion.Compare(newer, older) > 0);
        Assert.True(DebianVersion.Compare(older, newer) < 0);
        Assert.Equal(0, DebianVersion.Compare(newer, newer));
    }

    private static async Task<bool> DpkgSaysGreater(string a, string b)
    {
        try
        {
            await HostCommand.RunAsync("dpkg", ["--compare-versions", a, "gt", b], CancellationToken.None);
            return true;
        }
        catch (MachineException)
        {
            return false;
        }
    }
}
