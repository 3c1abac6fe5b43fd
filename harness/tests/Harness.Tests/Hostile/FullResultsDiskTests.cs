// A results disk with no inodes (or no blocks) left: one line naming the folder and the fix,
// exit 3, no stack trace, and no empty run folder left behind. A small tmpfs stands in for the
// full disk (mount -o nr_inodes / size). Needs root, as `make test` runs.
using Harness.Cli;
using Harness.Machines;
using Harness.Tests.Support;
using Xunit;

namespace Harness.Tests.Hostile;

public sealed class FullResultsDiskTests : IDisposable
{
    private readonly string _scratch = Directory.CreateDirectory(Path.Combine("/tmp", $"harness-fulldisk-{Guid.NewGuid():N}")).FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Theory]
    [InlineData("nr_inodes=16", "inodes")]
    [InlineData("size=64k", "blocks")]
    public async Task Full_results_disk_is_one_line_exit_3_and_leaves_no_empty_folder(string mountOption, string what)
    {
        Assert.True(Environment.IsPrivilegedProcess, "the full-disk test mounts a tmpfs; run `make test` as root");
        var results = Directory.CreateDirectory(Path.Combine(_scratch, "results")).FullName;
        var work = Directory.CreateDirectory(Path.Combine(_scratch, "work")).FullName;
        await HostCommand.RunAsync("mount", ["-t", "tmpfs", "-o", mountOption, "harness-full", results], CancellationToken.None);
        try
        {
            Fill(results, what);
            var before = Directory.GetFileSystemEntries(results, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();

            var stdout = new StringWriter();
            var stderr = new StringWriter();
            var code = await new CliApp(stdout, stderr, TimeProvider.System).RunAsync(
                ["run", "--machine", "local", "--dir", work, "--case", "generic-240", "--repeats", "1",
                 "--cases-dir", RepoPaths.Cases, "--results", results, "--agent", TestAgent.Binary.Path],
                CancellationToken.None);

            var output = stdout + "\n" + stderr;
            Assert.True(code == CliApp.ExitInfrastructure, $"exit {code}\n{output}");
            Assert.Contains("No space left on device", output, StringComparison.Ordinal);
            Assert.Contains(results, output, StringComparison.Ordinal);
            Assert.Contains("df -i", output, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", output, StringComparison.Ordinal);
            Assert.Single(stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Equal(before, Directory.GetFileSystemEntries(results, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
            Assert.Empty(Directory.GetFileSystemEntries(work));
        }
        finally
        {
            await HostCommand.RunAsync("umount", [results], CancellationToken.None);
        }
    }

    /// <summary>Uses up the tmpfs's inodes (many empty files) or its blocks (one big file).</summary>
    private static void Fill(string dir, string what)
    {
        if (what == "inodes")
        {
            for (var i = 0; ; i++)
            {
                try { File.WriteAllBytes(Path.Combine(dir, $"f{i}"), []); }
                catch (IOException) { return; }
            }
        }
        using var f = new FileStream(Path.Combine(dir, "big"), FileMode.Create);
        var block = new byte[4096];
        try { while (true) { f.Write(block); f.Flush(); } }
        catch (IOException) { }
    }
}
