// The posterior over the first bad commit and the step choice, against numbers worked out by hand
// (Beta functions of small whole numbers; the entropies with python's math.log2).
using Harness.Bisection;
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.Bisection;

public sealed class BisectionPosteriorTests
{
    private static RateCounts C(int failures, int runs) => RateCounts.OfGuest(failures, runs);

    [Fact]
    public void Clean_runs_shift_mass_by_the_integrated_beta_likelihoods()
    {
        // Commits 0 (good), 1, 2 (bad). Bad: 1 of 2 failed; commit 1: 1 clean run.
        // H1 (1 and 2 bad): 1 failure, 2 clean → B(2, 3) = 1!2!/4! = 1/12.
        // H2 (only 2 bad): 1 failure, 1 clean → B(2, 2) = 1!1!/3! = 1/6.   π = (1/3, 2/3).
        var posterior = BisectionPosterior.Of([C(0, 0), C(0, 1), C(1, 2)]);

        Assert.Equal(0, posterior.Probabilities[0]);
        Assert.Equal(1.0 / 3, posterior.Probabilities[1], 12);
        Assert.Equal(2.0 / 3, posterior.Probabilities[2], 12);
        Assert.Equal(2, posterior.Best);
        // E[q]: H1 Beta(2, 3) → 2/5, H2 Beta(2, 2) → 1/2; 1/3·2/5 + 2/3·1/2 = 7/15.
        Assert.Equal(7.0 / 15, posterior.RateMean, 12);
        Assert.Equal(1.0 / 3, posterior.ProbabilityBad(1), 12);
        Assert.Equal(1.0, posterior.ProbabilityBad(2), 12);
    }

    [Fact]
    public void A_failure_is_proof_no_later_commit_can_be_first()
    {
        var posterior = BisectionPosterior.Of([C(0, 0), C(1, 3), C(0, 0), C(2, 2)]);

        Assert.Equal(1, posterior.Best);
        Assert.Equal(1.0, posterior.BestProbability, 12);
        Assert.Equal(0, posterior.Probabilities[2]);
        Assert.Equal(0, posterior.Probabilities[3]);
    }

    [Fact]
    public void Without_runs_in_the_range_the_mass_stays_uniform()
    {
        // Every H_k then has the same bad-commit data (1 of 1 at --bad): equal likelihoods.
        var posterior = BisectionPosterior.Of([C(0, 0), C(0, 0), C(0, 0), C(0, 0), C(1, 1)]);

        Assert.All(posterior.Probabilities.Skip(1), p => Assert.Equal(0.25, p, 12));
        Assert.Equal(1, posterior.Best);   // the earliest on a tie
        Assert.Equal(2, posterior.Entropy, 12);
    }

    [Fact]
    public void Many_clean_runs_at_a_commit_make_it_good_in_the_limit_but_never_exactly()
    {
        // q is pinned near 1/2 by 50 of 100 at --bad; 20 clean runs at commit 1 weigh 2^-20 against H1.
        var posterior = BisectionPosterior.Of([C(0, 0), C(0, 20), C(50, 100)]);

        Assert.True(posterior.Probabilities[1] is > 0 and < 1e-5, $"P(first bad = 1) = {posterior.Probabilities[1]}");
    }

    [Fact]
    public void A_failing_good_commit_is_named_as_the_users_mistake()
    {
        var e = Assert.Throws<GoodCommitFailsException>(() => BisectionPosterior.Of([C(1, 4), C(0, 0), C(1, 1)]));

        Assert.Contains("--good commit failed 1 of 4 runs", e.Message);
    }

    [Fact]
    public void Expected_gain_of_one_run_matches_the_hand_computed_entropies()
    {
        // Uniform over 4 candidates (H = 2 bits), q ~ Beta(51, 1) after 50 of 50 at --bad.
        // Commit 2: P(fail) = ½ · 51/52; after a failure H = 1; after a pass (1/106, 1/106, 52/106, 52/106)
        // H = 1.135036...; gain = 2 − (0.490385 · 1 + 0.509615 · 1.135036) = 0.931183.
        // Commit 1: P(fail) = ¼ · 51/52, after it H = 0; after a pass (1/52, 1, 1, 1)/(3 + 1/52); gain = 0.769294.
        var posterior = BisectionPosterior.Of([C(0, 0), C(0, 0), C(0, 0), C(0, 0), C(50, 50)]);

        Assert.Equal(0.9311834735719926, posterior.ExpectedGain(2, 1), 10);
        Assert.Equal(0.76929393487512, posterior.ExpectedGain(1, 1), 10);
        // Not symmetric: a clean run is weak evidence, a failure is proof. Commit 3: 0.730523.
        Assert.Equal(0.7305231658131905, posterior.ExpectedGain(3, 1), 10);
        // --bad with q already pinned: one more run cannot move k.
        Assert.Equal(0, posterior.ExpectedGain(4, 1), 10);
    }

    [Fact]
    public void The_choice_splits_the_mass_and_avoids_untestable_commits()
    {
        var posterior = BisectionPosterior.Of([C(0, 0), C(0, 0), C(0, 0), C(0, 0), C(50, 50)]);

        Assert.Equal(2, BisectionLoop.Choose(posterior, new bool[5], runs: 1).Commit);
        // Commit 2 cannot be built: 1 and 3 split alike, the earlier is taken.
        Assert.Equal(1, BisectionLoop.Choose(posterior, [false, false, true, false, false], runs: 1).Commit);
    }

    [Fact]
    public void After_clean_runs_the_split_moves_towards_the_bad_end()
    {
        // 8 commits, q ≈ 1/2; commit 4 ran 3 clean: its side lost mass, so the next split is later than 4.
        var counts = Enumerable.Range(0, 9).Select(_ => C(0, 0)).ToArray();
        counts[8] = C(10, 20);
        counts[4] = C(0, 3);
        var posterior = BisectionPosterior.Of(counts);

        var (commit, _) = BisectionLoop.Choose(posterior, new bool[9], runs: 2);

        Assert.True(commit > 4, $"chose {commit}");
        Assert.True(posterior.ProbabilityBad(4) < 0.5 * 4 / 8);
    }

    [Theory]
    [InlineData(0.3, 3)]    // ⌈ln 0.4 / ln 0.7⌉ = ⌈2.569⌉
    [InlineData(0.1, 9)]    // ⌈ln 0.4 / ln 0.9⌉ = ⌈8.697⌉
    [InlineData(0.5, 2)]    // ⌈1.32⌉
    [InlineData(0.9, 1)]
    [InlineData(0.01, 20)]  // ⌈91.2⌉, capped
    public void Runs_per_step_make_a_bad_commit_fail_with_the_detection_chance(double rate, int runs)
    {
        Assert.Equal(runs, new BisectionPolicy().RunsPerStep(rate));
    }

    [Fact]
    public void Beta_ratio_is_the_beta_function_quotient()
    {
        // B(3, 5) / B(2, 3) = (2!4!/7!) / (1!2!/4!) = (48/5040) / (2/24) = 0.1142857...
        Assert.Equal(Math.Exp(BisectionPosterior.LogBeta(3, 5) - BisectionPosterior.LogBeta(2, 3)), BisectionPosterior.BetaRatio(2, 3, 1, 2), 12);
        Assert.Equal(48.0 / 5040 / (2.0 / 24), BisectionPosterior.BetaRatio(2, 3, 1, 2), 12);
    }
}
