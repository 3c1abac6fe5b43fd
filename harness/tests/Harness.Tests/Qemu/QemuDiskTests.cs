// A setup's disk and mount options under QEMU: the test disk's sector sizes on the command line,
// the mount options in the guest's settings and init, and the buses not built yet refused by name.
using System.Text;
using Harness.Cases;
using Harness.Kernels;
using Harness.Machines;
using Harness.Machines.Qemu;
using Harness.Setups;
using Harness.Tests.Support;
using Xunit;

namespace Harness.Tests.Qemu;

public sealed class QemuDiskTests
{
    private static QemuOptions Options() =>
        new(new KernelImage("k", "6.1.0-test", "/k/bzImage", null, "test"), "/k/base.cpio", Acceleration.Tcg, "test", BlockBackend.Parse("aio=threads,cache=none"), 512L << 20);

    private static readonly QemuCommandLine.Paths Paths = new("/w/initrd", "/w/disk.img", "/l/console.log", "/l/results.log", "/l/alive.log");

    [Theory]
    [InlineData("512", "virtio-blk-pci,drive=test,logical_block_size=512,physical_block_size=512")]
    [InlineData("512e", "virtio-blk-pci,drive=test,logical_block_size=512,physical_block_size=4096")]
    [InlineData("4kn", "virtio-blk-pci,drive=test,logical_block_size=4096,physical_block_size=4096")]
    public void Setup_sectors_become_the_test_disks_block_sizes(string sectors, string device)
    {
        var setup = SetupLoader.Parse("s.yaml", $"setups:\n  a:\n    fs: ext4\n    disk: {{sectors: {sectors}}}\n").Single();

        var args = QemuCommandLine.Build(Options(), Paths, setup.ToFilesystem().Geometry);

        Assert.Equal(device, args[args.ToList().IndexOf("-device", args.ToList().IndexOf("-drive")) + 1]);
    }

    [Theory]
    [InlineData("virtio-scsi")]
    [InlineData("nvme")]
    public void Buses_other_than_virtio_blk_are_refused_as_not_built(string bus)
    {
        var setup = SetupLoader.Parse("s.yaml", $"setups:\n  a:\n    fs: ext4\n    disk: {{bus: {bus}}}\n").Single();

        Assert.Contains($"bus {bus} is not built yet on the QEMU machine", QemuDisk.Problem(setup.Geometry));
        var e = Assert.Throws<MachineException>(() => QemuCommandLine.Build(Options(), Paths, setup.Geometry));
        Assert.Contains("not built yet", e.Message);
    }

    [Fact]
    public void Setup_mount_options_reach_the_guest_settings_and_both_mounts_of_the_init()
    {
        var setup = SetupLoader.Parse("s.yaml", "setups:\n  a:\n    fs: ext4\n    mount-options: dioread_nolock,noatime\n").Single();
        var tiny = new CaseCatalog(RepoPaths.Cases).Find("tiny");
        var cell = new CellRequest("a-tiny", setup.ToFilesystem(), tiny, 1, "/w", "/l");

        var env = Encoding.UTF8.GetString(new QemuMachine(Options(), TextWriter.Null).CellFiles(cell, remount: true, probe: false).Single(f => f.GuestPath == "/harness/cell.env").Content);

        Assert.Contains("MOUNT_OPTS='dioread_nolock,noatime'\n", env);
        Assert.Equal(2, GuestInit.Script.Split('\n').Count(l => l.Contains("mount -t \"$FS_TYPE\" ${MOUNT_OPTS:+-o \"$MOUNT_OPTS\"} /dev/vda /mnt/test", StringComparison.Ordinal)));
    }
}
