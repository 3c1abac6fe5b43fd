// Issue 8, load under QEMU: 6 cells (ext4, xfs, btrfs x two tiny cases) on the harness-built
// stock 6.1 with two guests at a time, through the real binary and the default acceleration
// choice (the KVM probe included), then the same host search for leftovers as the local load test.
using System.Text.Json;
using Harness.Kernels;
using Harness.Tests.Kernels;
using Harness.Tests.Support;
using Xunit;

namespace Harness.Tests.Load;

public sealed class QemuLeakTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("harness-qemu-leak-").FullName;
    private string Cache => Path.Combine(_root, "cache");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Six_cells_two_at_a_time_under_qemu_all_run_and_leave_no_qemu_loop_mount_or_work_file()
    {
        // The stock linux-6.1 build from the suite's cache (built there once; cached afterwards),
        // named by a bzimage spec so this run's own cache starts empty and is the one checked.
        var spec = new KernelCatalog(Path.Combine(RepoPaths.Root, "kernels")).Find("linux-6.1");
        var built = await new KernelBuilder(DebianKernelFixture.CacheRoot, TextWriter.Null).BuildDetailedAsync(spec, CancellationToken.None);
        var kernelSpec = Path.Combine(_root, "linux-6.1-built.yaml");
        await File.WriteAllTextAsync(kernelSpec, $"name: linux-6.1-built\ndescription: the cached stock 6.1 build\nsource:\n  bzimage: {built.BzImage}\n");
        var (cases, names) = LoadTests.TinyCases(_root, 2);

        var result = await HarnessProcess.RunAsync(
            ["run", "--machine", "qemu", "--kernel", kernelSpec, "--fs", "ext4,xfs,btrfs", "--cases-dir", cases, "--case", string.Join(',', names),
             "--jobs", "2", "--agent", TestAgent.AotPath(DebianKernelFixture.CacheRoot), "--results", Path.Combine(_root, "results")],
            Cache, TimeSpan.FromMinutes(15));

        Assert.True(result.ExitCode == 0, result.ToString());
        var run = Directory.GetDirectories(Path.Combine(_root, "results")).Single();
        using var record = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(run, "run.json")));
        Assert.Equal(6, record.RootElement.GetProperty("cells").GetArrayLength());
        Assert.Equal("pass", record.RootElement.GetProperty("outcome").GetString());
        foreach (var fs in new[] { "ext4", "xfs", "btrfs" })
        foreach (var name in names)
        {
            using var iteration = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(run, "cells", $"{fs}-{name}", "iteration-000.json")));
            var it = iteration.RootElement;
            Assert.Equal("pass", it.GetProperty("outcome").GetString());
            Assert.Equal(64, it.GetProperty("ioCount").GetInt32());
            Assert.Equal(0, it.GetProperty("ioErrors").GetInt32());
            Assert.Equal(1024, it.GetProperty("passes")[0].GetProperty("sectorsChecked").GetInt32());
        }

        Assert.Empty(await Leaks.QemuUnderAsync(_root));
        var leaks = await Leaks.UnderAsync(_root, Path.Combine(Cache, "work"));
        Assert.True(leaks.Count == 0, "left behind:\n" + string.Join('\n', leaks));
    }
}
