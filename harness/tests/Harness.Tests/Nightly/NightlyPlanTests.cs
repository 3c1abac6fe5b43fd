// Nightly plans: the shipped plan parses into the matrix it promises, a bad plan is refused with
// file:line and field, and the content hash that identifies a plan changes with any edit.
using Harness.Kernels;
using Harness.Nightly;
using Harness.Tests.Support;
using Harness.Yaml;
using Xunit;

namespace Harness.Tests.Nightly;

public sealed class NightlyPlanTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("harness-nightly-plan-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static string Kernels => Path.Combine(RepoPaths.Root, "kernels");

    private static string Setups => Path.Combine(RepoPaths.Root, "cases", "setups", "setups.yaml");

    private NightlyPlan Load(string text)
    {
        var path = Path.Combine(_scratch, "plan.yaml");
        File.WriteAllText(path, text);
        return NightlyPlanLoader.Load(path, RepoPaths.Cases, Kernels, Setups);
    }

    private InputException Refused(string text) => Assert.Throws<InputException>(() => Load(text));

    private const string Good = """
        name: tiny-host
        kernels:
          host: {}
        filesystems: [ext4]
        cases: [tiny]
        repeats: 9
        max-residual: 0.3
        """;

    [Fact]
    public void The_shipped_plan_runs_debians_newest_61_and_612_cloud_kernels_on_ext4_xfs_and_btrfs()
    {
        var plan = NightlyPlanLoader.Load(Path.Combine(RepoPaths.Cases, "nightly", "debian-cloud.yaml"), RepoPaths.Cases, Kernels, Setups);

        Assert.Equal("debian-cloud", plan.Name);
        Assert.Equal(["debian-6.1-cloud", "debian-6.12-cloud"], plan.Kernels.Select(k => k.Name));
        Assert.All(plan.Kernels, k =>
        {
            Assert.IsType<DebianPackageSource>(k.Spec!.Source);
            Assert.Equal(BisectWith.PackageSeries, k.BisectWith);
        });
        Assert.Equal(["ext4", "xfs", "btrfs"], plan.Filesystems.Select(f => f.Name));
        Assert.Equal(6, plan.Cells);
        // SAME on clean kernels is reachable: the repeats bound the rate at the plan's residual over its 6 cells.
        Assert.True(plan.Policy.CleanRunsForBound <= plan.Repeats, $"{plan.Policy.CleanRunsForBound} > {plan.Repeats}");
        plan.Policy.Validate();
        Assert.Equal(64, plan.Sha256.Length);
    }

    [Fact]
    public void A_package_pattern_in_the_plan_becomes_a_kernel_spec_resolved_at_run_time()
    {
        var plan = Load(Good.Replace("  host: {}", "  deb612: {debian-package: 'linux-image-6.12.*+deb12-cloud-amd64-unsigned'}"));

        var k = Assert.Single(plan.Kernels);
        Assert.Equal(new DebianPackageSource("linux-image-6.12.*+deb12-cloud-amd64-unsigned"), k.Spec!.Source);
        Assert.Equal(BisectWith.PackageSeries, k.BisectWith);
    }

    [Fact]
    public void The_content_hash_changes_with_any_edit_even_a_comment()
    {
        var a = Load(Good);
        var b = Load(Good + "\n# a comment\n");

        Assert.Equal(a.Name, b.Name);
        Assert.NotEqual(a.Sha256, b.Sha256);
    }

    [Theory]
    [InlineData("filesystems: [ext4]", "filesystems: [ext5]", 4, "filesystems: unknown filesystem 'ext5'")]
    [InlineData("  host: {}", "  nosuch: {}", 3, "kernels.nosuch.spec: no kernel named 'nosuch'")]
    [InlineData("cases: [tiny]", "cases: [nosuch]", 5, "cases:")]
    [InlineData("repeats: 9", "repeats: 5", 6, "repeats: 5 repeats cannot bound a clean kernel's failure rate at max-residual 0.3 over 1 cells (one-sided 95 %): it needs 9")]
    [InlineData("max-residual: 0.3", "max-residual: 3", 7, "max-residual: '3' must be a number strictly between 0 and 1")]
    [InlineData("name: tiny-host", "name: Tiny Host", 1, "name: 'Tiny Host' must be lower-case")]
    [InlineData("repeats: 9", "repeats: 9\ncolour: red", 7, "colour: unknown field")]
    [InlineData("  host: {}", "  host: {bisect-with: git}", 3, "bisect-with")]
    [InlineData("filesystems: [ext4]", "filesystems: [ext4]\nsetups: [ext4]", 5, "give exactly one of filesystems")]
    public void A_bad_plan_is_refused_at_its_file_line_and_field(string from, string to, int line, string message)
    {
        var e = Refused(Good.Replace(from, to));

        var text = string.Join("\n", e.Problems.Select(p => p.ToString()));
        Assert.Contains(e.Problems, p => p.File.EndsWith("plan.yaml", StringComparison.Ordinal) && p.Line == line && p.ToString().Contains(message, StringComparison.Ordinal));
        Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_plan_file_names_the_option()
    {
        var e = Assert.Throws<InputException>(() => NightlyPlanLoader.Load(Path.Combine(_scratch, "none.yaml"), RepoPaths.Cases, Kernels, Setups));

        Assert.Equal("--plan", Assert.Single(e.Problems).Field);
    }
}
