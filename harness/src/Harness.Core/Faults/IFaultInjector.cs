// Deliberate corruption between write and read-back: proves, end to end, that the harness
// sees what it claims to see. The start of the fault-injection suite.
using Harness.Workload;

namespace Harness.Faults;

/// <summary>A file extent: logical and physical byte offsets as FIEMAP reports them.</summary>
public sealed record FileExtent(long Logical, long Physical, long Length);

/// <summary>What a fault may touch: the unmounted image and where the file lives in it.</summary>
public sealed record FaultContext(string ImagePath, WorkloadPlan Plan, IReadOnlyList<FileExtent> Extents);

/// <summary>Corrupts the image after the write phase, before the remount read-back.</summary>
public interface IFaultInjector
{
    string Name { get; }

    Task ApplyAsync(FaultContext context, CancellationToken cancellationToken);
}

/// <summary>
/// Zeroes a sub-block range where two IOs share an fs block: exactly what the 2010 race
/// leaves behind (the head of IO 1, in the block that also holds the tail of IO 0).
/// </summary>
public sealed class ZeroSubBlockFault(int sectors = 2) : IFaultInjector
{
    public string Name => "zero-sub-block";

    public async Task ApplyAsync(FaultContext context, CancellationToken cancellationToken)
    {
        var target = context.Plan.Ios.Count > 1 ? context.Plan.Ios[1] : context.Plan.Ios[0];
        var physical = Physical(context.Extents, target.Offset)
            ?? throw new InvalidOperationException($"file offset {target.Offset} is not mapped in the image (no extent)");
        await using var image = new FileStream(context.ImagePath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        image.Position = physical;
        await image.WriteAsync(new byte[Math.Min(sectors * SectorFormat.SectorSize, target.Length)], cancellationToken);
        await image.FlushAsync(cancellationToken);
        image.Flush(flushToDisk: true);
    }

    private static long? Physical(IReadOnlyList<FileExtent> extents, long logical) =>
        extents.FirstOrDefault(e => logical >= e.Logical && logical < e.Logical + e.Length) is { } e
            ? e.Physical + (logical - e.Logical)
            : null;
}

/// <summary>Fault injectors by name, for the command line.</summary>
public static class FaultCatalog
{
    public static IReadOnlyList<string> Names { get; } = ["zero-sub-block"];

    public static IFaultInjector Create(string name) => name switch
    {
        "zero-sub-block" => new ZeroSubBlockFault(),
        _ => throw new Yaml.InputException(new Yaml.InputProblem("--fault", 0, 0, "--fault", $"unknown fault '{name}'; valid: {string.Join(", ", Names)}")),
    };
}
