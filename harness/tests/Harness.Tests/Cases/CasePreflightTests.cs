// Preflight: a case that cannot fit the image the harness will make is bad input (exit 2)
// before anything runs, naming the case file and field; shipped cases fit the default image.
using Harness.Cases;
using Harness.Cli;
using Harness.Filesystems;
using Harness.Tests.Support;
using Harness.Yaml;
using Xunit;

namespace Harness.Tests.Cases;

public sealed class CasePreflightTests
{
    private static readonly CaseSpec Seed = new CaseCatalog(RepoPaths.Cases).Find("seed");

    [Fact]
    public void Every_shipped_case_fits_the_default_512MiB_image_on_every_filesystem()
    {
        foreach (var c in new CaseCatalog(RepoPaths.Cases).LoadAll())
            foreach (var fs in FilesystemCatalog.All)
                Assert.Empty(CasePreflight.Check(c, fs, 512L << 20));
    }

    [Fact]
    public void Seed_case_does_not_fit_a_120MiB_ext4_image_and_the_error_names_file_field_and_a_size_that_fits()
    {
        var problem = Assert.Single(CasePreflight.Check(Seed, FilesystemCatalog.Find("ext4"), 120L << 20));

        Assert.Equal("file.size", problem.Field);
        Assert.EndsWith("seed.yaml", problem.File, StringComparison.Ordinal);
        Assert.Equal("file.size 32MiB + dirty-free-space 64MiB + metadata allowance 32MiB = 128MiB does not fit the 120MiB ext4 image; " +
            "use --image-size 128MiB or more, or lower file.size / dirty-free-space", problem.Message);
    }

    [Fact]
    public void Suggested_image_size_passes_the_preflight()
    {
        var big = Seed with { Workload = Seed.Workload with { FileSize = 300L << 20, DirtyBytes = 300L << 20 } };
        var problem = Assert.Single(CasePreflight.Check(big, FilesystemCatalog.Find("xfs"), 512L << 20));
        var suggested = problem.Message.Split("--image-size ")[1].Split(' ')[0];

        Assert.True(ByteSize.TryParse(suggested, out var bytes));
        Assert.Empty(CasePreflight.Check(big, FilesystemCatalog.Find("xfs"), bytes));
    }

    [Fact]
    public async Task Run_with_an_image_too_small_for_the_case_is_exit_2_before_anything_runs()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var code = await new CliApp(stdout, stderr, TimeProvider.System).RunAsync(
            ["run", "--machine", "local", "--fs", "ext4", "--case", "seed", "--image-size", "100MiB", "--cases-dir", RepoPaths.Cases,
             "--results", Path.Combine(Path.GetTempPath(), "harness-preflight-never-written")],
            CancellationToken.None);

        Assert.Equal(CliApp.ExitUsage, code);
        Assert.Contains("seed.yaml: file.size: file.size 32MiB + dirty-free-space 64MiB", stderr.ToString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(Path.GetTempPath(), "harness-preflight-never-written")));
    }

    [Fact]
    public async Task Validate_with_an_image_too_small_for_the_case_is_exit_2_before_any_kernel_is_fetched()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var cache = Path.Combine(Path.GetTempPath(), "harness-preflight-cache-never-made");

        var code = await new CliApp(stdout, stderr, TimeProvider.System).RunAsync(
            ["validate", "--kernel", "debian-6.1-cloud", "--with-kernel", "debian-6.12-cloud", "--fs", "ext4", "--case", "seed",
             "--image-size", "120MiB", "--cases-dir", RepoPaths.Cases, "--kernels-dir", Path.Combine(RepoPaths.Root, "kernels"), "--cache", cache],
            CancellationToken.None);

        Assert.Equal(CliApp.ExitUsage, code);
        Assert.Contains("does not fit the 120MiB ext4 image", stderr.ToString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(cache));
    }
}
