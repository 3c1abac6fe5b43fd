// Patch verdicts: each word's path, the Bonferroni split of alpha over looks and pairs, the
// residual bound FIXES needs, the two-guest rule, the edge cases, the exit codes, and that more
// evidence at fixed rates only ever firms a verdict up. Fisher p-values quoted in comments are
// exact hypergeometric sums (Python fractions); bounds are 1 − 0.05^(1/n) or exact binomial tails.
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.Verdicts;

public sealed class VerdictRulesTests
{
    private static readonly VerdictPolicy Default = new();   // alpha 0.01 over 20 looks: 0.0005 a look; 59 clean runs for 5 %

    // Failures spread over two guests unless a test says otherwise.
    private static VerdictResult Decide(int failWithout, int runsWithout, int failWith, int runsWith, int look, bool final = false, VerdictPolicy? policy = null,
        int failingGuestsWithout = 2, int failingGuestsWith = 2) =>
        VerdictRules.Decide(Counts(failWithout, runsWithout, failingGuestsWithout), Counts(failWith, runsWith, failingGuestsWith), policy ?? Default, look, final);

    private static RateCounts Counts(int failures, int runs, int failingGuests = 2) =>
        new(failures, runs) { FailingGuests = Math.Min(failures, failingGuests) };

    [Fact]
    public void Default_policy_splits_alpha_evenly_over_twenty_looks()
    {
        Assert.Equal(20, Default.MaxLooks);
        Assert.Equal(0.0005, Default.AlphaPerLook, 1e-15);
        Assert.Equal(21, (Default with { MaxRunsPerSide = 205 }).MaxLooks);   // a partial last batch is still a look
        Assert.Equal(0.95, Default.ResidualConfidence, 1e-15);
    }

    [Fact]
    public void Several_pairs_split_alpha_and_the_residual_confidence_bonferroni_style()
    {
        var three = Default with { Pairs = 3 };

        Assert.Equal(0.01 / 60, three.AlphaPerLook, 1e-15);
        Assert.Equal(1 - 0.05 / 3, three.ResidualConfidence, 1e-15);
        Assert.Equal(59, Default.CleanRunsForBound);
        Assert.Equal(72, (Default with { Pairs = 2 }).CleanRunsForBound);   // 1 − 0.025^(1/72) = 4.994 %
        Assert.Equal("≤ 4.96 % (one-sided 95 %)", Decide(20, 59, 0, 59, look: 6).Bound);
        Assert.Equal("≤ 6.07 % (one-sided 97.5 %)", Decide(20, 59, 0, 59, look: 6, policy: Default with { Pairs = 2 }).Bound);
    }

    [Fact]
    public void Every_failure_gone_in_enough_patched_runs_to_meet_the_residual_bound_is_fixes()
    {
        // 59/59 vs 0/59: p(without > with) = 1/C(118, 59), far below 0.0005; 0/59 bounds the rate at 4.951 % ≤ 5 %
        var result = Decide(59, 59, 0, 59, look: 6);

        Assert.Equal(PatchVerdict.Fixes, result.Verdict);
        Assert.Equal(VerdictBasis.FailuresGone, result.Basis);
        Assert.Equal(0.0005, result.AlphaAtThisLook, 1e-15);
        Assert.Equal((59, 59, 1.0, 1.0), (result.Without.Failures, result.Without.Runs, result.Without.Rate, result.Without.Upper));
        Assert.Equal(Math.Pow(0.025, 1.0 / 59), result.Without.Lower, 1e-13);   // all failed: two-sided lower = (α/2)^(1/n)
        Assert.Equal(0.0, result.With.Rate);
        Assert.Equal(1 - Math.Pow(0.05, 1.0 / 59), result.With.OneSidedUpper, 1e-15);
        Assert.Equal(1 - Math.Pow(0.025, 1.0 / 59), result.With.Upper, 1e-13);   // the two-sided 95 % upper is looser
        Assert.Equal("≤ 4.96 % (one-sided 95 %)", result.Bound);
        Assert.Contains("no failure in 59 patched runs bounds the patched rate ≤ 4.96 % (one-sided 95 %) ≤ max residual 5 %", result.Reason);
        Assert.Contains("two-sided 95 % CI", result.Reason);
        Assert.True(VerdictRules.ShouldStop(result, final: false));
    }

    [Fact]
    public void One_clean_run_short_of_the_residual_bound_is_not_yet_fixes()
    {
        // 0/58 bounds the patched rate only to 5.034 %
        var result = Decide(58, 58, 0, 58, look: 6);

        Assert.Equal(PatchVerdict.Inconclusive, result.Verdict);
        Assert.Equal(VerdictBasis.TooFewCleanRuns, result.Basis);
        Assert.Equal("≤ 5.04 % (one-sided 95 %)", result.Bound);
        Assert.Contains("59 clean runs", result.Reason);
        Assert.False(VerdictRules.ShouldStop(result, final: false));
    }

    [Fact]
    public void Unpatched_failures_all_from_one_guest_cannot_make_fixes()
    {
        var oneGuest = Decide(30, 60, 0, 60, look: 6, failingGuestsWithout: 1);
        var twoGuests = Decide(30, 60, 0, 60, look: 6, failingGuestsWithout: 2);

        Assert.Equal(VerdictBasis.ReproducedInOneGuestOnly, oneGuest.Basis);
        Assert.Equal(PatchVerdict.Inconclusive, oneGuest.Verdict);
        Assert.Equal(PatchVerdict.Fixes, twoGuests.Verdict);
    }

    [Fact]
    public void Counts_claiming_failures_without_a_failing_guest_are_refused()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            VerdictRules.Decide(new RateCounts(3, 10), Counts(0, 10), Default, 1, false));

        Assert.Equal("without", error.ParamName);
    }

    [Fact]
    public void Failures_appearing_with_the_patch_is_regresses()
    {
        // 0/10 vs 10/10: p(with > without) = 1/184756
        var result = Decide(0, 10, 10, 10, look: 1);

        Assert.Equal(PatchVerdict.Regresses, result.Verdict);
        Assert.Equal(1.0 / 184756, result.PValue, 1e-15);
        Assert.StartsWith("more corruption with the patch", result.Reason);
        Assert.Equal("≤ 100 % (one-sided 95 %)", result.Bound);
        Assert.True(VerdictRules.ShouldStop(result, final: false));
    }

    [Fact]
    public void Patched_failures_all_from_one_guest_cannot_make_regresses()
    {
        // 0/10 vs 10/10, but every patched failure came from one boot
        var result = Decide(0, 10, 10, 10, look: 1, failingGuestsWith: 1);

        Assert.Equal(PatchVerdict.Inconclusive, result.Verdict);
        Assert.Equal(VerdictBasis.MoreFailuresInOneGuestOnly, result.Basis);
        Assert.Contains("one unlucky boot", result.Reason);
        Assert.False(VerdictRules.ShouldStop(result, final: false));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Significantly_fewer_failures_that_are_not_zero_is_inconclusive_and_settled(bool final)
    {
        // 15/20 vs 2/20: p = 3.43e-5 < 0.0005, but the patched kernel still corrupted twice
        var result = Decide(15, 20, 2, 20, look: 2, final: final);

        Assert.Equal(PatchVerdict.Inconclusive, result.Verdict);
        Assert.StartsWith("improves but still corrupts", result.Reason);
        Assert.Equal(3.430314887489526e-05, result.PValue, 1e-12);
        // No more runs can turn a proven failure into FIXES: stop.
        Assert.True(VerdictRules.ShouldStop(result, final: false));
    }

    [Fact]
    public void Zero_patched_failures_in_too_few_runs_for_the_bound_is_not_yet_fixes()
    {
        // 10/10 vs 0/10: p = 1/184756 < 0.0005, but 0/10 bounds the patched rate only to 25.9 %
        var result = Decide(10, 10, 0, 10, look: 1);

        Assert.Equal(PatchVerdict.Inconclusive, result.Verdict);
        Assert.Equal("≤ 25.89 % (one-sided 95 %)", result.Bound);
        Assert.Contains("FIXES needs ≤ max residual 5 %, i.e. 59 clean runs", result.Reason);
    }

    [Theory]
    // 7/20 vs 0/20: p = 2/481 ≈ 0.00416
    [InlineData(20, 20, PatchVerdict.Fixes)]          // K = 1: alpha 0.01
    [InlineData(10, 20, PatchVerdict.Fixes)]          // K = 2: 0.005
    [InlineData(10, 100, PatchVerdict.Inconclusive)]  // K = 10: 0.001
    [InlineData(10, 200, PatchVerdict.Inconclusive)]  // K = 20: 0.0005
    public void The_same_evidence_counts_for_less_when_more_looks_are_allowed(int batchSize, int maxRunsPerSide, PatchVerdict expected)
    {
        // A 20 % residual needs 14 clean runs, so 0/20 meets it: only alpha decides here.
        var policy = new VerdictPolicy(BatchSize: batchSize, MaxRunsPerSide: maxRunsPerSide, MaxResidual: 0.2);

        var result = Decide(7, 20, 0, 20, look: 1, policy: policy);

        Assert.Equal(expected, result.Verdict);
        Assert.Equal(0.01 / policy.MaxLooks, result.AlphaAtThisLook, 1e-15);
    }

    [Fact]
    public void The_per_look_alpha_is_the_same_at_every_look()
    {
        var alphas = Enumerable.Range(1, Default.MaxLooks).Select(look => Decide(3, 10 * look, 0, 10 * look, look).AlphaAtThisLook).Distinct();

        Assert.Equal(0.0005, Assert.Single(alphas), 1e-15);
    }

    [Fact]
    public void Unpatched_kernel_never_corrupting_in_enough_runs_is_not_reproduced()
    {
        // 0/59 bounds the unpatched rate to 4.951 % (one-sided 95 %): the fewest runs that reach 5 %
        var result = Decide(0, 59, 0, 59, look: 6);

        Assert.Equal(PatchVerdict.NotReproduced, result.Verdict);
        Assert.Equal("NOT REPRODUCED", result.Word);
        Assert.StartsWith("the case never corrupted on the unpatched kernel", result.Reason);
        Assert.Contains("its rate is ≤ 4.96 % (one-sided 95 %) ≤ max residual 5 %", result.Reason);
        Assert.True(VerdictRules.ShouldStop(result, final: false));
    }

    [Fact]
    public void Patched_failures_keep_a_clean_unpatched_side_from_not_reproduced()
    {
        // 0/60 vs 1/60: not significant, but the patched kernel corrupted: keep looking for REGRESSES
        var result = Decide(0, 60, 1, 60, look: 6, failingGuestsWith: 1);

        Assert.Equal(PatchVerdict.Inconclusive, result.Verdict);
        Assert.Equal(VerdictBasis.OnlyPatchedFailed, result.Basis);
        Assert.False(VerdictRules.ShouldStop(result, final: false));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Neither_kernel_corrupting_in_too_few_runs_is_inconclusive(bool final)
    {
        // 0/58 bounds the unpatched rate only to 5.034 %
        var result = Decide(0, 58, 0, 80, look: 8, final: final);

        Assert.Equal(PatchVerdict.Inconclusive, result.Verdict);
        Assert.StartsWith("neither kernel has corrupted yet", result.Reason);
        Assert.Contains("≤ 5.04 % (one-sided 95 %)", result.Reason);
        Assert.Equal(final, result.Reason.Contains("at the run cap"));
    }

    [Fact]
    public void Both_corrupting_alike_is_inconclusive_before_the_cap_and_no_change_at_it()
    {
        // 20/200 vs 22/200: p(with > without) = 0.435, the smaller one-sided p
        var early = Decide(5, 50, 6, 50, look: 5);
        var atCap = Decide(20, 200, 22, 200, look: 20, final: true);

        Assert.Equal(PatchVerdict.Inconclusive, early.Verdict);
        Assert.False(VerdictRules.ShouldStop(early, final: false));
        Assert.Equal(PatchVerdict.NoChange, atCap.Verdict);
        Assert.Equal(0.43532190547220795, atCap.PValue, 1e-10);
        Assert.Contains("not shown equal, only not shown different", atCap.Reason);
    }

    [Fact]
    public void Every_run_failing_on_both_sides_is_no_change_only_at_the_cap()
    {
        var early = Decide(20, 20, 20, 20, look: 2);
        var atCap = Decide(200, 200, 200, 200, look: 20, final: true);

        Assert.Equal(PatchVerdict.Inconclusive, early.Verdict);
        Assert.Equal(1.0, early.PValue);
        Assert.Equal(PatchVerdict.NoChange, atCap.Verdict);
    }

    [Theory]
    [InlineData(1, 0, "only the unpatched kernel")]
    [InlineData(0, 1, "only the patched kernel")]
    public void A_rare_failure_on_one_side_only_is_inconclusive_at_the_cap(int failWithout, int failWith, string expected)
    {
        var result = Decide(failWithout, 200, failWith, 200, look: 20, final: true);

        Assert.Equal(PatchVerdict.Inconclusive, result.Verdict);
        Assert.StartsWith(expected, result.Reason);
        Assert.True(VerdictRules.ShouldStop(result, final: true));
    }

    [Fact]
    public void No_counted_runs_is_inconclusive_with_whole_unit_intervals()
    {
        var result = Decide(0, 0, 0, 0, look: 1);

        Assert.Equal(PatchVerdict.Inconclusive, result.Verdict);
        Assert.Equal(new RateEstimate(0, 0, 0, 0, 1, 1), result.Without);
        Assert.Equal(new RateEstimate(0, 0, 0, 0, 1, 1), result.With);
        Assert.StartsWith("no counted runs yet", result.Reason);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(21)]
    public void A_look_outside_the_budgeted_looks_is_refused(int look)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Decide(1, 10, 0, 10, look));

        Assert.Equal("look", error.ParamName);
    }

    [Theory]
    [InlineData(0.0, 10, 200, 0.05, 2, "Alpha")]
    [InlineData(0.01, 0, 200, 0.05, 2, "BatchSize")]
    [InlineData(0.01, 1, 200, 0.05, 2, "BatchSize")]        // fewer repeats than guests
    [InlineData(0.01, 10, 5, 0.05, 2, "MaxRunsPerSide")]
    [InlineData(0.01, 10, 58, 0.05, 2, "MaxRunsPerSide")]   // FIXES would need 59 clean runs
    [InlineData(0.01, 10, 200, 0.0, 2, "MaxResidual")]
    [InlineData(0.01, 10, 200, 1.0, 2, "MaxResidual")]
    [InlineData(0.01, 10, 200, 0.05, 1, "Guests")]
    public void An_invalid_policy_names_the_field(double alpha, int batchSize, int maxRunsPerSide, double maxResidual, int guests, string field)
    {
        var policy = new VerdictPolicy(Alpha: alpha, BatchSize: batchSize, MaxRunsPerSide: maxRunsPerSide, MaxResidual: maxResidual, Guests: guests);

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Decide(1, 10, 0, 10, 1, policy: policy));

        Assert.Equal(field, error.ParamName);
    }

    [Fact]
    public void More_runs_at_a_fixed_fixing_rate_reach_fixes_and_never_leave_it()
    {
        // 30% of runs fail without the patch, none with it; significant from 40 a side (p ≈ 9.3e-5),
        // but the 5 % residual bound needs 59 clean patched runs: FIXES from 60.
        var verdicts = Looks().Select(n => Decide(3 * n / 10, n, 0, n, look: n / 10, final: n == 200).Verdict).ToList();

        Assert.DoesNotContain(PatchVerdict.Regresses, verdicts);
        var first = verdicts.IndexOf(PatchVerdict.Fixes);
        Assert.Equal(5, first);
        Assert.All(verdicts.Skip(first), v => Assert.Equal(PatchVerdict.Fixes, v));
    }

    [Fact]
    public void More_runs_at_a_fixed_regressing_rate_reach_regresses_and_never_fixes()
    {
        var verdicts = Looks().Select(n => Decide(n / 10, n, 4 * n / 10, n, look: n / 10, final: n == 200).Verdict).ToList();

        Assert.DoesNotContain(PatchVerdict.Fixes, verdicts);
        var first = verdicts.IndexOf(PatchVerdict.Regresses);
        Assert.True(first >= 0);
        Assert.All(verdicts.Skip(first), v => Assert.Equal(PatchVerdict.Regresses, v));
    }

    [Fact]
    public void More_runs_at_a_fixed_partial_improvement_never_call_fixes_or_regresses()
    {
        var verdicts = Looks().Select(n => Decide(5 * n / 10, n, n / 10, n, look: n / 10, final: n == 200).Verdict);

        Assert.All(verdicts, v => Assert.Equal(PatchVerdict.Inconclusive, v));
    }

    [Fact]
    public void Seeded_coin_flips_at_fixed_rates_never_flip_fixes_to_regresses()
    {
        // Many simulated validations at without 20%, with 0%: once FIXES, always FIXES; never REGRESSES.
        for (var seed = 0; seed < 50; seed++)
        {
            var random = new Random(seed);
            var without = new RateCounts(0, 0);
            var seenFixes = false;
            for (var look = 1; look <= Default.MaxLooks; look++)
            {
                for (var guest = 0; guest < 2; guest++)
                    without = without.Add(RateCounts.OfGuest(Enumerable.Range(0, 5).Count(_ => random.NextDouble() < 0.2), 5));
                var verdict = VerdictRules.Decide(without, new RateCounts(0, 10 * look), Default, look, look == Default.MaxLooks).Verdict;

                Assert.NotEqual(PatchVerdict.Regresses, verdict);
                if (seenFixes) Assert.Equal(PatchVerdict.Fixes, verdict);
                seenFixes |= verdict == PatchVerdict.Fixes;
            }
        }
    }

    [Fact]
    public void The_cap_always_stops_and_inconclusive_otherwise_continues()
    {
        var inconclusive = Decide(1, 10, 0, 10, look: 1);

        Assert.False(VerdictRules.ShouldStop(inconclusive, final: false));
        Assert.True(VerdictRules.ShouldStop(inconclusive, final: true));
    }

    [Theory]
    [InlineData(PatchVerdict.Fixes, "FIXES", 0)]
    [InlineData(PatchVerdict.Regresses, "REGRESSES", 1)]
    [InlineData(PatchVerdict.Inconclusive, "INCONCLUSIVE", 4)]
    [InlineData(PatchVerdict.NoChange, "NO CHANGE", 5)]
    [InlineData(PatchVerdict.NotReproduced, "NOT REPRODUCED", 6)]
    public void Each_verdict_has_its_printed_word_and_exit_code(PatchVerdict verdict, string word, int exitCode)
    {
        Assert.Equal(word, PatchVerdicts.Word(verdict));
        Assert.Equal(exitCode, PatchVerdicts.ExitCode(verdict));
    }

    [Theory]
    [InlineData(new[] { 0 }, 0)]
    [InlineData(new[] { 1 }, 1)]
    [InlineData(new[] { 0, 6 }, 0)]          // fixed where it reproduced
    [InlineData(new[] { 6, 6 }, 6)]
    [InlineData(new[] { 0, 5 }, 5)]          // one pair not fixed
    [InlineData(new[] { 0, 5, 4 }, 4)]
    [InlineData(new[] { 4, 3, 0 }, 3)]       // a pair the machines could not decide
    [InlineData(new[] { 0, 4, 3, 1, 6 }, 1)] // a regression anywhere is the news
    public void Several_pairs_exit_with_the_most_informative_code(int[] pairCodes, int expected)
    {
        Assert.Equal(expected, PatchVerdicts.CombineExitCodes(pairCodes));
    }

    [Fact]
    public void No_pairs_at_all_is_an_infrastructure_exit()
    {
        Assert.Equal(3, PatchVerdicts.CombineExitCodes([]));
    }

    [Fact]
    public void Pass_fail_and_crash_repeats_are_counted_and_crash_is_a_failure()
    {
        var counts = RateCounts.FromOutcomes([Outcome.Pass, Outcome.Fail, Outcome.Error, Outcome.Skip, Outcome.Crash, Outcome.Pass]);

        Assert.Equal(new RateCounts(2, 4) { FailingGuests = 1 }, counts);
    }

    private static IEnumerable<int> Looks() => Enumerable.Range(1, 20).Select(look => 10 * look);
}
