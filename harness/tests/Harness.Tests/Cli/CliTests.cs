// The command line: help everywhere, exit code 2 with a clear message on bad input.
using Harness.Cli;
using Harness.Tests.Support;
using Xunit;

namespace Harness.Tests.Cli;

public sealed class CliTests
{
    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await new CliApp(stdout, stderr, TimeProvider.System).RunAsync(args, CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("run", "--help")]
    [InlineData("cases", "--help")]
    [InlineData("cases", "list", "--help")]
    [InlineData("cases", "show", "--help")]
    public async Task Every_command_has_help(params string[] args)
    {
        var (code, output, _) = await Run(args);

        Assert.Equal(0, code);
        Assert.Contains("Usage:", output);
        Assert.Contains("Options:", output);
    }

    [Fact]
    public async Task Unknown_filesystem_is_a_usage_error_listing_valid_ones()
    {
        var (code, _, err) = await Run("run", "--fs", "ext4,zfs", "--cases-dir", RepoPaths.Cases);

        Assert.Equal(CliApp.ExitUsage, code);
        Assert.Contains("unknown filesystem 'zfs'; valid: ext4, xfs, btrfs, ocfs2, f2fs, ext2", err);
    }

    [Fact]
    public async Task Unknown_case_is_a_usage_error_listing_known_ones()
    {
        var (code, _, err) = await Run("run", "--case", "nope", "--cases-dir", RepoPaths.Cases);

        Assert.Equal(CliApp.ExitUsage, code);
        Assert.Contains("no case named 'nope'; known cases:", err);
        Assert.Contains("seed", err);
    }

    [Fact]
    public async Task Unknown_option_is_a_usage_error()
    {
        var (code, _, err) = await Run("run", "--bogus");

        Assert.Equal(CliApp.ExitUsage, code);
        Assert.Contains("--bogus", err);
    }

    [Fact]
    public async Task Cases_show_renders_the_validated_seed_case()
    {
        var (code, output, _) = await Run("cases", "show", "seed", "--cases-dir", RepoPaths.Cases);

        Assert.Equal(0, code);
        Snapshot.Match(output.Replace(RepoPaths.Root, "{repo}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cases_list_names_every_case()
    {
        var (code, output, _) = await Run("cases", "list", "--cases-dir", RepoPaths.Cases);

        Assert.Equal(0, code);
        foreach (var name in new[] { "seed", "generic-240", "random-sub-block", "unwritten-extents", "extending", "overlap" })
            Assert.Contains(name, output);
    }
}
