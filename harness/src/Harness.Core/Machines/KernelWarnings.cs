// Kernel warnings (WARN_ON traces, RCU stalls, a hung-task report while the workload still
// moved) seen while a cell ran. They do not decide the outcome; they ride along with the cell
// so a reviewer sees that the kernel complained.
namespace Harness.Machines;

/// <summary>How many warnings the kernel printed, and the first <see cref="Kept"/> of them (timestamps removed).</summary>
public sealed record KernelWarnings(int Count, IReadOnlyList<string> First)
{
    /// <summary>Warnings kept verbatim; the count is always the full one.</summary>
    public const int Kept = 5;

    public static KernelWarnings None { get; } = new(0, []);
}
