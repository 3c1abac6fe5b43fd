// A setup's disk and mount options under QEMU: the test disk's sector sizes on the command line,
// the mount options in the guest's settings and init, each bus's devices and guest disk name.
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
    [InlineData("virtio-scsi", "512e", "virtio-scsi-pci,id=scsi0|scsi-hd,drive=test,bus=scsi0.0,channel=0,scsi-id=0,lun=0,logical_block_size=512,physical_block_size=4096", "sda")]
    [InlineData("nvme", "4kn", "nvme,drive=test,serial=harness-test,logical_block_size=4096,physical_block_size=4096", "nvme0n1")]
    [InlineData("virtio-blk", "512", "virtio-blk-pci,drive=test,logical_block_size=512,physical_block_size=512", "vda")]
    public void Each_bus_gets_its_devices_with_the_setups_sector_sizes_and_the_guest_looks_for_its_disk(string bus, string sectors, string devices, string guestDisk)
    {
        var setup = SetupLoader.Parse("s.yaml", $"setups:\n  a:\n    fs: ext4\n    disk: {{sectors: {sectors}, bus: {bus}}}\n").Single();
        var tiny = new CaseCatalog(RepoPaths.Cases).Find("tiny");
        var cell = new CellRequest("a-tiny", setup.ToFilesystem(), tiny, 1, "/w", "/l");

        var args = QemuCommandLine.Build(Options(), Paths, setup.Geometry).ToList();
        var env = Encoding.UTF8.GetString(new QemuMachine(Options(), TextWriter.Null).CellFiles(cell, remount: false, probe: false).Single(f => f.GuestPath == "/harness/cell.env").Content);

        Assert.Null(QemuDisk.Problem(setup.Geometry));
        // The test disk's -device values follow the drive, in order.
        var drive = args.IndexOf("-drive");
        var expected = devices.Split('|');
        Assert.Equal(expected, Enumerable.Range(0, expected.Length).Select(i => args[drive + 3 + 2 * i]));
        Assert.All(Enumerable.Range(0, expected.Length), i => Assert.Equal("-device", args[drive + 2 + 2 * i]));
        Assert.Contains($"TEST_DISK={guestDisk}\n", env);
    }

    [Fact]
    public void The_guest_init_mounts_and_watches_the_disk_named_by_the_settings_not_a_fixed_vda()
    {
        Assert.DoesNotContain("/dev/vda", GuestInit.Script);
        Assert.Contains("DISK=\"/dev/${TEST_DISK:-vda}\"", GuestInit.Script);
        Assert.Contains("HARNESS-DISK $DISK logical=", GuestInit.Script);
    }

    [Fact]
    public void A_kernel_with_the_bus_drivers_as_modules_gets_them_and_a_kernel_without_them_is_refused_naming_the_symbol()
    {
        var scsi = QemuDisk.For(DiskBus.VirtioScsi);
        var config = KernelConfigCheck.Parse("CONFIG_BLK_DEV_SD=m\nCONFIG_SCSI_VIRTIO=m\nCONFIG_BLK_DEV_NVME=y\n");

        Assert.Empty(KernelConfigCheck.Unmet(config, scsi.Config, scsi.Modules.ToArray()));
        Assert.Empty(KernelConfigCheck.Unmet(config, QemuDisk.For(DiskBus.Nvme).Config, []));
        // Planted defect: the same =m config booted without the modules, and a config without NVMe.
        Assert.Contains(KernelConfigCheck.Unmet(config, scsi.Config, ["virtio_blk"]), u => u.Contains("CONFIG_SCSI_VIRTIO=m", StringComparison.Ordinal));
        Assert.Contains(KernelConfigCheck.Unmet(KernelConfigCheck.Parse("CONFIG_BLK_DEV_SD=y\n"), QemuDisk.For(DiskBus.Nvme).Config, []), u => u.Contains("CONFIG_BLK_DEV_NVME", StringComparison.Ordinal));
    }

    [Fact]
    public void Setup_mount_options_reach_the_guest_settings_and_both_mounts_of_the_init()
    {
        var setup = SetupLoader.Parse("s.yaml", "setups:\n  a:\n    fs: ext4\n    mount-options: dioread_nolock,noatime\n").Single();
        var tiny = new CaseCatalog(RepoPaths.Cases).Find("tiny");
        var cell = new CellRequest("a-tiny", setup.ToFilesystem(), tiny, 1, "/w", "/l");

        var env = Encoding.UTF8.GetString(new QemuMachine(Options(), TextWriter.Null).CellFiles(cell, remount: true, probe: false).Single(f => f.GuestPath == "/harness/cell.env").Content);

        Assert.Contains("MOUNT_OPTS='dioread_nolock,noatime'\n", env);
        Assert.Equal(2, GuestInit.Script.Split('\n').Count(l => l.Contains("mount -t \"$FS_TYPE\" ${MOUNT_OPTS:+-o \"$MOUNT_OPTS\"} \"$DISK\" /mnt/test", StringComparison.Ordinal)));
    }
}
