// A filesystem that fills during the workload, on the host kernel: before issue 7 thousands of
// ENOSPC writes read back as a clean sparse file and the run said PASS. Now it is ERROR (the
// setup's fault, exit 3) naming the filesystem's size and what the case needs. --dir skips the
// preflight (the harness did not make that filesystem), so the agent meets the real ENOSPC. Needs root.
using Harness.Cli;
using Harness.Machines;
using Harness.Tests.Support;
using Xunit;

namespace Harness.Tests.EndToEnd;

public sealed class OutOfSpaceTests : IDisposable
{
    private const string TooBig = """
        name: too-big
        description: a sparse file far larger than the 64 MiB test filesystem, written block by block
        catches: nothing; it exists to fill the disk
        file:
          size: 128MiB
          preparation: sparse
        fs-block-size: 4096
        io:
          pattern: stride
          size: 4096
          stride: 4096
          start: 512
          count: 32000
          queue-depth: 16
        dirty-free-space: 0
        readback: [after-fsync]
        seed: 28
        """;

    private readonly string _scratch = Directory.CreateTempSubdirectory("harness-enospc-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact]
    public async Task Disk_filling_during_the_workload_is_ERROR_with_sizes_and_exit_3()
    {
        Assert.True(Environment.IsPrivilegedProcess, "needs root (loop mount); run `make test` as root");
        var cases = Directory.CreateDirectory(Path.Combine(_scratch, "cases")).FullName;
        await File.WriteAllTextAsync(Path.Combine(cases, "too-big.yaml"), TooBig);
        var image = Path.Combine(_scratch, "small.img");
        var mountPoint = Directory.CreateDirectory(Path.Combine(_scratch, "mnt")).FullName;
        await using (var f = new FileStream(image, FileMode.Create, FileAccess.Write)) f.SetLength(64L << 20);
        await HostCommand.RunAsync("mkfs.ext4", ["-F", "-q", "-b", "4096", image], CancellationToken.None);
        await HostCommand.RunAsync("mount", ["-t", "ext4", "-o", "loop", image, mountPoint], CancellationToken.None);
        try
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            var code = await new CliApp(stdout, stderr, TimeProvider.System).RunAsync(
                ["run", "--machine", "local", "--dir", mountPoint, "--fs", "ext4", "--case", "too-big", "--repeats", "1",
                 "--agent", TestAgent.Binary.Path, "--cases-dir", cases, "--results", Path.Combine(_scratch, "results")],
                CancellationToken.None);

            var output = stdout.ToString() + stderr;
            Assert.True(code == 3, $"exit {code}\n{output}");
            Assert.Matches(@"ERROR out of space during the workload: \d+ of 32000 writes failed: ENOSPC \(\d+\); the test filesystem has \d+[KMG]iB \(\d+[KMG]iB free before the workload\)", output);
            Assert.Contains("the case needs file.size 128MiB + dirty-free-space 0 plus metadata; raise --image-size", output, StringComparison.Ordinal);
            Assert.DoesNotContain("PASS", output, StringComparison.Ordinal);
        }
        finally
        {
            await HostCommand.RunAsync("umount", [mountPoint], CancellationToken.None);
        }
    }
}
