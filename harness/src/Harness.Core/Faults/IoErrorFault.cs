// A real IO error from the kernel's block layer, on a host kernel without device-mapper: the
// filesystem keeps its journal on a second, healthy loop device, and the data image is made
// immutable (chattr +i) for the write phase. The loop driver's writes to an immutable backing
// file fail (EPERM), which the block layer turns into EIO for the filesystem: every data write
// of the workload comes back -EIO while fsync (journal only) and reads still work, the same
// effect as dm-flakey's error_writes. Disarmed (chattr -i) right after the write phase.
using Harness.Golden;
using Harness.Machines;

namespace Harness.Faults;

/// <summary>Data writes fail with EIO for the whole write phase; the judge must say FAIL io-error.</summary>
public sealed class IoErrorFault : IArmedFault
{
    public string Name => "io-error";
    public FindingClass Proves => FindingClass.IoError;
    public FaultStage Stage => FaultStage.DuringWrite;
    public string Description => "fails every data write of the write phase with a real EIO (journal on a healthy device, data image immutable); no free-space dirt then";

    public Task ApplyAsync(FaultContext context, CancellationToken cancellationToken) =>
        HostCommand.RunAsync("chattr", ["+i", context.ImagePath], cancellationToken);

    public Task DisarmAsync(FaultContext context, CancellationToken cancellationToken) =>
        HostCommand.RunAsync("chattr", ["-i", context.ImagePath], cancellationToken);
}
