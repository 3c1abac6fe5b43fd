// A kernel whose config cannot run the guest is an input error before anything boots (exit 2,
// naming the spec, the symbols and the filesystem), never a CRASH. Checked against real config
// files: Debian's cloud kernel as its package ships it, and a harness-built guest config.
using Harness.Cli;
using Harness.Filesystems;
using Harness.Kernels;
using Harness.Tests.Support;
using Harness.Yaml;
using Xunit;

namespace Harness.Tests.Kernels;

[Collection(DebianKernelCollection.Name)]
public sealed class KernelConfigCheckTests(DebianKernelFixture debian) : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("kconfig-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static FilesystemSpec[] Fs(params string[] names) => names.Select(FilesystemCatalog.Find).ToArray();

    private static string[] ModulesFor(FilesystemSpec[] filesystems) =>
        QemuSetup.BaseModules.Concat(filesystems.SelectMany(f => f.KernelModules)).Distinct().ToArray();

    /// <summary>The Debian kernel with its config replaced by <paramref name="edit"/> of the real one.</summary>
    private KernelImage WithConfig(Func<string, string> edit)
    {
        var file = Path.Combine(_scratch, "config");
        File.WriteAllText(file, edit(File.ReadAllText(debian.Kernel.ConfigFile!)));
        return debian.Kernel with { ConfigFile = file };
    }

    [Fact]
    public void Debian_cloud_kernel_has_what_the_guest_needs_for_ext4_xfs_and_btrfs_with_its_modules_loaded()
    {
        var filesystems = Fs("ext4", "xfs", "btrfs", "ext2");

        Assert.True(File.Exists(debian.Kernel.ConfigFile), debian.Kernel.ConfigFile);
        Assert.True(KernelConfigCheck.Check(debian.Kernel, filesystems, ModulesFor(filesystems)));
    }

    [Fact]
    public void Debian_cloud_kernel_without_ocfs2_is_an_input_error_naming_spec_symbol_and_filesystem()
    {
        var filesystems = Fs("ext4", "ocfs2");

        var error = Assert.Throws<InputException>(() => KernelConfigCheck.Check(debian.Kernel, filesystems, ModulesFor(filesystems)));

        var problem = Assert.Single(error.Problems);
        Assert.EndsWith("debian-6.1-cloud.yaml", problem.File);
        Assert.Equal("config", problem.Field);
        Assert.Contains("CONFIG_OCFS2_FS (filesystem ocfs2)", problem.Message);
        Assert.Contains(debian.Kernel.ConfigFile!, problem.Message);
    }

    [Fact]
    public void Module_symbols_count_only_when_the_harness_loads_that_module()
    {
        var filesystems = Fs("xfs");

        // Debian's virtio and xfs drivers are =m: fine with the modules in the initramfs, not without.
        var error = Assert.Throws<InputException>(() => KernelConfigCheck.Check(debian.Kernel, filesystems, []));

        Assert.Contains(error.Problems, p => p.Message.Contains("CONFIG_VIRTIO_BLK=m (no module loaded for it: needs =y; this kernel is booted without modules)", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Message.Contains("CONFIG_XFS_FS=m", StringComparison.Ordinal) && p.Message.Contains("(filesystem xfs)", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("CONFIG_AIO=y", "CONFIG_AIO (the workload is io_submit (libaio))")]
    [InlineData("CONFIG_ACPI=y", "CONFIG_ACPI (without ACPI the guest sees one CPU and cannot power off)")]
    [InlineData("CONFIG_DEVTMPFS=y", "CONFIG_DEVTMPFS")]
    [InlineData("CONFIG_EXT4_FS=y", "CONFIG_EXT4_FS (filesystem ext4)")]
    public void Planted_missing_symbol_is_named(string line, string expected)
    {
        var filesystems = Fs("ext4");
        var kernel = WithConfig(c => c.Replace(line + "\n", $"# {line.Split('=')[0]} is not set\n", StringComparison.Ordinal));

        var error = Assert.Throws<InputException>(() => KernelConfigCheck.Check(kernel, filesystems, ModulesFor(filesystems)));

        Assert.Contains(error.Problems, p => p.Message.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Harness_built_guest_config_has_everything_built_in_for_every_filesystem()
    {
        // kernels/configs/guest.config merged onto tinyconfig by KernelBuilder (Linux 6.1.192), kept as test data.
        var built = debian.Kernel with { ConfigFile = Path.Combine(RepoPaths.Root, "harness", "tests", "Harness.Tests", "Kernels", "Data", "linux-6.1-guest.config"), ModulesDirectory = null };

        Assert.True(KernelConfigCheck.Check(built, FilesystemCatalog.All, []));
        // ...and every test-disk bus a setup can name (virtio-scsi, NVMe) built in: a built kernel boots without modules.
        Assert.True(KernelConfigCheck.Check(built, FilesystemCatalog.All, [], Harness.Machines.Qemu.QemuDisk.Buses.SelectMany(b => b.Config)));
    }

    [Fact]
    public void Debug_fragment_merges_onto_the_guest_config_with_every_debug_symbol_on()
    {
        // tinyconfig + guest.config + debug.config through merge_config.sh and olddefconfig on
        // linux-source-6.1 (6.1.192), kept as test data: kconfig kept every symbol the fragment asks for.
        var merged = Path.Combine(RepoPaths.Root, "harness", "tests", "Harness.Tests", "Kernels", "Data", "linux-6.1-guest-debug.config");
        var fragments = new[] { "guest.config", "debug.config" }.Select(f => Path.Combine(RepoPaths.Root, "kernels", "configs", f)).ToArray();
        var config = KernelConfigCheck.Parse(File.ReadAllText(merged));

        Assert.Empty(KernelBuilder.MissingSymbols(File.ReadAllText(merged), fragments));
        foreach (var symbol in new[] { "CONFIG_KASAN", "CONFIG_PROVE_LOCKING", "CONFIG_LOCKDEP", "CONFIG_DEBUG_ATOMIC_SLEEP", "CONFIG_UBSAN", "CONFIG_SLUB", "CONFIG_DETECT_HUNG_TASK" })
            Assert.Equal("y", config.GetValueOrDefault(symbol));
        Assert.True(KernelConfigCheck.Check(debian.Kernel with { ConfigFile = merged, ModulesDirectory = null }, FilesystemCatalog.All, []));
    }

    [Fact]
    public async Task Run_on_a_kernel_spec_lacking_aio_exits_2_before_anything_boots()
    {
        // A kernel on disk (bzimage + modules) with its config beside it, AIO planted out.
        var image = Path.Combine(_scratch, Path.GetFileName(debian.Kernel.BzImage));
        File.Copy(debian.Kernel.BzImage, image);
        File.WriteAllText(Path.Combine(_scratch, $"config-{debian.Kernel.Release}"),
            File.ReadAllText(debian.Kernel.ConfigFile!).Replace("CONFIG_AIO=y\n", "# CONFIG_AIO is not set\n", StringComparison.Ordinal));
        var kernels = Directory.CreateDirectory(Path.Combine(_scratch, "kernels")).FullName;
        var spec = Path.Combine(kernels, "no-aio.yaml");
        File.WriteAllText(spec, $"name: no-aio\ndescription: Debian 6.1 with AIO planted out of its config\nsource:\n  bzimage: {image}\n  modules: {debian.Kernel.ModulesDirectory}\n");
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var code = await new CliApp(stdout, stderr, TimeProvider.System).RunAsync(
            ["run", "--machine", "qemu", "--kernel", "no-aio", "--kernels-dir", kernels, "--fs", "ext4", "--case", "generic-240",
             "--cases-dir", RepoPaths.Cases, "--cache", Path.Combine(_scratch, "cache"), "--results", Path.Combine(_scratch, "results")],
            CancellationToken.None);

        Assert.Equal(CliApp.ExitUsage, code);
        Assert.Contains($"{spec}: config: kernel no-aio", stderr.ToString());
        Assert.Contains("lacks CONFIG_AIO", stderr.ToString());
        Assert.False(Directory.Exists(Path.Combine(_scratch, "results"))); // nothing ran
    }
}
