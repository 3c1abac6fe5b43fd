// The QEMU test disk for a setup's geometry: QEMU's own logical_block_size and
// physical_block_size properties give 512, 512e and 4Kn disks to the guest kernel.
using System.Globalization;
using Harness.Setups;

namespace Harness.Machines.Qemu;

public static class QemuDisk
{
    /// <summary>
    /// Why the QEMU machine cannot give a setup its disk, or null. Only virtio-blk is built: the
    /// guest init waits for /dev/vda and the guest configs carry no SCSI or NVMe driver yet.
    /// </summary>
    public static string? Problem(DiskGeometry geometry) =>
        geometry.Bus == DiskBus.VirtioBlk ? null
            : $"bus {DiskGeometry.BusName(geometry.Bus)} is not built yet on the QEMU machine (the guest init and kernel configs know virtio-blk only)";

    /// <summary>The -device value of the test disk (drive id "test").</summary>
    public static string Device(DiskGeometry geometry)
    {
        if (Problem(geometry) is { } problem) throw new MachineException(problem);
        static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        return $"virtio-blk-pci,drive=test,logical_block_size={I(geometry.LogicalSector)},physical_block_size={I(geometry.PhysicalSector)}";
    }
}
