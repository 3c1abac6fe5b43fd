// The guest initramfs built from the real Debian kernel, host busybox and a stand-in agent,
// unpacked with GNU cpio: everything the guest's /init needs is where it expects it.
using System.Diagnostics;
using Harness.Guest;
using Harness.Kernels;
using Harness.Machines;
using Harness.Tests.Kernels;
using Xunit;

namespace Harness.Tests.Guest;

[Collection(DebianKernelCollection.Name)]
public sealed class InitramfsBuilderTests : IDisposable
{
    private const string Init = "#!/bin/busybox sh\n/bin/busybox --install -s\nexec sh\n";
    private static readonly string[] Modules = ["virtio_pci", "virtio_blk", "virtio_console", "xfs", "ext4"];

    private readonly DebianKernelFixture _debian;
    private readonly string _dir = Directory.CreateDirectory(Path.Combine("/tmp", $"harness-initramfs-test-{Guid.NewGuid():N}")).FullName;
    private readonly string _agent;

    public InitramfsBuilderTests(DebianKernelFixture debian)
    {
        _debian = debian;
        // Any dynamically linked executable stands in for the agent: a copy, so a test can change it.
        _agent = Path.Combine(_dir, "harness-agent");
        File.Copy("/bin/true", _agent);
    }

    private string Cache => Path.Combine(_dir, "initramfs");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Base_archive_holds_init_busybox_agent_libraries_and_modules_in_load_order()
    {
        var archive = await new InitramfsBuilder(Cache).BuildBaseAsync(_debian.Kernel, Modules, _agent, Init, CancellationToken.None);

        var root = Path.Combine(_dir, "root");
        Directory.CreateDirectory(root);
        await HostCommand.RunAsync("cpio", ["-idm", "--quiet", "--no-absolute-filenames", "-D", root, "-F", archive], CancellationToken.None);
        var listing = await CpioWriterTests.ListingAsync(root);
        Assert.Contains("init -rwxr-xr-x ", listing);
        Assert.Equal(Init, await File.ReadAllTextAsync(Path.Combine(root, "init")));
        Assert.Equal(await File.ReadAllBytesAsync("/bin/busybox"), await File.ReadAllBytesAsync(Path.Combine(root, "bin/busybox")));
        Assert.Equal(await File.ReadAllBytesAsync(_agent), await File.ReadAllBytesAsync(Path.Combine(root, "harness/harness-agent")));
        Assert.Contains("harness/harness-agent -rwxr-xr-x ", listing);
        // The loader at the path the ELF names, with the real file's bytes (the host's is a symlink).
        Assert.Equal(await File.ReadAllBytesAsync("/lib64/ld-linux-x86-64.so.2"), await File.ReadAllBytesAsync(Path.Combine(root, "lib64/ld-linux-x86-64.so.2")));
        Assert.Contains("lib64/ld-linux-x86-64.so.2 -rwxr-xr-x ", listing);
        Assert.True(File.Exists(Path.Combine(root, "lib/x86_64-linux-gnu/libc.so.6")));
        Assert.True(File.Exists(Path.Combine(root, "lib/x86_64-linux-gnu/libaio.so.1")), "libaio is loaded at run time: ldd cannot list it");
        foreach (var folder in new[] { "dev", "proc", "sys", "mnt", "tmp", "harness" })
            Assert.Contains($"\n{folder} drwxr-xr-x\n", "\n" + listing);
        Assert.Equal("character special file 5:1\n", await HostCommand.RunAsync("stat", ["-c", "%F %t:%T", Path.Combine(root, "dev/console")], CancellationToken.None));

        var expected = ModuleResolver.Load(_debian.Kernel.ModulesDirectory!).Resolve(Modules)
            .Select(m => $"/lib/modules/{ModuleResolver.FileStem(m)}.ko")
            .ToArray();
        var listed = await File.ReadAllLinesAsync(Path.Combine(root, "harness/modules"));
        Assert.Equal(expected, listed);
        Assert.Contains("/lib/modules/xfs.ko", listed);
        Assert.All(listed, m => Assert.Equal("\x7f" + "ELF", File.ReadAllText(root + m)[..4]));
    }

    [Fact]
    public async Task Same_inputs_reuse_the_cached_archive_without_rewriting_it()
    {
        var builder = new InitramfsBuilder(Cache);
        var first = await builder.BuildBaseAsync(_debian.Kernel, Modules, _agent, Init, CancellationToken.None);
        var written = File.GetLastWriteTimeUtc(first);

        var clock = Stopwatch.StartNew();
        var second = await new InitramfsBuilder(Cache).BuildBaseAsync(_debian.Kernel, Modules, _agent, Init, CancellationToken.None);
        clock.Stop();

        Assert.Equal(first, second);
        Assert.Equal(written, File.GetLastWriteTimeUtc(second));
        // One archive and its lock file; no temp file left by either call.
        Assert.Single(Directory.GetFiles(Cache, "*.cpio"));
        Assert.Equal([Path.GetFileName(first), Path.GetFileName(first) + ".lock"], Directory.GetFileSystemEntries(Cache).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"cached build took {clock.Elapsed}");
    }

    [Fact]
    public async Task While_another_process_packs_the_archive_a_second_builder_waits_and_takes_its_archive()
    {
        var archive = await new InitramfsBuilder(Cache).BuildBaseAsync(_debian.Kernel, Modules, _agent, Init, CancellationToken.None);
        File.Delete(archive);
        var progress = new StringWriter();

        // Held as another harness would hold it while packing (flock: per open file, so this works in one process too).
        Task<string> waiting;
        using (var held = CacheLock.TryAcquire(CacheLock.For(archive)))
        {
            Assert.NotNull(held);
            waiting = new InitramfsBuilder(Cache, progress: TextWriter.Synchronized(progress)).BuildBaseAsync(_debian.Kernel, Modules, _agent, Init, CancellationToken.None);
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            Assert.False(waiting.IsCompleted, "the builder packed while the lock was held");
            // The other process finishes: its archive appears, then the lock is released.
            await File.WriteAllTextAsync(archive, "packed by the other process");
        }
        var taken = await waiting;

        Assert.Equal(archive, taken);
        Assert.Equal("packed by the other process", await File.ReadAllTextAsync(taken));
        Assert.Contains($"waiting for another harness to finish packing {Path.GetFileName(archive)}", progress.ToString());
    }

    [Fact]
    public async Task A_changed_script_agent_or_module_list_gives_a_new_archive()
    {
        var builder = new InitramfsBuilder(Cache);
        var original = await builder.BuildBaseAsync(_debian.Kernel, Modules, _agent, Init, CancellationToken.None);

        var otherScript = await builder.BuildBaseAsync(_debian.Kernel, Modules, _agent, Init + "# changed\n", CancellationToken.None);
        var otherModules = await builder.BuildBaseAsync(_debian.Kernel, ["virtio_pci"], _agent, Init, CancellationToken.None);
        await File.AppendAllTextAsync(_agent, "\0");
        var otherAgent = await builder.BuildBaseAsync(_debian.Kernel, Modules, _agent, Init, CancellationToken.None);

        Assert.Equal(4, new[] { original, otherScript, otherModules, otherAgent }.Distinct().Count());
        Assert.All(new[] { original, otherScript, otherModules, otherAgent }, p => Assert.True(File.Exists(p)));
    }

    [Fact]
    public async Task Kernel_without_a_modules_folder_gets_an_empty_module_list()
    {
        var kernel = _debian.Kernel with { ModulesDirectory = null };

        var archive = await new InitramfsBuilder(Cache).BuildBaseAsync(kernel, Modules, _agent, Init, CancellationToken.None);

        var listing = await HostCommand.RunAsync("cpio", ["-it", "--quiet", "-F", archive], CancellationToken.None);
        Assert.Contains("harness/modules\n", listing);
        Assert.DoesNotContain("lib/modules/xfs.ko", listing);
    }

    [Fact]
    public async Task Dynamically_linked_busybox_is_refused()
    {
        var builder = new InitramfsBuilder(Cache, busybox: "/bin/true");

        var error = await Assert.ThrowsAsync<MachineException>(() => builder.BuildBaseAsync(_debian.Kernel, [], _agent, Init, CancellationToken.None));

        Assert.Equal("/bin/true is dynamically linked; the guest needs a static one (Debian package busybox-static)", error.Message);
    }
}

public sealed class ModuleFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateDirectory(Path.Combine("/tmp", $"harness-modfile-test-{Guid.NewGuid():N}")).FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("xz", new[] { "xz", "--keep" }, ".xz")]
    [InlineData("zstd", new[] { "zstd", "--quiet", "--keep" }, ".zst")]
    [InlineData("gzip", new[] { "gzip", "--keep" }, ".gz")]
    [InlineData("none", new string[0], "")]
    public async Task Compressed_modules_come_back_as_the_plain_module(string kind, string[] compress, string suffix)
    {
        var plain = Path.Combine(_dir, $"{kind}.ko");
        var content = Enumerable.Range(0, 100_000).Select(i => (byte)(i % 251)).ToArray();
        await File.WriteAllBytesAsync(plain, content);
        if (compress.Length > 0) await HostCommand.RunAsync(compress[0], [.. compress[1..], plain], CancellationToken.None);

        var read = await ModuleFile.ReadDecompressedAsync(plain + suffix, _dir, CancellationToken.None);

        Assert.Equal(content, read);
        Assert.Empty(Directory.GetDirectories(_dir));
    }
}
