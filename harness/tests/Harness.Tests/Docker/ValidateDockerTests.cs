// `harness validate --machine docker` for real, as a user types it: the ocfs2 race kernel and the
// same with the direct-io.c patch (the kernels `make test` builds for the validate end-to-end
// test), each guest's QEMU in its own container, guests kept across looks, and the verdict FIXES.
// CI's share, as the plain validate test: a 30 % residual, two looks of 5 a side.
using Harness.Machines.Docker;
using Harness.Results;
using Harness.Tests.Kernels;
using Harness.Tests.Support;
using Harness.Validation;
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.Docker;

[Collection(DockerCollection.Name)]
public sealed class ValidateDockerTests(DockerEngineFixture docker) : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("validate-docker-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact]
    public async Task Validate_in_containers_says_the_direct_io_patch_FIXES_the_ocfs2_race()
    {
        var patch = Path.Combine(RepoPaths.Root, "kernels", "patches", "direct-io-serialise-sub-block-zeroing.patch");

        var result = await HarnessProcess.RunAsync(
            ["validate", "--machine", "docker", "--kernel", "linux-6.1-ocfs2-race", "--patch", patch, "--fs", "ocfs2", "--case", "seed-quick",
             "--batch", "5", "--max-residual", "0.3", "--max-repeats", "10", "--alpha", "0.05", "--results", _scratch,
             "--agent", TestAgent.AotPath(DebianKernelFixture.CacheRoot)], // the agent under test ($HARNESS_AGENT_AOT in make test), not whatever the cache holds
            DebianKernelFixture.CacheRoot, TimeSpan.FromMinutes(20));

        Assert.True(result.ExitCode == 0, result.ToString());
        var folder = Assert.Single(Directory.GetDirectories(_scratch));
        var record = RecordFormat.Read<ValidationRecord>(Path.Combine(folder, "validation.json"));
        Assert.Equal("docker", record.Machine.Kind);
        var pair = Assert.Single(record.Pairs);
        Assert.True(pair.Verdict == PatchVerdict.Fixes, $"{pair.Verdict}: {pair.Reason}");
        Assert.Equal(0, pair.With.Failures);
        Assert.Equal(10, pair.With.Runs);
        Assert.True(pair.Without.Failures >= 4, pair.Reason);
        // Every guest booted in a container of the runner image; look 2 ran on look 1's guests.
        foreach (var g in new[] { "g1", "g2" })
            Assert.Contains("# in container harness-", File.ReadAllText(Path.Combine(folder, "cells", $"ocfs2-seed-quick-with-look01-{g}", "qemu-command.txt")));
        Assert.False(File.Exists(Path.Combine(folder, "cells", "ocfs2-seed-quick-with-look02-g1", "console.log")), "look 2 must not boot a new guest");
        var clean = Directory.GetFiles(Path.Combine(folder, "cells", "ocfs2-seed-quick-with-look02-g1"), "iteration-*.json").Select(RecordFormat.Read<IterationResult>).ToArray();
        Assert.NotEmpty(clean);
        Assert.All(clean, i =>
        {
            Assert.Equal(511, i.IoCount);
            Assert.Equal(0, i.IoErrors);
            Assert.All(i.Passes, p => Assert.Equal((2L << 20) / 512, p.SectorsChecked));
        });
        // No container of the validation is left.
        var left = await DockerQemuRuntime.ListAsync(docker.Engine.Client, null, CancellationToken.None);
        Assert.DoesNotContain(left, c => c.Labels.TryGetValue(DockerQemuRuntime.CellLabel, out var cell) && cell.StartsWith("ocfs2-seed-quick", StringComparison.Ordinal));
    }
}
