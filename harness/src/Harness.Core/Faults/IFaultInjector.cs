// Deliberate damage between (or around) the write phase and the read-back: proves, end to end,
// that the harness sees what it claims to see. One fault per finding class; each says which
// class it must produce, so a test can hold it to that.
using Harness.Golden;
using Harness.Workload;

namespace Harness.Faults;

/// <summary>A file extent: logical and physical byte offsets as FIEMAP reports them.</summary>
public sealed record FileExtent(long Logical, long Physical, long Length);

/// <summary>When a fault acts, relative to the write phase of an iteration.</summary>
public enum FaultStage
{
    /// <summary>Armed before the write phase and disarmed after it (the device fails under the workload).</summary>
    DuringWrite,
    /// <summary>After the write phase, on the mounted file (size changes).</summary>
    AfterWriteMounted,
    /// <summary>After the write phase, on the unmounted image's raw bytes, before the remount read-back.</summary>
    AfterWriteUnmounted,
}

/// <summary>
/// What a fault may touch: the image, the plan, and where the file lives. <see cref="Extents"/>
/// hold FIEMAP's physical addresses; on btrfs those are its own logical addresses, which
/// <see cref="DeviceAddress"/> maps to image offsets.
/// </summary>
public sealed record FaultContext(string ImagePath, WorkloadPlan Plan, IReadOnlyList<FileExtent> Extents)
{
    /// <summary>The target file's path on the mounted filesystem (<see cref="FaultStage.AfterWriteMounted"/>).</summary>
    public string? TargetPath { get; init; }

    /// <summary>Maps a FIEMAP physical address to a byte offset in the image (null: identity).</summary>
    public Func<long, CancellationToken, Task<long>>? DeviceAddress { get; init; }

    /// <summary>The image offset holding file offset <paramref name="fileOffset"/>.</summary>
    public async Task<long> ImageOffsetAsync(long fileOffset, CancellationToken cancellationToken)
    {
        var extent = Extents.FirstOrDefault(e => fileOffset >= e.Logical && fileOffset < e.Logical + e.Length)
            ?? throw new Machines.MachineException($"file offset {fileOffset} is not mapped in the image (no extent): the fault cannot be aimed");
        var physical = extent.Physical + (fileOffset - extent.Logical);
        return DeviceAddress is null ? physical : await DeviceAddress(physical, cancellationToken);
    }
}

/// <summary>Damages the data or the device at <see cref="Stage"/>; the finding class it must produce is <see cref="Proves"/>.</summary>
public interface IFaultInjector
{
    string Name { get; }

    /// <summary>The finding class the judge must report for this fault.</summary>
    FindingClass Proves { get; }

    FaultStage Stage { get; }

    /// <summary>One line for --help and the README: what the fault does.</summary>
    string Description { get; }

    Task ApplyAsync(FaultContext context, CancellationToken cancellationToken);
}

/// <summary>A <see cref="FaultStage.DuringWrite"/> fault: armed before the write phase, always disarmed after it.</summary>
public interface IArmedFault : IFaultInjector
{
    Task DisarmAsync(FaultContext context, CancellationToken cancellationToken);
}

/// <summary>Fault injectors by name, for the command line.</summary>
public static class FaultCatalog
{
    public static IReadOnlyList<IFaultInjector> All { get; } =
    [
        new ZeroSubBlockFault(), new StaleFault(), new ForeignFault(), new TornFault(), new LostWriteFault(), new SizeFault(), new IoErrorFault(),
    ];

    public static IReadOnlyList<string> Names { get; } = [.. All.Select(f => f.Name)];

    public static IFaultInjector Create(string name) =>
        All.FirstOrDefault(f => f.Name == name)
        ?? throw new Yaml.InputException(new Yaml.InputProblem("--fault", 0, 0, "--fault", $"unknown fault '{name}'; valid: {string.Join(", ", Names)}"));
}
