// The QEMU test disk for a setup's geometry: QEMU's own logical_block_size and
// physical_block_size properties give 512, 512e and 4Kn disks to the guest kernel, on the
// setup's bus (virtio-blk, virtio-scsi with a scsi-hd, or an emulated NVMe controller).
// A bus is data: its -device values, the block device the guest sees, the drivers it needs.
using System.Globalization;
using Harness.Kernels;
using Harness.Setups;

namespace Harness.Machines.Qemu;

/// <summary>
/// One bus of the test disk: the <c>-device</c> values for drive id "test" (<paramref name="Devices"/>,
/// "{l}" and "{p}" filled with the logical and physical sector), the block device name the guest
/// kernel gives it (<paramref name="GuestDevice"/>, under /dev and /sys/block), the modules a kernel
/// that has them as modules must load (in the initramfs) and the config symbols a built kernel needs.
/// </summary>
public sealed record QemuBus(DiskBus Bus, IReadOnlyList<string> Devices, string GuestDevice, IReadOnlyList<string> Modules, IReadOnlyList<ConfigRequirement> Config);

public static class QemuDisk
{
    private static ConfigRequirement Need(string why, string symbol, string? module = null) => new(why, [new ConfigSymbol(symbol, module)]);

    /// <summary>Every bus the QEMU machine builds, by <see cref="DiskBus"/>.</summary>
    public static IReadOnlyList<QemuBus> Buses { get; } =
    [
        new(DiskBus.VirtioBlk, ["virtio-blk-pci,drive=test,logical_block_size={l},physical_block_size={p}"], "vda",
            ["virtio_blk"], [Need("the test disk is virtio-blk", "CONFIG_VIRTIO_BLK", "virtio_blk")]),
        // One controller, one disk on it: the guest's only SCSI disk is sda. Debian's cloud kernels
        // have SCSI, sd and virtio_scsi as modules (scsi_mod/scsi_common come in as their dependencies).
        new(DiskBus.VirtioScsi, ["virtio-scsi-pci,id=scsi0", "scsi-hd,drive=test,bus=scsi0.0,channel=0,scsi-id=0,lun=0,logical_block_size={l},physical_block_size={p}"], "sda",
            ["sd_mod", "virtio_scsi"],
            [Need("a virtio-scsi test disk needs SCSI disk support", "CONFIG_BLK_DEV_SD", "sd_mod"),
             Need("a virtio-scsi test disk needs the virtio-scsi driver", "CONFIG_SCSI_VIRTIO", "virtio_scsi")]),
        // QEMU's nvme device puts the drive in namespace 1 of controller 0; a serial is required.
        // Debian's cloud kernels have NVMe built in (CONFIG_BLK_DEV_NVME=y).
        new(DiskBus.Nvme, ["nvme,drive=test,serial=harness-test,logical_block_size={l},physical_block_size={p}"], "nvme0n1",
            ["nvme"], [Need("an NVMe test disk needs the NVMe driver", "CONFIG_BLK_DEV_NVME", "nvme")]),
    ];

    /// <summary>The bus entry for <paramref name="bus"/>.</summary>
    public static QemuBus For(DiskBus bus) => Buses.Single(b => b.Bus == bus);

    /// <summary>Why the QEMU machine cannot give a setup its disk, or null (every bus is built).</summary>
    public static string? Problem(DiskGeometry geometry) =>
        Buses.Any(b => b.Bus == geometry.Bus) ? null : $"bus {DiskGeometry.BusName(geometry.Bus)} is not built on the QEMU machine";

    /// <summary>The -device values of the test disk (drive id "test"), in order.</summary>
    public static IReadOnlyList<string> Devices(DiskGeometry geometry)
    {
        if (Problem(geometry) is { } problem) throw new MachineException(problem);
        static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        return [.. For(geometry.Bus).Devices.Select(d => d.Replace("{l}", I(geometry.LogicalSector), StringComparison.Ordinal).Replace("{p}", I(geometry.PhysicalSector), StringComparison.Ordinal))];
    }

    /// <summary>The test disk's name in the guest (vda, sda, nvme0n1).</summary>
    public static string GuestDevice(DiskGeometry geometry) => For(geometry.Bus).GuestDevice;
}
