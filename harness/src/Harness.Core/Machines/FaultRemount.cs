// The step between a cell's write phase and its read-back on a machine that owns the image: unmount,
// apply the fault at its stage, mount again. One sequence for the local and docker-host machines,
// which differ only in where the mount happens (the host, or inside the cell's container).
using Harness.Faults;
using Harness.Workload;

namespace Harness.Machines;

internal static class FaultRemount
{
    /// <summary>
    /// Unmounts, applies <paramref name="fault"/> (mounted: on <paramref name="target"/>, the file as the host sees
    /// it; unmounted: on <paramref name="imagePath"/> at the file's extents), mounts again; any failure is a
    /// <see cref="MachineException"/>.
    /// </summary>
    public static async Task RunAsync(CellRequest cell, string imagePath, string target, WorkloadPlan plan, IFaultInjector? fault,
        Func<CancellationToken, Task> unmount, Func<CancellationToken, Task> mount, CancellationToken cancellationToken)
    {
        try
        {
            if (fault?.Stage == FaultStage.AfterWriteMounted)
                await fault.ApplyAsync(new FaultContext(imagePath, plan, []) { TargetPath = target }, cancellationToken);
            var extents = fault?.Stage == FaultStage.AfterWriteUnmounted ? await FileExtents.ReadAsync(target, cancellationToken) : [];
            await unmount(cancellationToken);
            if (fault?.Stage == FaultStage.AfterWriteUnmounted)
            {
                Func<long, CancellationToken, Task<long>>? map = cell.Filesystem.Name == "btrfs"
                    ? (logical, token) => BtrfsAddresses.MapAsync(imagePath, logical, token)
                    : null;
                await fault.ApplyAsync(new FaultContext(imagePath, plan, extents) { DeviceAddress = map }, cancellationToken);
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            throw new MachineException($"fault {fault?.Name} could not be applied: {e.Message}", e);
        }
        try
        {
            await mount(cancellationToken);
        }
        catch (MachineException e)
        {
            throw new MachineException($"remount after the write phase failed: {e.Message}", e);
        }
    }
}
