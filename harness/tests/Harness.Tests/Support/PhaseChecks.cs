// Phase timings must explain an iteration's wall time: every phase measured, none negative,
// and their sum within a tolerance of the host-measured wall time (polling and process start
// are the only time nobody claims).
using Harness.Results;
using Xunit;

namespace Harness.Tests.Support;

internal static class PhaseChecks
{
    /// <summary>Asserts the phases named are present and the phases add up to <see cref="IterationResult.Seconds"/>.</summary>
    public static void AddUp(IterationResult iteration, params string[] expected)
    {
        Assert.True(iteration.Seconds > 0, "the iteration's wall time was recorded");
        Assert.All(iteration.Phases, p => Assert.True(p.Seconds >= 0, $"{p.Name}: {p.Seconds} s"));
        var names = iteration.Phases.Select(p => p.Name).ToHashSet();
        foreach (var name in expected) Assert.True(names.Contains(name), $"phase '{name}' missing; got {string.Join(", ", names)}");
        var sum = iteration.Phases.Sum(p => p.Seconds);
        var tolerance = Math.Max(0.5, 0.15 * iteration.Seconds);
        Assert.True(Math.Abs(sum - iteration.Seconds) <= tolerance,
            $"phases add up to {sum:F3} s, the iteration took {iteration.Seconds:F3} s (tolerance {tolerance:F2} s): " +
            string.Join(", ", iteration.Phases.Select(p => $"{p.Name} {p.Seconds:F3}")));
    }
}
