// Progress of long work (a kernel build, a boot, a validate look) as data: how much is done out
// of what total, and how that total was estimated. The logic reports it; the terminal layer
// decides how it looks (Cli/Terminal/LiveProgress.cs: a live bar on a terminal), and a plain
// writer gets one line per report, so CI logs and pipes stay line by line.
using System.Globalization;

namespace Harness.Progress;

/// <summary>
/// One report of <paramref name="Task"/> (e.g. "building linux-6.1"): <paramref name="Done"/> of
/// <paramref name="Total"/> <paramref name="Unit"/> (null: no total known) after <paramref name="Elapsed"/>.
/// </summary>
public sealed record WorkProgress(string Task, string Unit, long Done, long? Total, TimeSpan Elapsed)
{
    /// <summary>Where <see cref="Total"/> came from (shown with it, since an estimate can be wrong).</summary>
    public string? Estimate { get; init; }

    /// <summary>The work ended (the live bar goes away).</summary>
    public bool Finished { get; init; }

    /// <summary>
    /// Remaining time at the rate so far (elapsed per unit done, times the units left): null without a
    /// total, before <see cref="MinimumForEta"/> units, or past the total (the estimate was low).
    /// </summary>
    public TimeSpan? Eta => Total is { } t && Done >= MinimumForEta && Done < t && !Finished ? Elapsed / Done * (t - Done) : null;

    /// <summary>Units done before the rate is trusted for an ETA.</summary>
    public const int MinimumForEta = 20;

    /// <summary>The plain line: "building linux-6.1: 1200/5300 files (23 %), 4.1 min, ETA 13 min (total: ...)".</summary>
    public string ToLine()
    {
        var done = Total is { } t
            ? Inv($"{Done}/{t} {Unit} ({Math.Min(100, Done * 100.0 / Math.Max(1, t)):0} %)")
            : Inv($"{Done} {Unit}");
        var eta = Eta is { } e ? Inv($", ETA {Span(e)}") : Total is { } total && Done >= total && !Finished ? ", past the estimate" : "";
        return Inv($"{Task}: {done}, {Span(Elapsed)}{eta}{(Estimate is { } s ? $" (total: {s})" : "")}");
    }

    /// <summary>"45 s", "3.2 min".</summary>
    public static string Span(TimeSpan t) => t.TotalSeconds < 90 ? Inv($"{t.TotalSeconds:0} s") : Inv($"{t.TotalMinutes:0.0} min");

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

/// <summary>A progress writer that draws <see cref="WorkProgress"/> itself (a live terminal) rather than as lines.</summary>
public interface IWorkProgressSink
{
    void Report(WorkProgress progress);
}

public static class WorkProgressWriter
{
    /// <summary>Whether <paramref name="progress"/> draws reports live (so reporting often costs nothing in the log).</summary>
    public static bool IsLive(TextWriter progress) => progress is IWorkProgressSink;

    /// <summary>
    /// Hands the report to a live writer, or writes its line to a plain one when <paramref name="plainLine"/>
    /// (callers report often live and seldom plainly: a plain log gets a line every so many seconds).
    /// </summary>
    public static void Report(TextWriter progress, WorkProgress report, bool plainLine = true)
    {
        if (progress is IWorkProgressSink sink) sink.Report(report);
        else if (plainLine) progress.WriteLine(report.ToLine());
    }
}
