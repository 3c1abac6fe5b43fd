// The fixed set of outcome words (TuxRun style) and how they combine. Shared by the run
// table, reports, validate and bisection (which maps them to git's good/bad/skip).
namespace Harness.Verdicts;

/// <summary>What happened to an iteration, a cell or a run.</summary>
public enum Outcome
{
    /// <summary>The workload ran as planned and every sector read back held a legal value.</summary>
    Pass,
    /// <summary>Data was wrong: corruption, a lost acknowledged write, a failed or short write, a size or fsck finding.</summary>
    Fail,
    /// <summary>
    /// The kernel under test failed: panic, oops, BUG, sanitizer or lockdep report, a guest reset,
    /// or a hung task while the workload made no progress. Its fault, counted against it.
    /// </summary>
    Crash,
    /// <summary>The harness or the host broke; says nothing about the kernel's correctness.</summary>
    Error,
    /// <summary>Could not run here, with the reason (e.g. the device cannot take the case's alignment).</summary>
    Skip,
}

public static class Outcomes
{
    /// <summary>Exit code of a run that was interrupted (SIGINT, SIGTERM, SIGHUP): 128 + SIGINT, as shells report it.</summary>
    public const int InterruptedExitCode = 130;

    /// <summary>
    /// The worst outcome wins, in the order FAIL &gt; CRASH &gt; ERROR &gt; SKIP &gt; PASS: a finding is
    /// never hidden by a later breakage, and PASS needs every part to have passed. Empty is SKIP
    /// (nothing was decided).
    /// </summary>
    public static Outcome Combine(IEnumerable<Outcome> outcomes)
    {
        var seen = outcomes.ToHashSet();
        if (seen.Count == 0) return Outcome.Skip;
        foreach (var o in Severity)
            if (seen.Contains(o)) return o;
        return Outcome.Pass;
    }

    /// <summary>From worst to best.</summary>
    public static IReadOnlyList<Outcome> Severity { get; } = [Outcome.Fail, Outcome.Crash, Outcome.Error, Outcome.Skip, Outcome.Pass];

    /// <summary>
    /// The documented exit codes of <c>harness run</c>: 0 all PASS, 1 some FAIL or CRASH, 3 ERROR,
    /// 4 nothing decided (SKIP). 2 is bad input and 130 an interrupted run, decided by the caller.
    /// </summary>
    public static int ExitCode(Outcome outcome) => outcome switch
    {
        Outcome.Fail or Outcome.Crash => 1,
        Outcome.Error => 3,
        Outcome.Skip => 4,
        _ => 0,
    };

    /// <summary>True for outcomes that say the kernel under test misbehaved (counted as failures by validate and bisect).</summary>
    public static bool CountsAgainstKernel(Outcome outcome) => outcome is Outcome.Fail or Outcome.Crash;

    public static string Word(Outcome outcome) => outcome.ToString().ToUpperInvariant();
}
