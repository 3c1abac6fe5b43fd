// Does a patch fix, regress or not change a case's corruption rate? `harness validate` runs
// the case in looks (batches on at least two guests a side) on the kernel without the patch and
// with it; VerdictLoop drives the looks and VerdictRules.Classify decides after each one. Races
// are probabilistic, so the answer is a statistical one with a stated error budget: Fisher's exact
// test between the sides (Bonferroni over looks and pairs), and FIXES only when the patched side's
// one-sided Clopper-Pearson upper bound is at or below the allowed residual failure rate.
using System.Globalization;

namespace Harness.Verdicts;

/// <summary>The fixed set of patch verdict words (see <see cref="PatchVerdicts.Word"/>).</summary>
public enum PatchVerdict
{
    /// <summary>
    /// Significantly fewer failures with the patch (unpatched failures seen on at least two guests), no
    /// patched failure at all, and the patched failure rate's one-sided upper bound ≤ MaxResidual.
    /// </summary>
    Fixes,
    /// <summary>Significantly more failures with the patch, seen on at least two patched guests.</summary>
    Regresses,
    /// <summary>
    /// The patch does not stop the corruption: both kernels corrupted and, at the run cap, the rates
    /// were not shown different.
    /// </summary>
    NoChange,
    /// <summary>
    /// The case never corrupted on the unpatched kernel (nor with the patch), once the unpatched
    /// rate's one-sided upper bound is ≤ MaxResidual: there was no bug here to fix.
    /// </summary>
    NotReproduced,
    /// <summary>Not enough evidence for any of the above, or the patch helps but still corrupts.</summary>
    Inconclusive,
}

/// <summary>Why a look's verdict is what it is: one value per branch of <see cref="VerdictRules.Classify"/>.</summary>
public enum VerdictBasis
{
    /// <summary>A side has no counted (PASS, FAIL or CRASH) run yet.</summary>
    NoCountedRuns,
    /// <summary>Significantly more failures with the patch, on at least two patched guests.</summary>
    MoreFailuresWithPatch,
    /// <summary>Significantly more failures with the patch, but all from one patched guest.</summary>
    MoreFailuresInOneGuestOnly,
    /// <summary>Significantly fewer failures, none with the patch, and the residual bound met.</summary>
    FailuresGone,
    /// <summary>Significantly fewer failures with the patch, but not none: the patched kernel still corrupts.</summary>
    ImprovesButStillCorrupts,
    /// <summary>Significantly fewer failures, none with the patch, but all unpatched failures came from one guest.</summary>
    ReproducedInOneGuestOnly,
    /// <summary>Significantly fewer failures, none with the patch, but too few clean patched runs for the residual bound.</summary>
    TooFewCleanRuns,
    /// <summary>Neither kernel failed and the unpatched bound is ≤ MaxResidual.</summary>
    NeverReproduced,
    /// <summary>Neither kernel failed yet, too few runs to bound the unpatched rate.</summary>
    NeitherFailedYet,
    /// <summary>Both corrupt, no significant difference, run cap reached.</summary>
    BothCorruptAlike,
    /// <summary>Both corrupt, no significant difference yet.</summary>
    BothCorruptNoDifferenceYet,
    /// <summary>Only the unpatched kernel corrupted, too rarely to tell from chance.</summary>
    OnlyUnpatchedFailed,
    /// <summary>Only the patched kernel corrupted, too rarely to tell from chance.</summary>
    OnlyPatchedFailed,
}

public static class PatchVerdicts
{
    /// <summary>Exit code when a pair stopped because its machines kept failing (infrastructure, not the kernel).</summary>
    public const int InfrastructureExitCode = 3;

    /// <summary>The printed word: FIXES, REGRESSES, NO CHANGE, NOT REPRODUCED, INCONCLUSIVE.</summary>
    public static string Word(PatchVerdict verdict) => verdict switch
    {
        PatchVerdict.Fixes => "FIXES",
        PatchVerdict.Regresses => "REGRESSES",
        PatchVerdict.NoChange => "NO CHANGE",
        PatchVerdict.NotReproduced => "NOT REPRODUCED",
        PatchVerdict.Inconclusive => "INCONCLUSIVE",
        _ => throw new ArgumentOutOfRangeException(nameof(verdict), verdict, null),
    };

    /// <summary>
    /// <c>harness validate</c>'s exit code for one pair, so a CI gate can ask "did it fix?" (0) and
    /// "did it regress?" (1) without parsing words: 0 FIXES, 1 REGRESSES, 4 INCONCLUSIVE, 5 NO CHANGE,
    /// 6 NOT REPRODUCED. 2 (input), 3 (infrastructure) and 130 (interrupted) are decided by the caller.
    /// </summary>
    public static int ExitCode(PatchVerdict verdict) => verdict switch
    {
        PatchVerdict.Fixes => 0,
        PatchVerdict.Regresses => 1,
        PatchVerdict.Inconclusive => 4,
        PatchVerdict.NoChange => 5,
        PatchVerdict.NotReproduced => 6,
        _ => throw new ArgumentOutOfRangeException(nameof(verdict), verdict, null),
    };

    /// <summary>
    /// Most informative first, for combining several pairs: a regression anywhere is the news (1);
    /// then a pair the machines could not decide (3); then INCONCLUSIVE (4); then NO CHANGE (5, a
    /// reproduced bug the patch did not fix); then FIXES (0). NOT REPRODUCED (6) says nothing about the
    /// patch, so it ranks last: FIXES on one pair and NOT REPRODUCED on the others is 0, all NOT
    /// REPRODUCED is 6.
    /// </summary>
    public static IReadOnlyList<int> ExitCodePrecedence { get; } = [1, InfrastructureExitCode, 4, 5, 0, 6];

    /// <summary>The exit code of several pairs (see <see cref="ExitCodePrecedence"/>); no pair at all is infrastructure (3).</summary>
    public static int CombineExitCodes(IEnumerable<int> pairCodes)
    {
        var seen = pairCodes.ToHashSet();
        if (seen.Count == 0) return InfrastructureExitCode;
        foreach (var code in ExitCodePrecedence)
            if (seen.Contains(code)) return code;
        throw new ArgumentOutOfRangeException(nameof(pairCodes), string.Join(",", seen), "not a validate pair exit code");
    }
}

/// <summary>
/// Failed repeats out of counted repeats (PASS, FAIL or CRASH; ERROR and SKIP say nothing about the
/// kernel). <see cref="FailingGuests"/> is in how many guests (boots) at least one counted repeat
/// failed, so that one unlucky boot cannot decide a verdict on its own.
/// </summary>
public sealed record RateCounts(int Failures, int Runs)
{
    /// <summary>Guests (cells, boots) with at least one failure among these counts; at most <see cref="Failures"/>.</summary>
    public int FailingGuests { get; init; }

    /// <summary>
    /// Counts FAIL and CRASH as failures and PASS as a clean run; ERROR and SKIP are left out. The
    /// outcomes are taken as one guest's (one boot's): FailingGuests is 1 if any failed.
    /// </summary>
    public static RateCounts FromOutcomes(IEnumerable<Outcome> outcomes)
    {
        int failures = 0, runs = 0;
        foreach (var outcome in outcomes)
        {
            if (outcome is not (Outcome.Pass or Outcome.Fail or Outcome.Crash)) continue;
            runs++;
            if (Outcomes.CountsAgainstKernel(outcome)) failures++;
        }
        return OfGuest(failures, runs);
    }

    /// <summary>One guest's counts: FailingGuests is 1 when any of its runs failed.</summary>
    public static RateCounts OfGuest(int failures, int runs) => new(failures, runs) { FailingGuests = failures > 0 ? 1 : 0 };

    /// <summary>Counts of disjoint guests together.</summary>
    public RateCounts Add(RateCounts more) => new(Failures + more.Failures, Runs + more.Runs) { FailingGuests = FailingGuests + more.FailingGuests };
}

/// <summary>
/// A failure rate with its two-sided Clopper-Pearson interval [<see cref="Lower"/>, <see cref="Upper"/>]
/// at the policy's display confidence, and <see cref="OneSidedUpper"/>, the one-sided upper bound at the
/// residual confidence that FIXES and NOT REPRODUCED rest on. <see cref="Rate"/> is 0 (interval [0, 1])
/// when there are no runs.
/// </summary>
public sealed record RateEstimate(int Failures, int Runs, double Rate, double Lower, double Upper, double OneSidedUpper)
{
    public static RateEstimate Of(RateCounts counts, double confidence, double oneSidedConfidence)
    {
        var (lower, upper) = Statistics.ClopperPearson(counts.Failures, counts.Runs, confidence);
        return new RateEstimate(counts.Failures, counts.Runs, counts.Runs == 0 ? 0 : (double)counts.Failures / counts.Runs, lower, upper,
            Statistics.ClopperPearsonUpper(counts.Failures, counts.Runs, oneSidedConfidence));
    }
}

/// <summary>
/// How much evidence a patch verdict needs.
/// <list type="bullet">
/// <item><paramref name="Alpha"/>: the false-verdict budget for each direction over the whole call (a
/// false FIXES at most Alpha, a false REGRESSES at most Alpha), split evenly over the
/// <see cref="MaxLooks"/> possible looks and the <paramref name="Pairs"/> (filesystem, case) pairs
/// (Bonferroni).</item>
/// <item><paramref name="Confidence"/>: the two-sided Clopper-Pearson intervals printed for rates (display only).</item>
/// <item><paramref name="MaxResidual"/>: FIXES needs the patched failure rate's one-sided upper bound at
/// <see cref="ResidualConfidence"/> to be at or below it (0.05 takes <see cref="CleanRunsForBound"/> = 59
/// clean patched runs with one pair); NOT REPRODUCED needs the same of the unpatched side.</item>
/// <item><paramref name="BatchSize"/> repeats a side per look, split over <paramref name="Guests"/> guests
/// (cells, boots); at most <paramref name="MaxRunsPerSide"/> repeats a side, the last look trimmed.</item>
/// </list>
/// </summary>
public sealed record VerdictPolicy(
    double Alpha = 0.01,
    double Confidence = 0.95,
    int BatchSize = 10,
    double MaxResidual = 0.05,
    int MaxRunsPerSide = 200,
    int Guests = 2,
    int Pairs = 1)
{
    /// <summary>The residual bound's confidence over all pairs together: one-sided 95 %.</summary>
    public const double FamilyResidualConfidence = 0.95;

    /// <summary>FIXES needs unpatched failures, and REGRESSES patched failures, in at least this many guests.</summary>
    public const int MinFailingGuests = 2;

    /// <summary>K = ⌈MaxRunsPerSide / BatchSize⌉: the most times a pair's verdict can be asked.</summary>
    public int MaxLooks => (MaxRunsPerSide + BatchSize - 1) / BatchSize;

    /// <summary>Alpha / (K · Pairs), the same at every look of every pair: the Bonferroni split.</summary>
    public double AlphaPerLook => Alpha / ((double)MaxLooks * Pairs);

    /// <summary>The one-sided confidence of each pair's residual bound: 1 − 0.05 / Pairs (Bonferroni), 95 % for one pair.</summary>
    public double ResidualConfidence => 1 - (1 - FamilyResidualConfidence) / Pairs;

    /// <summary>Clean runs whose one-sided upper bound is ≤ MaxResidual at <see cref="ResidualConfidence"/>: what FIXES (and NOT REPRODUCED) cost.</summary>
    public int CleanRunsForBound => Statistics.CleanRunsForUpperBound(MaxResidual, ResidualConfidence);

    /// <summary>Throws naming the first field out of range and what would be valid.</summary>
    public void Validate()
    {
        if (!(Alpha > 0 && Alpha < 1)) throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "alpha must be strictly between 0 and 1");
        if (!(Confidence > 0 && Confidence < 1)) throw new ArgumentOutOfRangeException(nameof(Confidence), Confidence, "confidence must be strictly between 0 and 1");
        if (Pairs < 1) throw new ArgumentOutOfRangeException(nameof(Pairs), Pairs, "there must be at least one (filesystem, case) pair");
        if (Guests < MinFailingGuests) throw new ArgumentOutOfRangeException(nameof(Guests), Guests, $"each side needs at least {MinFailingGuests} guests a look, so one unlucky boot cannot decide a verdict");
        if (BatchSize < Guests) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, $"the batch must give each of the {Guests} guests at least one repeat (≥ {Guests})");
        if (MaxRunsPerSide < BatchSize) throw new ArgumentOutOfRangeException(nameof(MaxRunsPerSide), MaxRunsPerSide, $"max runs per side must be ≥ the batch size ({BatchSize})");
        if (!(MaxResidual > 0 && MaxResidual < 1)) throw new ArgumentOutOfRangeException(nameof(MaxResidual), MaxResidual, "the residual failure rate must be strictly between 0 and 1");
        var needed = CleanRunsForBound;
        if (MaxRunsPerSide < needed)
            throw new ArgumentOutOfRangeException(nameof(MaxRunsPerSide), MaxRunsPerSide,
                $"FIXES needs {needed} clean patched runs to bound the failure rate at {VerdictRules.Percent(MaxResidual)} (one-sided {VerdictRules.Percent(ResidualConfidence)}), more than the {MaxRunsPerSide} allowed; raise the cap or the residual");
    }
}

/// <summary>
/// One look's decision, cheap to compute (no interval is inverted): the verdict, why, and the numbers
/// it rests on. <see cref="PValue"/> is the one-sided Fisher p-value of the direction the verdict is
/// about (p(without &gt; with) for FIXES and the "improves" branches, p(with &gt; without) for the
/// "worse" ones, else the smaller of the two). <see cref="WithoutBound"/> and <see cref="WithBound"/>
/// are each side's one-sided upper bound at the policy's residual confidence.
/// </summary>
public sealed record VerdictCall(
    PatchVerdict Verdict,
    VerdictBasis Basis,
    RateCounts Without,
    RateCounts With,
    double PValue,
    double AlphaAtThisLook,
    double WithoutBound,
    double WithBound,
    bool Final)
{
    /// <summary>Stop looking: a verdict is reached, more runs cannot turn "improves but still corrupts" into FIXES or REGRESSES, or the cap is reached.</summary>
    public bool Stops => VerdictRules.Stops(Verdict, Basis, Final);
}

/// <summary>
/// One look's verdict for people and records: the call with both rates' intervals and one sentence.
/// <see cref="Bound"/> is the patched side's residual bound as every verdict line prints it,
/// "≤ 4.96 % (one-sided 95 %)".
/// </summary>
public sealed record VerdictResult(
    PatchVerdict Verdict,
    VerdictBasis Basis,
    RateEstimate Without,
    RateEstimate With,
    double PValue,
    double AlphaAtThisLook,
    string Bound,
    string Reason)
{
    public string Word => PatchVerdicts.Word(Verdict);
}

/// <summary>The patch verdict rules, stateless: the caller (VerdictLoop) keeps the running counts.</summary>
public static class VerdictRules
{
    /// <summary>
    /// The verdict after look <paramref name="look"/> (1-based; at most <see cref="VerdictPolicy.MaxLooks"/>)
    /// on the cumulative counts of both kernels; <paramref name="final"/> says the run cap was reached.
    /// α' = Alpha / (K · Pairs); "bound" is a side's one-sided Clopper-Pearson upper bound at the
    /// policy's residual confidence.
    /// <list type="number">
    /// <item>REGRESSES: one-sided Fisher p(with &gt; without) &lt; α' and patched failures on ≥ 2 guests.</item>
    /// <item>FIXES: p(without &gt; with) &lt; α', unpatched failures on ≥ 2 guests, no patched failure, and
    /// the patched bound ≤ MaxResidual. Fewer but not zero patched failures is INCONCLUSIVE, "improves but
    /// still corrupts", and stops: a failure proves the patched kernel still corrupts.</item>
    /// <item>NOT REPRODUCED: neither kernel failed and the unpatched bound ≤ MaxResidual.</item>
    /// <item>NO CHANGE: both kernels failed, not significant, and the cap is reached.</item>
    /// <item>Otherwise INCONCLUSIVE.</item>
    /// </list>
    /// Only α' is spent per look, so a false FIXES (or REGRESSES) over all looks and pairs has chance at
    /// most Alpha however the caller stops. FIXES needs zero patched failures in at least
    /// <see cref="VerdictPolicy.CleanRunsForBound"/> runs, so a patched kernel failing at rate ≥ MaxResidual
    /// gets FIXES with chance at most 1 − ResidualConfidence, at whichever look it comes.
    /// </summary>
    public static VerdictCall Classify(RateCounts without, RateCounts with, VerdictPolicy policy, int look, bool final)
    {
        if (look < 1 || look > policy.MaxLooks)
            throw new ArgumentOutOfRangeException(nameof(look), look,
                $"look must be in 1..{policy.MaxLooks}: the policy splits alpha over {policy.MaxLooks} looks, and a later look would spend more than it budgets");
        CheckGuests(without, nameof(without));
        CheckGuests(with, nameof(with));

        var fisher = Statistics.FisherExact(without.Failures, without.Runs, with.Failures, with.Runs);
        var pFixes = fisher.Greater;     // the unpatched kernel fails more often
        var pRegresses = fisher.Less;    // the patched kernel fails more often
        var lean = Math.Min(pFixes, pRegresses);
        var alpha = policy.AlphaPerLook;
        var withoutBound = Statistics.ClopperPearsonUpper(without.Failures, without.Runs, policy.ResidualConfidence);
        var withBound = Statistics.ClopperPearsonUpper(with.Failures, with.Runs, policy.ResidualConfidence);
        VerdictCall Call(PatchVerdict verdict, VerdictBasis basis, double p) => new(verdict, basis, without, with, p, alpha, withoutBound, withBound, final);

        if (without.Runs == 0 || with.Runs == 0)
            return Call(PatchVerdict.Inconclusive, VerdictBasis.NoCountedRuns, lean);
        if (pRegresses < alpha)
            return with.FailingGuests >= VerdictPolicy.MinFailingGuests
                ? Call(PatchVerdict.Regresses, VerdictBasis.MoreFailuresWithPatch, pRegresses)
                : Call(PatchVerdict.Inconclusive, VerdictBasis.MoreFailuresInOneGuestOnly, pRegresses);
        if (pFixes < alpha)
        {
            if (with.Failures > 0) return Call(PatchVerdict.Inconclusive, VerdictBasis.ImprovesButStillCorrupts, pFixes);
            if (without.FailingGuests < VerdictPolicy.MinFailingGuests) return Call(PatchVerdict.Inconclusive, VerdictBasis.ReproducedInOneGuestOnly, pFixes);
            if (withBound > policy.MaxResidual) return Call(PatchVerdict.Inconclusive, VerdictBasis.TooFewCleanRuns, pFixes);
            return Call(PatchVerdict.Fixes, VerdictBasis.FailuresGone, pFixes);
        }
        if (without.Failures == 0 && with.Failures == 0)
            return withoutBound <= policy.MaxResidual
                ? Call(PatchVerdict.NotReproduced, VerdictBasis.NeverReproduced, lean)
                : Call(PatchVerdict.Inconclusive, VerdictBasis.NeitherFailedYet, lean);
        if (without.Failures > 0 && with.Failures > 0)
            return final
                ? Call(PatchVerdict.NoChange, VerdictBasis.BothCorruptAlike, lean)
                : Call(PatchVerdict.Inconclusive, VerdictBasis.BothCorruptNoDifferenceYet, lean);
        return Call(PatchVerdict.Inconclusive, without.Failures > 0 ? VerdictBasis.OnlyUnpatchedFailed : VerdictBasis.OnlyPatchedFailed, lean);
    }

    /// <summary><see cref="Classify"/> with the intervals and the sentence a person reads.</summary>
    public static VerdictResult Decide(RateCounts without, RateCounts with, VerdictPolicy policy, int look, bool final)
    {
        policy.Validate();
        return Explain(Classify(without, with, policy, look, final), policy);
    }

    /// <summary>The intervals and the sentence for a call; the verdict itself is the call's.</summary>
    public static VerdictResult Explain(VerdictCall call, VerdictPolicy policy)
    {
        var unpatched = RateEstimate.Of(call.Without, policy.Confidence, policy.ResidualConfidence);
        var patched = RateEstimate.Of(call.With, policy.Confidence, policy.ResidualConfidence);
        var bound = Bound(call.WithBound, policy.ResidualConfidence);
        var evidence = $"without the patch {Describe(unpatched, policy)}, with it {Describe(patched, policy)}";
        var budget = policy.Pairs == 1
            ? $"alpha {Number(policy.Alpha)} over {policy.MaxLooks} looks"
            : $"alpha {Number(policy.Alpha)} over {policy.MaxLooks} looks × {policy.Pairs} pairs";
        var test = $"p = {Number(call.PValue)} {(call.PValue < call.AlphaAtThisLook ? "<" : "≥")} {Number(call.AlphaAtThisLook)} ({budget})";
        var atCap = call.Final ? " at the run cap" : "";
        var residual = $"max residual {Percent(policy.MaxResidual)}";
        var clean = policy.CleanRunsForBound;

        var reason = call.Basis switch
        {
            VerdictBasis.NoCountedRuns => $"no counted runs yet {(call.Without.Runs == 0 ? "without" : "with")} the patch{atCap}",
            VerdictBasis.MoreFailuresWithPatch => $"more corruption with the patch: {evidence}; {test}; patched failures on {call.With.FailingGuests} guests",
            VerdictBasis.MoreFailuresInOneGuestOnly => $"more corruption with the patch, but every patched failure came from one guest, and REGRESSES needs failures on at least {VerdictPolicy.MinFailingGuests} guests so one unlucky boot cannot decide{atCap}: {evidence}; {test}",
            VerdictBasis.FailuresGone => $"corruption gone: {evidence}; fewer failures, {test}; no failure in {call.With.Runs} patched runs bounds the patched rate {bound} ≤ {residual}",
            VerdictBasis.ImprovesButStillCorrupts => $"improves but still corrupts: {evidence}; fewer failures, {test}, but {call.With.Failures} patched failure(s) prove the patched kernel still corrupts",
            VerdictBasis.ReproducedInOneGuestOnly => $"fewer failures with the patch, but every unpatched failure came from one guest, and FIXES needs them on at least {VerdictPolicy.MinFailingGuests} guests{atCap}: {evidence}; {test}",
            VerdictBasis.TooFewCleanRuns => $"fewer failures with the patch ({test}) and none with it yet, but {call.With.Runs} clean patched runs bound the rate only {bound}; FIXES needs ≤ {residual}, i.e. {clean} clean runs{atCap}: {evidence}",
            VerdictBasis.NeverReproduced => $"the case never corrupted on the unpatched kernel: {evidence}; its rate is {Bound(call.WithoutBound, policy.ResidualConfidence)} ≤ {residual}, so there is no reproduced bug for the patch to fix",
            VerdictBasis.NeitherFailedYet => $"neither kernel has corrupted yet{atCap}: {evidence}; that bounds the unpatched rate only {Bound(call.WithoutBound, policy.ResidualConfidence)}, and NOT REPRODUCED needs ≤ {residual} ({clean} clean runs)",
            VerdictBasis.BothCorruptAlike => $"both corrupt and the run cap is reached with no significant difference: {evidence}; {test}. The rates are not shown equal, only not shown different",
            VerdictBasis.BothCorruptNoDifferenceYet => $"both corrupt, no significant difference yet: {evidence}; {test}",
            VerdictBasis.OnlyUnpatchedFailed => $"only the unpatched kernel corrupted, too rarely to tell apart from chance{atCap}: {evidence}; {test}",
            VerdictBasis.OnlyPatchedFailed => $"only the patched kernel corrupted, too rarely to tell apart from chance{atCap}: {evidence}; {test}",
            _ => throw new ArgumentOutOfRangeException(nameof(call), call.Basis, null),
        };
        return new VerdictResult(call.Verdict, call.Basis, unpatched, patched, call.PValue, call.AlphaAtThisLook, bound, reason);
    }

    /// <summary>Stop on FIXES, REGRESSES, NO CHANGE, NOT REPRODUCED, a settled "improves but still corrupts", or at the cap.</summary>
    public static bool ShouldStop(VerdictResult result, bool final) => Stops(result.Verdict, result.Basis, final);

    internal static bool Stops(PatchVerdict verdict, VerdictBasis basis, bool final) =>
        final || verdict is not PatchVerdict.Inconclusive || basis == VerdictBasis.ImprovesButStillCorrupts;

    /// <summary>
    /// A one-sided upper bound as every verdict line prints it: "≤ 4.96 % (one-sided 95 %)". The
    /// percentage is rounded up, so the printed bound is never tighter than the computed one.
    /// </summary>
    public static string Bound(double upper, double confidence) =>
        $"≤ {PercentUp(upper)} (one-sided {ConfidenceWord(confidence)})";

    /// <summary>"95 %", "97.5 %", "98.33 %": a confidence level, rounded down (never claims more than it has).</summary>
    public static string ConfidenceWord(double confidence) =>
        string.Create(CultureInfo.InvariantCulture, $"{Math.Floor(confidence * 10000 + 1e-9) / 100:0.##} %");

    private static string Describe(RateEstimate e, VerdictPolicy policy) =>
        $"{e.Failures}/{e.Runs} corrupted (two-sided {ConfidenceWord(policy.Confidence)} CI {Percent(e.Lower)}–{Percent(e.Upper)})";

    private static void CheckGuests(RateCounts counts, string name)
    {
        if (counts.FailingGuests < 0 || counts.FailingGuests > counts.Failures || (counts.Failures > 0 && counts.FailingGuests == 0))
            throw new ArgumentException($"{counts.Failures} failures cannot come from {counts.FailingGuests} failing guests", name);
    }

    private static string PercentUp(double fraction) =>
        string.Create(CultureInfo.InvariantCulture, $"{Math.Ceiling(fraction * 10000 - 1e-9) / 100:0.##} %");

    internal static string Percent(double fraction) => string.Create(CultureInfo.InvariantCulture, $"{fraction * 100:0.##} %");

    internal static string Number(double value) => value.ToString("G3", CultureInfo.InvariantCulture);
}
