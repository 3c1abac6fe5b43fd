// Module load order from modules.dep: dependencies first, built-ins skipped, unknown names named.
using Harness.Guest;
using Harness.Tests.Kernels;
using Xunit;

namespace Harness.Tests.Guest;

public sealed class ModuleResolverTests : IDisposable
{
    private readonly string _dir = Directory.CreateDirectory(Path.Combine("/tmp", $"harness-modules-test-{Guid.NewGuid():N}", "6.1.0-test")).FullName;

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_dir)!, recursive: true);

    [Fact]
    public void Each_dependency_loads_before_the_modules_needing_it_even_from_a_misordered_list()
    {
        // modprobe would load a's list from its end: b before c, though b needs c.
        File.WriteAllText(Path.Combine(_dir, "modules.dep"), """
            kernel/a.ko: kernel/c.ko kernel/b.ko
            kernel/b.ko: kernel/c.ko
            kernel/c.ko:
            kernel/drivers/md/dm-mod.ko.xz:

            """);
        var resolver = ModuleResolver.Load(_dir);

        var order = resolver.Resolve(["a", "dm_mod", "b"]);

        Assert.Equal(["kernel/c.ko", "kernel/b.ko", "kernel/a.ko", "kernel/drivers/md/dm-mod.ko.xz"], order);
    }

    [Fact]
    public void Builtin_modules_are_skipped_and_unknown_ones_name_the_kernel()
    {
        File.WriteAllText(Path.Combine(_dir, "modules.dep"), "kernel/fs/xfs/xfs.ko:\n");
        File.WriteAllText(Path.Combine(_dir, "modules.builtin"), "kernel/fs/ext4/ext4.ko\nkernel/drivers/virtio/virtio-pci.ko\n");
        var resolver = ModuleResolver.Load(_dir);

        Assert.Equal(["kernel/fs/xfs/xfs.ko"], resolver.Resolve(["ext4", "virtio_pci", "xfs"]));
        var error = Assert.Throws<MissingModuleException>(() => resolver.Resolve(["xfs", "nosuchmod"]));
        Assert.Equal("kernel 6.1.0-test has no module 'nosuchmod' (not in modules.dep, not in modules.builtin)", error.Message);
        Assert.Equal(("nosuchmod", "6.1.0-test"), (error.Module, error.Release));
    }
}

[Collection(DebianKernelCollection.Name)]
public sealed class DebianModuleResolverTests(DebianKernelFixture debian)
{
    private static readonly string[] Wanted = ["virtio_pci", "virtio_blk", "virtio_console", "xfs", "btrfs", "ext4"];

    [Fact]
    public void Virtio_and_filesystem_modules_resolve_in_a_loadable_order_on_the_debian_kernel()
    {
        var resolver = ModuleResolver.Load(debian.Kernel.ModulesDirectory!);

        var names = resolver.Resolve(Wanted).Select(ModuleResolver.ModuleName).ToList();

        Assert.True(names.IndexOf("virtio_ring") < names.IndexOf("virtio"), string.Join(" ", names));
        Assert.True(names.IndexOf("virtio") < names.IndexOf("virtio_pci"), string.Join(" ", names));
        Assert.True(names.IndexOf("libcrc32c") < names.IndexOf("xfs"), string.Join(" ", names));
        Assert.True(names.IndexOf("libcrc32c") < names.IndexOf("btrfs"), string.Join(" ", names));
        Assert.Subset(names.ToHashSet(), new HashSet<string> { "virtio_ring", "virtio", "virtio_pci", "virtio_blk", "virtio_console", "libcrc32c", "xfs", "btrfs" });
        Assert.DoesNotContain("ext4", names);       // built into Debian's cloud kernel
        Assert.True(resolver.IsBuiltin("ext4"));
        Assert.Equal(names.Count, names.Distinct().Count());
    }

    [Fact]
    public void Every_module_in_the_order_comes_after_its_whole_modules_dep_closure()
    {
        var modulesDirectory = debian.Kernel.ModulesDirectory!;
        var dependencies = File.ReadLines(Path.Combine(modulesDirectory, "modules.dep"))
            .Select(l => l.Split(':'))
            .ToDictionary(p => p[0], p => p[1].Split(' ', StringSplitOptions.RemoveEmptyEntries));

        var order = ModuleResolver.Load(modulesDirectory).Resolve(Wanted);

        for (var i = 0; i < order.Count; i++)
            Assert.All(dependencies[order[i]], dep => Assert.True(order.Take(i).Contains(dep), $"{order[i]} is loaded before its dependency {dep}"));
        Assert.All(order, m => Assert.True(File.Exists(Path.Combine(modulesDirectory, m)), m));
    }

    [Fact]
    public void Unknown_module_names_the_module_and_the_release()
    {
        var resolver = ModuleResolver.Load(debian.Kernel.ModulesDirectory!);

        var error = Assert.Throws<MissingModuleException>(() => resolver.Resolve(["virtio_blk", "nosuchmod"]));

        Assert.Equal($"kernel {debian.Kernel.Release} has no module 'nosuchmod' (not in modules.dep, not in modules.builtin)", error.Message);
    }
}
