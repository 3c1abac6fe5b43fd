// What the guest needs from a kernel's config, checked before anything boots. A kernel that
// lacks ACPI, virtio, AIO or the filesystem under test cannot run the workload: booting it
// would end in a timeout or a panic that looks like the kernel's fault (CRASH) when it is the
// spec's (an input error, exit 2).
using Harness.Filesystems;
using Harness.Yaml;

namespace Harness.Kernels;

/// <summary>One config symbol and, when it may be a module, the module the harness would load for it.</summary>
public sealed record ConfigSymbol(string Name, string? Module = null);

/// <summary>Something the guest needs: any one of <see cref="AnyOf"/> satisfies it.</summary>
public sealed record ConfigRequirement(string Why, IReadOnlyList<ConfigSymbol> AnyOf);

public static class KernelConfigCheck
{
    private static ConfigRequirement Need(string why, string symbol, string? module = null) => new(why, [new ConfigSymbol(symbol, module)]);

    /// <summary>What every guest needs (the same list kernels/configs/guest.config turns on for tinyconfig).</summary>
    public static IReadOnlyList<ConfigRequirement> Guest { get; } =
    [
        Need("the agent is a 64-bit binary", "CONFIG_64BIT"),
        Need("without ACPI the guest sees one CPU and cannot power off", "CONFIG_ACPI"),
        Need("virtio-pci carries the test disk and the results port", "CONFIG_PCI"),
        Need("virtio-pci carries the test disk and the results port", "CONFIG_VIRTIO_PCI", "virtio_pci"),
        Need("the test disk is virtio-blk", "CONFIG_VIRTIO_BLK", "virtio_blk"),
        Need("the results and alive ports are virtio-serial", "CONFIG_VIRTIO_CONSOLE", "virtio_console"),
        Need("the host watches the serial console (console=ttyS0)", "CONFIG_SERIAL_8250_CONSOLE"),
        Need("the guest runs from an initramfs", "CONFIG_BLK_DEV_INITRD"),
        Need("the init script and the agent are ELF and #! programs", "CONFIG_BINFMT_ELF"),
        Need("the init script and the agent are ELF and #! programs", "CONFIG_BINFMT_SCRIPT"),
        Need("the init script mounts devtmpfs for /dev/vda and the ports", "CONFIG_DEVTMPFS"),
        Need("the init script reads /proc and /sys", "CONFIG_PROC_FS"),
        Need("the init script reads /proc and /sys", "CONFIG_SYSFS"),
        Need("the workload is io_submit (libaio)", "CONFIG_AIO"),
        Need("the NativeAOT agent's threads wait on futexes", "CONFIG_FUTEX"),
        Need("the NativeAOT agent's runtime uses epoll and eventfd", "CONFIG_EPOLL"),
        Need("the NativeAOT agent's runtime uses epoll and eventfd", "CONFIG_EVENTFD"),
    ];

    /// <summary>The driver a filesystem under test needs, by its mount type.</summary>
    public static ConfigRequirement ForFilesystem(FilesystemSpec fs)
    {
        var module = fs.KernelModules.FirstOrDefault();
        return fs.MountType switch
        {
            // ext2 images mount through ext2's own driver or through ext4's (EXT4_USE_FOR_EXT2, built in only with ext4).
            "ext2" => new ConfigRequirement($"filesystem {fs.Name}", [new ConfigSymbol("CONFIG_EXT2_FS", "ext2"), new ConfigSymbol("CONFIG_EXT4_USE_FOR_EXT2", module)]),
            _ => new ConfigRequirement($"filesystem {fs.Name}", [new ConfigSymbol($"CONFIG_{fs.MountType.ToUpperInvariant()}_FS", module)]),
        };
    }

    /// <summary>CONFIG_X=value lines of a .config; "is not set" lines and comments are absent.</summary>
    public static IReadOnlyDictionary<string, string> Parse(string configText) =>
        configText.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.StartsWith("CONFIG_", StringComparison.Ordinal) && l.Contains('='))
            .Select(l => l.Split('=', 2))
            .GroupBy(kv => kv[0]).ToDictionary(g => g.Key, g => g.Last()[1], StringComparer.Ordinal);

    /// <summary>
    /// The requirements the config does not meet, each with the symbols that would meet it. =m counts
    /// only for a symbol whose module is in <paramref name="loadedModules"/> (the harness puts them in
    /// the initramfs of kernels that come with modules); a built kernel boots without modules, so it needs =y.
    /// </summary>
    public static IReadOnlyList<string> Unmet(IReadOnlyDictionary<string, string> config, IEnumerable<ConfigRequirement> requirements, IReadOnlyCollection<string> loadedModules)
    {
        static string Norm(string module) => module.Replace('-', '_');
        var loaded = loadedModules.Select(Norm).ToHashSet(StringComparer.Ordinal);
        bool Met(ConfigSymbol s) => config.GetValueOrDefault(s.Name) switch
        {
            "y" => true,
            "m" => s.Module is not null && loaded.Contains(Norm(s.Module)),
            _ => false,
        };
        string Describe(ConfigSymbol s) => config.GetValueOrDefault(s.Name) == "m"
            ? $"{s.Name}=m (no module loaded for it: needs =y{(s.Module is null ? "" : loaded.Count == 0 ? "; this kernel is booted without modules" : $" or module {s.Module}")})"
            : s.Name;
        return requirements.Where(r => !r.AnyOf.Any(Met))
            .GroupBy(r => r.Why)
            .Select(g => $"{string.Join(", ", g.SelectMany(r => r.AnyOf.Count == 1 ? [Describe(r.AnyOf[0])] : new[] { string.Join(" or ", r.AnyOf.Select(Describe)) }))} ({g.Key})")
            .ToArray();
    }

    /// <summary>
    /// Throws an <see cref="InputException"/> naming the kernel spec, its config file, the missing symbols
    /// and the filesystem when the kernel cannot run the guest. <paramref name="disk"/>: what the setups' test-disk
    /// buses need (QemuDisk). False when there is no config to check.
    /// </summary>
    public static bool Check(KernelImage kernel, IReadOnlyList<FilesystemSpec> filesystems, IReadOnlyCollection<string> loadedModules, IEnumerable<ConfigRequirement>? disk = null)
    {
        if (kernel.ConfigFile is not { } file || !File.Exists(file)) return false;
        var config = Parse(File.ReadAllText(file));
        var unmet = Unmet(config, Guest.Concat(filesystems.Select(ForFilesystem)).Concat(disk ?? []).DistinctBy(r => (r.Why, string.Join(",", r.AnyOf))), loadedModules);
        if (unmet.Count > 0)
            throw new InputException(unmet.Select(u => new InputProblem(kernel.SpecFile ?? kernel.Name, 0, 0, "config",
                $"kernel {kernel.Name} ({file}) lacks {u}")).ToArray());
        return true;
    }
}
