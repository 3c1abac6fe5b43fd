// The fixed set of outcome words (TuxRun style) and how they combine. Shared by the run
// table, reports and, later, bisection (which maps them to git's good/bad/skip).
namespace Harness.Verdicts;

/// <summary>What happened to an iteration, a cell or a run.</summary>
public enum Outcome
{
    /// <summary>Every sector held a legal value.</summary>
    Pass,
    /// <summary>Corruption or an acknowledged write lost.</summary>
    Fail,
    /// <summary>The harness or the machine broke; says nothing about the kernel's correctness.</summary>
    Error,
    /// <summary>Not run, with a reason.</summary>
    Skip,
}

public static class Outcomes
{
    /// <summary>FAIL beats ERROR beats PASS: a finding is never hidden by a later breakage. All-SKIP (or empty) is SKIP.</summary>
    public static Outcome Combine(IEnumerable<Outcome> outcomes)
    {
        var seen = outcomes.ToHashSet();
        if (seen.Contains(Outcome.Fail)) return Outcome.Fail;
        if (seen.Contains(Outcome.Error)) return Outcome.Error;
        if (seen.Contains(Outcome.Pass)) return Outcome.Pass;
        return Outcome.Skip;
    }

    /// <summary>The documented exit codes: 0 all pass, 1 corruption found, 3 infrastructure error (2 is bad input, decided earlier).</summary>
    public static int ExitCode(Outcome outcome) => outcome switch
    {
        Outcome.Fail => 1,
        Outcome.Error => 3,
        _ => 0,
    };

    public static string Word(Outcome outcome) => outcome.ToString().ToUpperInvariant();
}
