// Does a patch fix, regress or not change a case's corruption rate? `harness validate` runs
// the case in batches on the kernel without the patch and with it, and after each batch asks
// VerdictRules.Decide; races are probabilistic, so the answer is a statistical one (Fisher's
// exact test, Clopper-Pearson intervals; see Statistics.cs) with a fixed, documented error
// budget. BisectOracle reuses the same counts to answer git bisect's good/bad/skip.
using System.Globalization;

namespace Harness.Verdicts;

/// <summary>The fixed set of patch verdict words (see <see cref="PatchVerdicts.Word"/>).</summary>
public enum PatchVerdict
{
    /// <summary>Significantly fewer failures with the patch, and none at all in at least MinRunsWith patched runs.</summary>
    Fixes,
    /// <summary>Significantly more failures with the patch.</summary>
    Regresses,
    /// <summary>
    /// No significant difference, and the rates are shown alike: neither kernel corrupted and both
    /// rates are bounded below NoChangeBound, or both corrupt and the run cap showed no difference.
    /// </summary>
    NoChange,
    /// <summary>Not enough evidence for any of the above (or the patch helps but still corrupts).</summary>
    Inconclusive,
}

public static class PatchVerdicts
{
    /// <summary>The printed word: FIXES, REGRESSES, NO CHANGE, INCONCLUSIVE.</summary>
    public static string Word(PatchVerdict verdict) => verdict switch
    {
        PatchVerdict.Fixes => "FIXES",
        PatchVerdict.Regresses => "REGRESSES",
        PatchVerdict.NoChange => "NO CHANGE",
        PatchVerdict.Inconclusive => "INCONCLUSIVE",
        _ => throw new ArgumentOutOfRangeException(nameof(verdict), verdict, null),
    };

    /// <summary>
    /// <c>harness validate</c>'s exit code. It answers "is there evidence this patch makes the case
    /// worse?" the way <c>harness run</c>'s 1 means "corruption found": 0 FIXES or NO CHANGE, 1
    /// REGRESSES, 4 INCONCLUSIVE (2 and 3 stay usage and infrastructure errors). A script that
    /// needs FIXES specifically reads the word, not the code.
    /// </summary>
    public static int ExitCode(PatchVerdict verdict) => verdict switch
    {
        PatchVerdict.Fixes or PatchVerdict.NoChange => 0,
        PatchVerdict.Regresses => 1,
        PatchVerdict.Inconclusive => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(verdict), verdict, null),
    };
}

/// <summary>Failed repeats out of counted repeats (PASS, FAIL or CRASH; ERROR and SKIP say nothing about the kernel).</summary>
public sealed record RateCounts(int Failures, int Runs)
{
    /// <summary>Counts FAIL and CRASH as failures and PASS as a clean run; ERROR and SKIP are left out.</summary>
    public static RateCounts FromOutcomes(IEnumerable<Outcome> outcomes)
    {
        int failures = 0, runs = 0;
        foreach (var outcome in outcomes)
        {
            if (outcome is not (Outcome.Pass or Outcome.Fail or Outcome.Crash)) continue;
            runs++;
            if (Outcomes.CountsAgainstKernel(outcome)) failures++;
        }
        return new RateCounts(failures, runs);
    }

    public RateCounts Add(RateCounts more) => new(Failures + more.Failures, Runs + more.Runs);
}

/// <summary>A failure rate with its Clopper-Pearson interval. <see cref="Rate"/> is 0 (interval [0, 1]) when there are no runs.</summary>
public sealed record RateEstimate(int Failures, int Runs, double Rate, double Lower, double Upper)
{
    public static RateEstimate Of(RateCounts counts, double confidence)
    {
        var (lower, upper) = Statistics.ClopperPearson(counts.Failures, counts.Runs, confidence);
        return new RateEstimate(counts.Failures, counts.Runs, counts.Runs == 0 ? 0 : (double)counts.Failures / counts.Runs, lower, upper);
    }
}

/// <summary>
/// How much evidence a patch verdict needs. <paramref name="Alpha"/> is the false-verdict budget
/// for each direction over the whole sequence of looks (a false FIXES at most Alpha, a false
/// REGRESSES at most Alpha); it is split evenly over the <see cref="MaxLooks"/> possible looks
/// (Bonferroni). <paramref name="Confidence"/> is for the reported intervals and the NO CHANGE
/// bound. A run does <paramref name="BatchSize"/> repeats a side per look, at most
/// <paramref name="MaxRunsPerSide"/> a side. FIXES needs no failure in at least
/// <paramref name="MinRunsWith"/> patched runs; NO CHANGE without failures needs both upper
/// bounds at or below <paramref name="NoChangeBound"/> (0.05 at 95% takes 72 clean runs a side).
/// </summary>
public sealed record VerdictPolicy(
    double Alpha = 0.01,
    double Confidence = 0.95,
    int BatchSize = 10,
    int MinRunsWith = 10,
    int MaxRunsPerSide = 200,
    double NoChangeBound = 0.05)
{
    /// <summary>K = ⌈MaxRunsPerSide / BatchSize⌉: the most times Decide can be asked.</summary>
    public int MaxLooks => (MaxRunsPerSide + BatchSize - 1) / BatchSize;

    /// <summary>Alpha / K, the same at every look: the Bonferroni split.</summary>
    public double AlphaPerLook => Alpha / MaxLooks;

    /// <summary>Throws naming the first field out of range and what would be valid.</summary>
    public void Validate()
    {
        if (!(Alpha > 0 && Alpha < 1)) throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "alpha must be strictly between 0 and 1");
        if (!(Confidence > 0 && Confidence < 1)) throw new ArgumentOutOfRangeException(nameof(Confidence), Confidence, "confidence must be strictly between 0 and 1");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "batch size must be ≥ 1");
        if (MinRunsWith < 1) throw new ArgumentOutOfRangeException(nameof(MinRunsWith), MinRunsWith, "min runs with the patch must be ≥ 1");
        if (MaxRunsPerSide < BatchSize) throw new ArgumentOutOfRangeException(nameof(MaxRunsPerSide), MaxRunsPerSide, $"max runs per side must be ≥ the batch size ({BatchSize})");
        if (!(NoChangeBound > 0 && NoChangeBound <= 1)) throw new ArgumentOutOfRangeException(nameof(NoChangeBound), NoChangeBound, "no-change bound must be in (0, 1]");
    }
}

/// <summary>
/// One look's verdict. <see cref="PValue"/> is the one-sided Fisher p-value the verdict rests on:
/// p(without &gt; with) for FIXES and the "improves" cases, p(with &gt; without) for REGRESSES, and
/// otherwise the smaller of the two (the direction the data lean). <see cref="Reason"/> is one
/// sentence for a person.
/// </summary>
public sealed record VerdictResult(
    PatchVerdict Verdict,
    RateEstimate Without,
    RateEstimate With,
    double PValue,
    double AlphaAtThisLook,
    string Reason)
{
    public string Word => PatchVerdicts.Word(Verdict);
}

/// <summary>The patch verdict rules, stateless: the caller keeps the running counts.</summary>
public static class VerdictRules
{
    /// <summary>
    /// The verdict after look <paramref name="look"/> (1-based; at most <see cref="VerdictPolicy.MaxLooks"/>)
    /// on the cumulative counts of both kernels. <paramref name="final"/> says the run cap was reached.
    /// <list type="bullet">
    /// <item>REGRESSES: one-sided Fisher p(with &gt; without) &lt; Alpha/K.</item>
    /// <item>FIXES: one-sided p(without &gt; with) &lt; Alpha/K and zero failures in ≥ MinRunsWith patched
    /// runs. Significantly fewer but still some failures is INCONCLUSIVE, "improves but still corrupts",
    /// even at the cap: a failure proves the patched kernel still corrupts.</item>
    /// <item>NO CHANGE: not significant, and either neither kernel failed with both Clopper-Pearson
    /// upper bounds ≤ NoChangeBound, or both failed and this is the final look.</item>
    /// <item>Otherwise INCONCLUSIVE.</item>
    /// </list>
    /// Only Alpha/K is spent per look, so the chance of a false FIXES (or a false REGRESSES) over
    /// all K looks stays at most Alpha, however the caller stops.
    /// </summary>
    public static VerdictResult Decide(RateCounts without, RateCounts with, VerdictPolicy policy, int look, bool final)
    {
        policy.Validate();
        if (look < 1 || look > policy.MaxLooks)
            throw new ArgumentOutOfRangeException(nameof(look), look,
                $"look must be in 1..{policy.MaxLooks}: the policy splits alpha over {policy.MaxLooks} looks, and a later look would spend more than it budgets");

        var unpatched = RateEstimate.Of(without, policy.Confidence);
        var patched = RateEstimate.Of(with, policy.Confidence);
        var fisher = Statistics.FisherExact(without.Failures, without.Runs, with.Failures, with.Runs);
        var pFixes = fisher.Greater;     // the unpatched kernel fails more often
        var pRegresses = fisher.Less;    // the patched kernel fails more often
        var alpha = policy.AlphaPerLook;
        var evidence = $"without the patch {Describe(unpatched, policy)}, with it {Describe(patched, policy)}";
        var budget = $"alpha {Number(policy.Alpha)} over {policy.MaxLooks} looks";
        var atCap = final ? " at the run cap" : "";

        VerdictResult Result(PatchVerdict verdict, double pValue, string reason) => new(verdict, unpatched, patched, pValue, alpha, reason);

        if (without.Runs == 0 || with.Runs == 0)
            return Result(PatchVerdict.Inconclusive, Math.Min(pFixes, pRegresses), $"no counted runs yet {(without.Runs == 0 ? "without" : "with")} the patch{atCap}");

        if (pRegresses < alpha)
            return Result(PatchVerdict.Regresses, pRegresses,
                $"more corruption with the patch: {evidence}; p = {Number(pRegresses)} < {Number(alpha)} ({budget})");

        if (pFixes < alpha)
        {
            var significant = $"{evidence}; fewer failures, p = {Number(pFixes)} < {Number(alpha)} ({budget})";
            if (with.Failures > 0)
                return Result(PatchVerdict.Inconclusive, pFixes, $"improves but still corrupts: {significant}");
            if (with.Runs < policy.MinRunsWith)
                return Result(PatchVerdict.Inconclusive, pFixes, $"{significant}, but FIXES needs no failure in at least {policy.MinRunsWith} patched runs{atCap}");
            return Result(PatchVerdict.Fixes, pFixes, $"{significant}, and no failure in {with.Runs} patched runs");
        }

        var lean = Math.Min(pFixes, pRegresses);
        var test = $"p = {Number(lean)} ≥ {Number(alpha)} ({budget})";
        if (without.Failures == 0 && with.Failures == 0)
        {
            if (unpatched.Upper <= policy.NoChangeBound && patched.Upper <= policy.NoChangeBound)
                return Result(PatchVerdict.NoChange, lean,
                    $"neither corrupts, to this bound: {evidence}; both rates ≤ {Percent(policy.NoChangeBound)} at {Percent(policy.Confidence)} confidence. The case did not reproduce corruption on the unpatched kernel");
            return Result(PatchVerdict.Inconclusive, lean,
                $"neither has corrupted yet{atCap}: {evidence}; that bounds the rates only to {Percent(unpatched.Upper)} and {Percent(patched.Upper)}, and NO CHANGE needs both ≤ {Percent(policy.NoChangeBound)}");
        }
        if (without.Failures > 0 && with.Failures > 0)
            return final
                ? Result(PatchVerdict.NoChange, lean, $"both corrupt and the run cap is reached with no significant difference: {evidence}; {test}. The rates are not shown equal, only not shown different")
                : Result(PatchVerdict.Inconclusive, lean, $"both corrupt, no significant difference yet: {evidence}; {test}");
        var only = without.Failures > 0 ? "only the unpatched kernel" : "only the patched kernel";
        return Result(PatchVerdict.Inconclusive, lean, $"{only} corrupted, too rarely to tell apart from chance{atCap}: {evidence}; {test}");
    }

    /// <summary>Stop on FIXES, REGRESSES or NO CHANGE, or when the run cap is reached.</summary>
    public static bool ShouldStop(VerdictResult result, bool final) =>
        final || result.Verdict is PatchVerdict.Fixes or PatchVerdict.Regresses or PatchVerdict.NoChange;

    private static string Describe(RateEstimate e, VerdictPolicy policy) =>
        $"{e.Failures}/{e.Runs} corrupted ({Percent(policy.Confidence)} CI {Percent(e.Lower)}–{Percent(e.Upper)})";

    internal static string Percent(double fraction) => string.Create(CultureInfo.InvariantCulture, $"{fraction * 100:0.##}%");

    internal static string Number(double value) => value.ToString("G3", CultureInfo.InvariantCulture);
}

/// <summary>git bisect's answer for one kernel: good, bad or skip, with the exit code <c>git bisect run</c> reads.</summary>
public enum BisectCall
{
    /// <summary>Exit 0.</summary>
    Good,
    /// <summary>Exit 1.</summary>
    Bad,
    /// <summary>Exit 125: cannot tell yet (run more, or let git try a neighbour).</summary>
    Skip,
}

/// <summary>A bisection step's call, its exit code and why.</summary>
public sealed record BisectAnswer(BisectCall Call, int ExitCode, string Reason);

/// <summary>
/// Flake-aware good/bad for bisection. A failure is proof (the golden model does not accuse a
/// correct kernel), so one is enough for bad. Good must be earned: zero failures in enough runs
/// that the Clopper-Pearson upper bound is below a fraction of the known-bad kernel's lower bound,
/// i.e. "if this kernel had the bug, we would very likely have seen it".
/// </summary>
public static class BisectOracle
{
    public const int GoodExit = 0;
    public const int BadExit = 1;
    public const int SkipExit = 125;   // git bisect run: "this commit cannot be tested"

    public static BisectAnswer Classify(RateCounts kernel, RateCounts knownBad, double goodBelowFraction = 0.5, double confidence = 0.95)
    {
        if (kernel.Failures > 0)
            return new(BisectCall.Bad, BadExit, $"{kernel.Failures}/{kernel.Runs} runs corrupted: a failure is proof");

        var target = Target(knownBad, goodBelowFraction, confidence);
        var upper = Statistics.ClopperPearson(0, kernel.Runs, confidence).Upper;
        if (target <= 0)
            return new(BisectCall.Skip, SkipExit, $"the known-bad kernel has not been shown to fail ({knownBad.Failures}/{knownBad.Runs}), so no clean count can call a kernel good");
        if (upper < target)
            return new(BisectCall.Good, GoodExit, $"0/{kernel.Runs} corrupted: rate ≤ {VerdictRules.Percent(upper)}, below {VerdictRules.Percent(target)} ({goodBelowFraction:0.##} of the known-bad kernel's lower bound)");
        return new(BisectCall.Skip, SkipExit,
            $"need more runs: 0/{kernel.Runs} corrupted bounds the rate only to {VerdictRules.Percent(upper)}; good needs below {VerdictRules.Percent(target)} ({RunsToCallGood(knownBad, goodBelowFraction, confidence)} clean runs)");
    }

    /// <summary>The fewest clean runs that <see cref="Classify"/> calls good; null if none can (the known-bad kernel never failed).</summary>
    public static int? RunsToCallGood(RateCounts knownBad, double goodBelowFraction = 0.5, double confidence = 0.95)
    {
        var target = Target(knownBad, goodBelowFraction, confidence);
        if (target <= 0) return null;
        // 0 of n gives upper = 1 − ((1−c)/2)^(1/n); solve for n, then step to agree exactly with Classify.
        var runs = Math.Max(1, (int)Math.Floor(Math.Log((1 - confidence) / 2) / double.LogP1(-target)));
        while (runs > 1 && Statistics.ClopperPearson(0, runs - 1, confidence).Upper < target) runs--;
        while (Statistics.ClopperPearson(0, runs, confidence).Upper >= target) runs++;
        return runs;
    }

    private static double Target(RateCounts knownBad, double goodBelowFraction, double confidence)
    {
        if (!(goodBelowFraction > 0 && goodBelowFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(goodBelowFraction), goodBelowFraction, "must be in (0, 1]");
        return goodBelowFraction * Statistics.ClopperPearson(knownBad.Failures, knownBad.Runs, confidence).Lower;
    }
}
