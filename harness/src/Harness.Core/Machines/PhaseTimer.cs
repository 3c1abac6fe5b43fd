// Phase timing shared by the machines (see PhaseTime: an iteration's phases add up to its wall time).
using Harness.Workload;

namespace Harness.Machines;

/// <summary>
/// Splits a machine's wall time into named phases: each mark closes the phase since the last one.
/// For an agent run, only what the agent's own phases do not cover is the machine's ("agent-write
/// start": process start, request and report files), so nothing is counted twice.
/// </summary>
internal sealed class PhaseTimer
{
    private readonly List<PhaseTime> _phases = [];
    private readonly long _start = System.Diagnostics.Stopwatch.GetTimestamp();
    private long _since;

    public PhaseTimer() => _since = _start;

    public IReadOnlyList<PhaseTime> Phases => _phases.ToArray();

    /// <summary>Seconds from this timer's creation to its last mark: the wall time its phases split.</summary>
    public double Total => System.Diagnostics.Stopwatch.GetElapsedTime(_start, _since).TotalSeconds;

    public void Mark(string name)
    {
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        _phases.Add(new PhaseTime(name, System.Diagnostics.Stopwatch.GetElapsedTime(_since, now).TotalSeconds));
        _since = now;
    }

    public void MarkAgent(string name, AgentReport report)
    {
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        var wall = System.Diagnostics.Stopwatch.GetElapsedTime(_since, now).TotalSeconds;
        _phases.Add(new PhaseTime(name + " start", Math.Max(0, wall - report.Phases.Sum(p => p.Seconds))));
        _since = now;
    }
}
