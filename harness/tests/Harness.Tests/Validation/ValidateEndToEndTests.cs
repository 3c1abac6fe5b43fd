// The headline, for real: Linux 6.1 built from Debian's source with the ocfs2 race
// reintroduced, the same plus the direct-io.c patch under test, both booted under QEMU, the
// seed case on ocfs2, and the verdict FIXES computed from those runs. The first run on a
// machine builds the kernel (~10 min on 2 cores); later runs take the cached images.
using Harness.Cases;
using Harness.Cli;
using Harness.Filesystems;
using Harness.Kernels;
using Harness.Machines.Qemu;
using Harness.Results;
using Harness.Tests.Kernels;
using Harness.Tests.Support;
using Harness.Validation;
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.Validation;

[Collection(DebianKernelCollection.Name)]
public sealed class ValidateEndToEndTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("validate-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static string Cache => DebianKernelFixture.CacheRoot;

    [Fact]
    public async Task Direct_io_patch_FIXES_the_ocfs2_race_on_real_built_kernels()
    {
        var catalog = new KernelCatalog(Path.Combine(RepoPaths.Root, "kernels"));
        var raceSpec = catalog.Find("linux-6.1-ocfs2-race");
        var patch = Path.Combine(RepoPaths.Root, "kernels", "patches", "direct-io-serialise-sub-block-zeroing.patch");
        var provider = new KernelProvider(Cache, Console.Error);
        var without = await provider.GetAsync(raceSpec, CancellationToken.None);
        var with = await provider.GetAsync(raceSpec, CancellationToken.None, patch);
        var ocfs2 = FilesystemCatalog.Find("ocfs2");
        var setup = new QemuSetup(Cache, TextWriter.Null);
        async Task<ValidationSide> Side(string label, KernelImage kernel) => new(label, kernel, new QemuMachine(
            await setup.PrepareAsync(kernel, [ocfs2], TestAgent.AotPath(Cache), "auto", BlockBackend.Default, 512L << 20, 2, 1024,
                TimeSpan.FromSeconds(120), TimeSpan.FromSeconds(600), CancellationToken.None), TextWriter.Null));
        // CI's share: 5 repeats a side decide it (5/5 vs 0/5: p = 1/252 < 0.05/2).
        var policy = new VerdictPolicy(Alpha: 0.05, BatchSize: 5, MinRunsWith: 5, MaxRunsPerSide: 10);
        var request = new ValidationRequest(await Side("without", without), await Side("with", with), null,
            [ocfs2], [new CaseCatalog(RepoPaths.Cases).Find("seed")], policy, Path.Combine(_scratch, "work"), "test", Parallel: true);

        var (record, path) = await new PatchValidator(new ResultStore(Path.Combine(_scratch, "results")), TimeProvider.System, TextWriter.Null)
            .RunAsync(request, CancellationToken.None);

        var pair = Assert.Single(record.Pairs);
        Assert.True(pair.Verdict == nameof(PatchVerdict.Fixes), $"{pair.Verdict}: {pair.Reason}");
        Assert.Equal(0, pair.With.Failures);
        Assert.True(pair.Without.Failures >= 4, $"the race kernel should corrupt in nearly every repeat: {pair.Reason}");
        Assert.True(File.Exists(Path.Combine(path, "validation.json")));
        Assert.NotEqual(without.BzImage, with.BzImage);
    }

}
