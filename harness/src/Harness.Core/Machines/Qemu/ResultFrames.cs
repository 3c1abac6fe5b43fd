// Parses the results port's framing (see GuestInit) into agent reports as they arrive.
using System.Globalization;
using System.Text;
using System.Text.Json;
using Harness.Workload;

namespace Harness.Machines.Qemu;

/// <summary>One framed report: iteration, phase, the agent's exit code and its report (null if unreadable).</summary>
internal sealed record Frame(int Iteration, AgentPhase Phase, int ExitCode, AgentReport? Report, string Raw)
{
    /// <summary>The guest's own phases that ended since the previous frame (mount, remount), then the agent process's
    /// start and report time: its wall time in the guest less the phases the agent timed itself.</summary>
    public IReadOnlyList<PhaseTime> GuestPhases { get; init; } = [];
}

internal sealed class ResultFrames
{
    private readonly StringBuilder _pending = new();
    private (int Iteration, AgentPhase Phase, StringBuilder Body, double? Begin)? _open;
    private readonly List<PhaseTime> _guestPhases = [];
    private double? _lastUptime;

    /// <summary>The guest's phases marked after the last frame (unmount at the end); taken once.</summary>
    public IReadOnlyList<PhaseTime> TakeGuestPhases()
    {
        var taken = _guestPhases.ToArray();
        _guestPhases.Clear();
        return taken;
    }

    public bool Done { get; private set; }

    /// <summary>Set by "@@idle": the guest ran the iterations asked for and unmounted the test disk; cleared by <see cref="TakeIdle"/>.</summary>
    public bool Idle { get; private set; }

    public bool TakeIdle()
    {
        var idle = Idle;
        Idle = false;
        return idle;
    }
    public string? GuestError { get; private set; }

    /// <summary>Feeds new text; returns frames completed by it.</summary>
    public IReadOnlyList<Frame> Feed(string text)
    {
        var frames = new List<Frame>();
        _pending.Append(text);
        while (true)
        {
            var s = _pending.ToString();
            var newline = s.IndexOf('\n');
            if (newline < 0) break;
            var line = s[..newline].TrimEnd('\r');
            _pending.Remove(0, newline + 1);
            Line(line, frames);
        }
        return frames;
    }

    private void Line(string line, List<Frame> frames)
    {
        if (line.StartsWith("@@begin ", StringComparison.Ordinal))
        {
            var parts = line.Split(' ');
            var begin = Uptime(parts, 3);
            _open = (int.Parse(parts[1], CultureInfo.InvariantCulture), Phase(parts[2]), new StringBuilder(), begin);
            if (begin is not null) _lastUptime = begin;
        }
        else if (line.StartsWith("@@end ", StringComparison.Ordinal) && _open is { } open)
        {
            var parts = line.Split(' ');
            var rc = parts.Length > 3 && int.TryParse(parts[3], CultureInfo.InvariantCulture, out var code) ? code : -1;
            var body = open.Body.ToString();
            var report = TryParse(body);
            if (open.Begin is { } begin && Uptime(parts, 4) is { } end)
            {
                _guestPhases.Add(new PhaseTime($"agent-{Word(open.Phase)} start", Math.Max(0, end - begin - (report?.Phases.Sum(p => p.Seconds) ?? 0))));
                _lastUptime = end;
            }
            frames.Add(new Frame(open.Iteration, open.Phase, rc, report, body) { GuestPhases = TakeGuestPhases() });
            _open = null;
        }
        else if (line.StartsWith("@@mark ", StringComparison.Ordinal))
        {
            var parts = line.Split(' ');
            if (parts.Length >= 3 && Uptime(parts, 2) is { } at)
            {
                // "booted" starts the clock; every later mark closes the phase since the last one.
                if (_lastUptime is { } since && parts[1] != "booted") _guestPhases.Add(new PhaseTime(parts[1], Math.Max(0, at - since)));
                _lastUptime = at;
            }
        }
        else if (line.StartsWith("@@error ", StringComparison.Ordinal))
        {
            GuestError ??= line["@@error ".Length..];
        }
        else if (line == "@@idle")
        {
            Idle = true;
        }
        else if (line == "@@done")
        {
            Done = true;
        }
        else
        {
            _open?.Body.AppendLine(line);
        }
    }

    private static AgentPhase Phase(string word) => word == "readback" ? AgentPhase.Readback : AgentPhase.Write;

    private static string Word(AgentPhase phase) => phase == AgentPhase.Readback ? "readback" : "write";

    private static double? Uptime(string[] parts, int index) =>
        parts.Length > index && double.TryParse(parts[index], NumberStyles.Float, CultureInfo.InvariantCulture, out var up) ? up : null;

    private static AgentReport? TryParse(string body)
    {
        try { return JsonSerializer.Deserialize(body, AgentJsonContext.Default.AgentReport); }
        catch (JsonException) { return null; }
    }
}
