// Issue 8, shared cache: two real `harness` processes started together on one fresh cache both
// need the same Debian kernel unpacked and the same initramfs packed. Both must succeed, the
// kernel must be unpacked once, and the cache must hold one good copy of each with nothing
// half-written beside it. (The .deb is copied in from the suite's cache: no download.)
using System.Text.Json;
using Harness.Machines;
using Harness.Tests.Kernels;
using Harness.Tests.Support;
using Xunit;

namespace Harness.Tests.Load;

[Collection(DebianKernelCollection.Name)]
public sealed class SharedCacheTests(DebianKernelFixture debian) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("harness-shared-cache-").FullName;
    private string Cache => Path.Combine(_root, "cache");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Two_processes_fetching_packing_and_booting_on_one_fresh_cache_both_pass_and_leave_one_copy()
    {
        // The fixture fetched the kernel into the suite's cache: its .deb spares the download.
        var debs = Directory.CreateDirectory(Path.Combine(Cache, "kernels", "debs")).FullName;
        foreach (var deb in Directory.GetFiles(Path.Combine(DebianKernelFixture.KernelCache, "debs"), "linux-image-*.deb"))
            File.Copy(deb, Path.Combine(debs, Path.GetFileName(deb)));
        var agent = TestAgent.AotPath(DebianKernelFixture.CacheRoot);
        string[] Args(string name) =>
            ["run", "--machine", "qemu", "--kernel", debian.Spec.Name, "--fs", "ext4", "--case", "tiny", "--accel", "tcg", "--jobs", "1",
             "--agent", agent, "--results", Path.Combine(_root, name)];

        var both = await Task.WhenAll(
            HarnessProcess.RunAsync(Args("results-a"), Cache, TimeSpan.FromMinutes(10)),
            HarnessProcess.RunAsync(Args("results-b"), Cache, TimeSpan.FromMinutes(10)));

        foreach (var (result, name) in both.Zip(["results-a", "results-b"]))
        {
            Assert.True(result.ExitCode == 0, result.ToString());
            var run = Directory.GetDirectories(Path.Combine(_root, name)).Single();
            using var iteration = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(run, "cells", "ext4-tiny", "iteration-000.json")));
            Assert.Equal("pass", iteration.RootElement.GetProperty("outcome").GetString());
            Assert.Equal(64, iteration.RootElement.GetProperty("ioCount").GetInt32());
            Assert.Equal(0, iteration.RootElement.GetProperty("ioErrors").GetInt32());
            Assert.Equal(1024, iteration.RootElement.GetProperty("passes")[0].GetProperty("sectorsChecked").GetInt32());
        }
        // One process unpacked; the other waited on the lock or found it done.
        Assert.Equal(1, both.Count(r => r.Stderr.Contains(" unpacking into ", StringComparison.Ordinal)));

        var kernels = Path.Combine(Cache, "kernels");
        var unpacked = Directory.GetDirectories(kernels, "linux-image-*").Single();
        Assert.True(File.Exists(Path.Combine(unpacked, ".harness-complete")));
        var release = Path.GetFileName(Directory.GetFiles(Path.Combine(unpacked, "boot"), "vmlinuz-*").Single())["vmlinuz-".Length..];
        Assert.True(new FileInfo(Path.Combine(unpacked, "lib", "modules", release, "modules.dep")).Length > 0);

        var archive = Directory.GetFiles(Path.Combine(Cache, "initramfs"), "*.cpio").Single();
        var listing = await HostCommand.RunAsync("cpio", ["-it", "--quiet", "-F", archive], CancellationToken.None);
        Assert.Contains("init\n", listing);
        Assert.Contains("harness/harness-agent\n", listing);

        // Nothing half-written or left over anywhere in the cache, nothing running, nothing mounted.
        var stray = Directory.EnumerateFileSystemEntries(Cache, "*", SearchOption.AllDirectories)
            .Where(p => p.Contains(".tmp", StringComparison.Ordinal) || p.Contains(".download-", StringComparison.Ordinal)
                        || p.Contains(".partial", StringComparison.Ordinal) || p.Contains("/.module-", StringComparison.Ordinal)).ToArray();
        Assert.Empty(stray);
        var leaks = await Leaks.UnderAsync(_root, Path.Combine(Cache, "work"));
        Assert.True(leaks.Count == 0, "left behind:\n" + string.Join('\n', leaks));
    }
}
