// Parses the results port's framing (see GuestInit) into agent reports as they arrive.
using System.Globalization;
using System.Text;
using System.Text.Json;
using Harness.Workload;

namespace Harness.Machines.Qemu;

/// <summary>One framed report: iteration, phase, the agent's exit code and its report (null if unreadable).</summary>
internal sealed record Frame(int Iteration, AgentPhase Phase, int ExitCode, AgentReport? Report, string Raw);

internal sealed class ResultFrames
{
    private readonly StringBuilder _pending = new();
    private (int Iteration, AgentPhase Phase, StringBuilder Body)? _open;

    public bool Done { get; private set; }
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
            _open = (int.Parse(parts[1], CultureInfo.InvariantCulture), Phase(parts[2]), new StringBuilder());
        }
        else if (line.StartsWith("@@end ", StringComparison.Ordinal) && _open is { } open)
        {
            var parts = line.Split(' ');
            var rc = parts.Length > 3 && int.TryParse(parts[3], CultureInfo.InvariantCulture, out var code) ? code : -1;
            var body = open.Body.ToString();
            frames.Add(new Frame(open.Iteration, open.Phase, rc, TryParse(body), body));
            _open = null;
        }
        else if (line.StartsWith("@@error ", StringComparison.Ordinal))
        {
            GuestError ??= line["@@error ".Length..];
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

    private static AgentReport? TryParse(string body)
    {
        try { return JsonSerializer.Deserialize(body, AgentJsonContext.Default.AgentReport); }
        catch (JsonException) { return null; }
    }
}
