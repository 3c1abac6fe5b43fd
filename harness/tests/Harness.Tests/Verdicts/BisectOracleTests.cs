// git bisect's good/bad/skip from failure counts: a failure is proof of bad; good needs enough
// clean runs to rule out the known-bad kernel's rate.
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.Verdicts;

public sealed class BisectOracleTests
{
    // Known bad: 30 of 100 failed; Clopper-Pearson lower bound 0.2124 (mpmath, solving the binomial tail), half is 0.1062.
    private static readonly RateCounts KnownBad = new(30, 100);

    [Fact]
    public void One_failure_is_bad_whatever_the_run_count()
    {
        var answer = BisectOracle.Classify(new RateCounts(1, 200), KnownBad);

        Assert.Equal(BisectCall.Bad, answer.Call);
        Assert.Equal(1, answer.ExitCode);
    }

    [Fact]
    public void Enough_clean_runs_to_rule_out_the_bad_rate_is_good()
    {
        var runs = BisectOracle.RunsToCallGood(KnownBad)!.Value;

        var answer = BisectOracle.Classify(new RateCounts(0, runs), KnownBad);

        Assert.Equal(BisectCall.Good, answer.Call);
        Assert.Equal(0, answer.ExitCode);
    }

    [Fact]
    public void One_clean_run_fewer_than_needed_is_skip_asking_for_more()
    {
        var runs = BisectOracle.RunsToCallGood(KnownBad)!.Value;

        var answer = BisectOracle.Classify(new RateCounts(0, runs - 1), KnownBad);

        Assert.Equal(BisectCall.Skip, answer.Call);
        Assert.Equal(125, answer.ExitCode);
        Assert.StartsWith("need more runs", answer.Reason);
        Assert.Contains($"({runs} clean runs)", answer.Reason);
    }

    [Fact]
    public void Clean_runs_needed_follow_from_the_closed_form_zero_failure_bound()
    {
        // 1 − 0.025^(1/n) < 0.5 × 0.2124 ⇔ n > ln 0.025 / ln(1 − 0.1062) ≈ 32.9
        var lower = Statistics.ClopperPearson(30, 100).Lower;

        var runs = BisectOracle.RunsToCallGood(KnownBad);

        Assert.Equal(0.21240642, lower, 1e-7);   // mpmath: 0.21240642048953663
        Assert.Equal(33, runs);
    }

    [Fact]
    public void A_known_bad_kernel_that_never_failed_cannot_call_anything_good()
    {
        var answer = BisectOracle.Classify(new RateCounts(0, 1000), new RateCounts(0, 50));

        Assert.Equal(BisectCall.Skip, answer.Call);
        Assert.Null(BisectOracle.RunsToCallGood(new RateCounts(0, 50)));
    }
}
