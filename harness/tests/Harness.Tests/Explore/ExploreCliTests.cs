// `harness explore` on the command line: help, and every bad input is one line naming the option, exit 2, before anything runs.
using Harness.Cli;
using Harness.Tests.Support;
using Xunit;

namespace Harness.Tests.Explore;

public sealed class ExploreCliTests
{
    private static Task<(int Code, string Out, string Err)> Run(params string[] args) => InProcessCli.RunAsync(args);

    [Fact]
    public async Task Explore_has_help_naming_its_options_and_exit_codes()
    {
        var (code, output, _) = await Run("explore", "--help");

        Assert.Equal(0, code);
        foreach (var option in new[] { "--kernel", "--fs", "--machine", "--budget", "--workloads", "--seed", "--shrink-min-rate", "--max-shrinks" })
            Assert.Contains(option, output, StringComparison.Ordinal);
        Assert.Contains("1 a FAIL or CRASH found", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--fs", "zfs", "zfs")]
    [InlineData("--fs", "ext4,xfs", "one filesystem")]
    [InlineData("--machine", "docker", "valid: local, qemu")]
    [InlineData("--seed", "-3", "--seed")]
    [InlineData("--seed", "abc", "not a whole number")]
    [InlineData("--workloads", "0", "out of range")]
    [InlineData("--repeats", "101", "out of range")]
    [InlineData("--shrink-min-rate", "1.5", "strictly between 0 and 1")]
    [InlineData("--shrink-runs", "2", "out of range")]
    [InlineData("--budget", "soon", "not a duration")]
    public async Task Bad_input_is_one_line_naming_the_option_with_exit_2(string option, string value, string says) =>
        await AssertRefused(says, option, value);

    [Fact]
    public async Task An_image_too_small_for_the_largest_drawn_workload_is_refused() =>
        // ext2's floor is 16 MiB (ext4's 64 MiB already holds 16 MiB of file, 8 of dirt and the metadata allowance).
        await AssertRefused("cannot hold the largest drawn workload", "--fs", "ext2", "--image-size", "16MiB");

    private static async Task AssertRefused(string says, params string[] args)
    {
        var results = Path.Combine(Path.GetTempPath(), "harness-explore-cli-" + Guid.NewGuid().ToString("N"));
        var (code, output, err) = await Run(["explore", .. args, "--results", results]);

        Assert.Equal(CliApp.ExitUsage, code);
        Assert.Contains(says, err, StringComparison.Ordinal);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("harness", StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
        Assert.Equal("", output);
        Assert.False(Directory.Exists(results)); // refused before anything ran
    }
}
