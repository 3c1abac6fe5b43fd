// Where the agent reads machine facts from and which clock it uses, passed in so tests and
// odd guests (a /proc mounted elsewhere) need no global state.
namespace Harness.Agent;

/// <summary>The machine-facing locations and clock the agent uses.</summary>
public sealed record AgentEnvironment(string OsReleasePath, string CpuOnlinePath, string DropCachesPath, TimeProvider Time)
{
    /// <summary>Where block devices are listed by major:minor (for the logical block size when statx has no DIOALIGN).</summary>
    public string SysDevBlockPath { get; init; } = "/sys/dev/block";

    /// <summary>The standard Linux locations and the system monotonic clock.</summary>
    public static AgentEnvironment Linux { get; } = new(
        "/proc/sys/kernel/osrelease",
        "/sys/devices/system/cpu/online",
        "/proc/sys/vm/drop_caches",
        TimeProvider.System);
}
