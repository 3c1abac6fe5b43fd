// CPU count and kernel name come with every report; a guest that lost a CPU must show it.
using Harness.Agent;
using Xunit;

namespace Harness.Tests.Agent;

public sealed class MachineFactsTests
{
    [Theory]
    [InlineData("0\n", 1)]
    [InlineData("0-1\n", 2)]
    [InlineData("0,2-3,8", 4)]
    [InlineData("0-3,5-7\n", 7)]
    public void Cpu_list_counts_every_cpu_in_ranges_and_singles(string list, int count) =>
        Assert.Equal(count, MachineFacts.ParseCpuList(list));

    [Theory]
    [InlineData("")]
    [InlineData("3-1")]
    [InlineData("zero")]
    public void Malformed_cpu_list_is_rejected(string list) =>
        Assert.Throws<FormatException>(() => MachineFacts.ParseCpuList(list));

    [Fact]
    public void Unreadable_cpu_list_falls_back_to_the_processor_count()
    {
        var environment = AgentEnvironment.Linux with { CpuOnlinePath = "/nonexistent/online" };

        var facts = MachineFacts.Read(environment, TextWriter.Null);

        Assert.Equal(Environment.ProcessorCount, facts.CpuCount);
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), facts.Kernel);
    }
}
