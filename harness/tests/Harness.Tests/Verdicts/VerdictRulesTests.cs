// Patch verdicts: each word's path, the Bonferroni split of alpha over the looks, the edge
// cases, and that more evidence at fixed rates only ever firms a verdict up. Fisher p-values
// quoted in comments are exact hypergeometric sums (Python fractions); see StatisticsTests.
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.Verdicts;

public sealed class VerdictRulesTests
{
    private static readonly VerdictPolicy Default = new();   // alpha 0.01 over 20 looks: 0.0005 a look

    private static VerdictResult Decide(int failWithout, int runsWithout, int failWith, int runsWith, int look, bool final = false, VerdictPolicy? policy = null) =>
        VerdictRules.Decide(new RateCounts(failWithout, runsWithout), new RateCounts(failWith, runsWith), policy ?? Default, look, final);

    [Fact]
    public void Default_policy_splits_alpha_evenly_over_twenty_looks()
    {
        Assert.Equal(20, Default.MaxLooks);
        Assert.Equal(0.0005, Default.AlphaPerLook, 1e-15);
        Assert.Equal(21, (Default with { MaxRunsPerSide = 205 }).MaxLooks);   // a partial last batch is still a look
    }

    [Fact]
    public void Every_failure_gone_in_enough_patched_runs_is_fixes()
    {
        // 10/10 vs 0/10: p(without > with) = 1/184756 ≈ 5.4e-6 < 0.0005
        var result = Decide(10, 10, 0, 10, look: 1);

        Assert.Equal(PatchVerdict.Fixes, result.Verdict);
        Assert.Equal(1.0 / 184756, result.PValue, 1e-15);
        Assert.Equal(0.0005, result.AlphaAtThisLook, 1e-15);
        Assert.Equal((10, 10, 1.0, 1.0), (result.Without.Failures, result.Without.Runs, result.Without.Rate, result.Without.Upper));
        Assert.Equal(Math.Pow(0.025, 0.1), result.Without.Lower, 1e-13);   // all failed: lower = (α/2)^(1/n)
        Assert.Equal(0.0, result.With.Rate);
        Assert.Contains("no failure in 10 patched runs", result.Reason);
        Assert.True(VerdictRules.ShouldStop(result, final: false));
    }

    [Fact]
    public void Failures_appearing_with_the_patch_is_regresses()
    {
        // 0/10 vs 10/10: p(with > without) = 1/184756
        var result = Decide(0, 10, 10, 10, look: 1);

        Assert.Equal(PatchVerdict.Regresses, result.Verdict);
        Assert.Equal(1.0 / 184756, result.PValue, 1e-15);
        Assert.StartsWith("more corruption with the patch", result.Reason);
        Assert.True(VerdictRules.ShouldStop(result, final: false));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Significantly_fewer_failures_that_are_not_zero_is_inconclusive_even_at_the_cap(bool final)
    {
        // 15/20 vs 2/20: p = 3.43e-5 < 0.0005, but the patched kernel still corrupted twice
        var result = Decide(15, 20, 2, 20, look: 2, final: final);

        Assert.Equal(PatchVerdict.Inconclusive, result.Verdict);
        Assert.StartsWith("improves but still corrupts", result.Reason);
        Assert.Equal(3.430314887489526e-05, result.PValue, 1e-12);
    }

    [Fact]
    public void Zero_patched_failures_in_fewer_than_min_runs_is_not_yet_fixes()
    {
        // 10/10 vs 0/5: p = 1/3003 ≈ 0.00033 < 0.0005, but FIXES needs 10 clean patched runs
        var result = Decide(10, 10, 0, 5, look: 1);

        Assert.Equal(PatchVerdict.Inconclusive, result.Verdict);
        Assert.Contains("at least 10 patched runs", result.Reason);
    }

    [Theory]
    // 7/20 vs 0/20: p = 2/481 ≈ 0.00416
    [InlineData(20, 20, PatchVerdict.Fixes)]          // K = 1: alpha 0.01
    [InlineData(10, 20, PatchVerdict.Fixes)]          // K = 2: 0.005
    [InlineData(10, 100, PatchVerdict.Inconclusive)]  // K = 10: 0.001
    [InlineData(10, 200, PatchVerdict.Inconclusive)]  // K = 20: 0.0005
    public void The_same_evidence_counts_for_less_when_more_looks_are_allowed(int batchSize, int maxRunsPerSide, PatchVerdict expected)
    {
        var policy = new VerdictPolicy(BatchSize: batchSize, MaxRunsPerSide: maxRunsPerSide);

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
    public void Neither_kernel_corrupting_in_enough_runs_is_no_change()
    {
        // 0/72 bounds the rate to 4.99% at 95%: the fewest runs that reach the 5% bound
        var result = Decide(0, 72, 0, 72, look: 8);

        Assert.Equal(PatchVerdict.NoChange, result.Verdict);
        Assert.StartsWith("neither corrupts, to this bound", result.Reason);
        Assert.True(VerdictRules.ShouldStop(result, final: false));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Neither_kernel_corrupting_in_too_few_runs_is_inconclusive(bool final)
    {
        // 0/71 bounds the rate only to 5.06%
        var result = Decide(0, 71, 0, 80, look: 8, final: final);

        Assert.Equal(PatchVerdict.Inconclusive, result.Verdict);
        Assert.StartsWith("neither has corrupted yet", result.Reason);
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
        Assert.Equal(new RateEstimate(0, 0, 0, 0, 1), result.Without);
        Assert.Equal(new RateEstimate(0, 0, 0, 0, 1), result.With);
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
    [InlineData(0.0, 10, 200, "Alpha")]
    [InlineData(0.01, 0, 200, "BatchSize")]
    [InlineData(0.01, 10, 5, "MaxRunsPerSide")]
    public void An_invalid_policy_names_the_field(double alpha, int batchSize, int maxRunsPerSide, string field)
    {
        var policy = new VerdictPolicy(Alpha: alpha, BatchSize: batchSize, MaxRunsPerSide: maxRunsPerSide);

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Decide(1, 10, 0, 10, 1, policy: policy));

        Assert.Equal(field, error.ParamName);
    }

    [Fact]
    public void More_runs_at_a_fixed_fixing_rate_reach_fixes_and_never_leave_it()
    {
        // 30% of runs fail without the patch, none with it; first significant at 40 a side (p ≈ 9.3e-5).
        var verdicts = Looks().Select(n => Decide(3 * n / 10, n, 0, n, look: n / 10, final: n == 200).Verdict).ToList();

        Assert.DoesNotContain(PatchVerdict.Regresses, verdicts);
        var first = verdicts.IndexOf(PatchVerdict.Fixes);
        Assert.Equal(3, first);
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
                without = without.Add(new RateCounts(Enumerable.Range(0, 10).Count(_ => random.NextDouble() < 0.2), 10));
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
    [InlineData(PatchVerdict.NoChange, "NO CHANGE", 0)]
    [InlineData(PatchVerdict.Inconclusive, "INCONCLUSIVE", 4)]
    public void Each_verdict_has_its_printed_word_and_exit_code(PatchVerdict verdict, string word, int exitCode)
    {
        Assert.Equal(word, PatchVerdicts.Word(verdict));
        Assert.Equal(exitCode, PatchVerdicts.ExitCode(verdict));
    }

    [Fact]
    public void Only_pass_and_fail_repeats_are_counted()
    {
        var counts = RateCounts.FromOutcomes([Outcome.Pass, Outcome.Fail, Outcome.Error, Outcome.Skip, Outcome.Fail, Outcome.Pass]);

        Assert.Equal(new RateCounts(2, 4), counts);
    }

    private static IEnumerable<int> Looks() => Enumerable.Range(1, 20).Select(look => 10 * look);
}
