// The 4Kn reproduction of issue 7 on the host kernel: a loop device with 4096-byte logical
// sectors, xfs made with -s size=4096, mounted, and the seed case (512-aligned IO) run there
// with --dir. Every such write would fail with EINVAL; before the alignment probe the run
// printed PASS and exited 0. Now: SKIP with the reason, exit code 4. Needs root.
using Harness.Cli;
using Harness.Machines;
using Harness.Tests.Support;
using Xunit;

namespace Harness.Tests.EndToEnd;

public sealed class AlignmentSkipTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("harness-4kn-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact]
    public async Task Seed_case_on_a_4Kn_xfs_is_SKIP_with_the_reason_and_exit_code_4()
    {
        Assert.True(Environment.IsPrivilegedProcess, "the 4Kn test needs root (losetup, mount); run `make test` as root");
        var image = Path.Combine(_scratch, "4kn.img");
        var mountPoint = Directory.CreateDirectory(Path.Combine(_scratch, "mnt")).FullName;
        await using (var f = new FileStream(image, FileMode.Create, FileAccess.Write)) f.SetLength(512L << 20);
        var loop = (await HostCommand.RunAsync("losetup", ["--find", "--show", "--sector-size", "4096", image], CancellationToken.None)).Trim();
        var mounted = false;
        try
        {
            Assert.Equal("4096", (await HostCommand.RunAsync("blockdev", ["--getss", loop], CancellationToken.None)).Trim());
            await HostCommand.RunAsync("mkfs.xfs", ["-q", "-f", "-s", "size=4096", loop], CancellationToken.None);
            await HostCommand.RunAsync("mount", ["-t", "xfs", loop, mountPoint], CancellationToken.None);
            mounted = true;

            var stdout = new StringWriter();
            var stderr = new StringWriter();
            var code = await new CliApp(stdout, stderr, TimeProvider.System).RunAsync(
                ["run", "--machine", "local", "--dir", mountPoint, "--fs", "xfs", "--case", "seed", "--repeats", "2",
                 "--agent", TestAgent.Binary.Path, "--cases-dir", RepoPaths.Cases, "--results", Path.Combine(_scratch, "results")],
                CancellationToken.None);

            var output = stdout.ToString() + stderr; // progress lines go to stderr, the table to stdout
            Assert.True(code == 4, $"exit {code}\n{output}");
            Assert.Contains("iteration 1/2: SKIP device logical block 4096 > case alignment 512", output, StringComparison.Ordinal);
            Assert.Contains("xfs-seed: device logical block 4096 > case alignment 512", output, StringComparison.Ordinal);
            Assert.DoesNotContain("PASS", output, StringComparison.Ordinal);
            // Nothing was written: the skip came before the dirt and the workload.
            Assert.False(File.Exists(Path.Combine(mountPoint, ".harness-dirt")));
        }
        finally
        {
            if (mounted) await HostCommand.RunAsync("umount", [mountPoint], CancellationToken.None);
            await HostCommand.RunAsync("losetup", ["-d", loop], CancellationToken.None);
        }
    }
}
