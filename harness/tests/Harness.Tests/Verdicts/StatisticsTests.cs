// The special functions and exact tests against values computed elsewhere. Sources:
// R (binom.test, fisher.test) where the brief quotes them; otherwise mpmath at 40 digits,
// solving the binomial tail equations directly (no beta function), and exact rational
// hypergeometric sums (Python fractions) for Fisher — each noted beside its case.
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.Verdicts;

public sealed class StatisticsTests
{
    [Theory]
    [InlineData(0.5, 0.57236494292470009)]   // ln √π
    [InlineData(1.0, 0.0)]
    [InlineData(2.0, 0.0)]
    [InlineData(3.5, 1.2009736023470742)]    // mpmath loggamma
    [InlineData(10.0, 12.80182748008147)]    // ln 9!
    [InlineData(100.0, 359.1342053695754)]   // mpmath loggamma
    [InlineData(1000.0, 5905.2204232091812)] // mpmath loggamma
    [InlineData(0.1, 2.2527126517342059)]    // mpmath loggamma (reflection branch)
    public void Log_gamma_matches_reference_values(double x, double expected)
    {
        var actual = Statistics.LogGamma(x);

        Assert.Equal(expected, actual, Math.Max(1e-13, Math.Abs(expected) * 1e-14));
    }

    [Fact]
    public void Log_gamma_rejects_zero_and_negative_arguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Statistics.LogGamma(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Statistics.LogGamma(-1.5));
    }

    [Theory]
    [InlineData(0.4, 2.0, 3.0, 0.5248)]                   // P(Binomial(4, 0.4) ≥ 2), by hand
    [InlineData(0.3, 0.5, 0.5, 0.36901011956554538)]      // (2/π) asin √0.3; mpmath betainc
    [InlineData(0.01, 5.0, 200.0, 0.055409730342816325)]  // mpmath betainc
    [InlineData(0.45, 50.0, 60.0, 0.46423529143060363)]   // mpmath betainc
    [InlineData(0.7, 1.0, 1.0, 0.7)]                      // Beta(1,1) is uniform
    [InlineData(0.99, 200.0, 1.0, 0.13397967485796171)]   // 0.99^200
    public void Regularized_incomplete_beta_matches_reference_values(double x, double a, double b, double expected)
    {
        var actual = Statistics.RegularizedIncompleteBeta(x, a, b);

        Assert.Equal(expected, actual, 1e-13);
    }

    [Theory]
    [InlineData(0.025, 5.0, 16.0)]
    [InlineData(0.975, 1.0, 99.0)]
    [InlineData(1e-6, 2.0, 300.0)]
    [InlineData(0.5, 0.5, 0.5)]
    public void Inverse_incomplete_beta_undoes_the_incomplete_beta(double p, double a, double b)
    {
        var x = Statistics.InverseRegularizedIncompleteBeta(p, a, b);

        Assert.Equal(p, Statistics.RegularizedIncompleteBeta(x, a, b), p * 1e-10);
    }

    [Theory]
    // R binom.test(k, n)$conf.int
    [InlineData(0, 100, 0.95, 0.0, 0.03621669264517641)]
    [InlineData(5, 20, 0.95, 0.086571469101434559, 0.4910458717079575)]
    [InlineData(20, 20, 0.95, 0.8315665290169147, 1.0)]
    // mpmath: P(X ≥ k | lower) = P(X ≤ k | upper) = (1 − conf)/2, solved by bisection
    [InlineData(1, 10, 0.95, 0.0025285785444617868, 0.44501611702819536)]
    [InlineData(3, 50, 0.95, 0.012548587835334066, 0.16548194660377287)]
    [InlineData(7, 200, 0.95, 0.014185525898419244, 0.070780998350977206)]
    [InlineData(12, 200, 0.95, 0.031383953893483448, 0.1024618313083245)]
    [InlineData(0, 200, 0.95, 0.0, 0.018275340355136241)]
    [InlineData(2, 30, 0.99, 0.0035026624551497566, 0.27400134722768172)]
    [InlineData(1, 1, 0.95, 0.025, 1.0)]
    [InlineData(0, 1, 0.95, 0.0, 0.975)]
    public void Clopper_pearson_matches_reference_intervals(int failures, int runs, double confidence, double lower, double upper)
    {
        var interval = Statistics.ClopperPearson(failures, runs, confidence);

        Assert.Equal(lower, interval.Lower, 1e-12);
        Assert.Equal(upper, interval.Upper, 1e-12);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(10)]
    [InlineData(72)]
    [InlineData(1000)]
    public void No_failures_give_the_closed_form_upper_bound_and_a_zero_lower_bound(int runs)
    {
        var interval = Statistics.ClopperPearson(0, runs);

        Assert.Equal(0, interval.Lower);
        Assert.Equal(1 - Math.Pow(0.025, 1.0 / runs), interval.Upper, 1e-13);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(20)]
    [InlineData(1000)]
    public void All_failures_give_the_closed_form_lower_bound_and_an_upper_bound_of_one(int runs)
    {
        var interval = Statistics.ClopperPearson(runs, runs);

        Assert.Equal(Math.Pow(0.025, 1.0 / runs), interval.Lower, 1e-13);
        Assert.Equal(1, interval.Upper);
    }

    [Fact]
    public void No_runs_give_the_whole_unit_interval()
    {
        Assert.Equal((0.0, 1.0), Statistics.ClopperPearson(0, 0));
    }

    [Fact]
    public void Seventy_two_clean_runs_are_the_fewest_that_bound_the_rate_to_five_percent()
    {
        // mpmath: 0/71 → 0.050629407954403701, 0/72 → 0.049944083705854669
        Assert.Equal(0.050629407954403701, Statistics.ClopperPearson(0, 71).Upper, 1e-12);
        Assert.Equal(0.049944083705854669, Statistics.ClopperPearson(0, 72).Upper, 1e-12);
    }

    [Theory]
    [InlineData(-1, 10, 0.95)]
    [InlineData(11, 10, 0.95)]
    [InlineData(0, -1, 0.95)]
    [InlineData(1, 10, 1.0)]
    [InlineData(1, 10, 0.0)]
    public void Clopper_pearson_rejects_impossible_counts_and_confidences(int failures, int runs, double confidence)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Statistics.ClopperPearson(failures, runs, confidence));
    }

    [Theory]
    // R: fisher.test(matrix(c(10,0,0,10),2))$p.value = 1.082509e-05; exact 1/92378
    [InlineData(10, 10, 0, 10, 1.0 / 184756, 1.0, 1.0 / 92378)]
    // R: fisher.test(matrix(c(3,1,1,3),2), alternative="greater")$p.value = 0.2428571; exact 17/70
    [InlineData(3, 4, 1, 4, 17.0 / 70, 69.0 / 70, 17.0 / 35)]
    // Exact hypergeometric sums (Python fractions):
    [InlineData(5, 10, 0, 10, 21.0 / 1292, 1.0, 21.0 / 646)]
    [InlineData(0, 10, 5, 10, 1.0, 21.0 / 1292, 21.0 / 646)]
    [InlineData(7, 20, 0, 20, 2.0 / 481, 1.0, 4.0 / 481)]
    [InlineData(2, 10, 3, 10, 274.0 / 323, 0.5, 1.0)]
    [InlineData(1, 3, 2, 5, 23.0 / 28, 5.0 / 7, 1.0)]
    [InlineData(8, 20, 2, 20, 409.0 / 12617, 50257.0 / 50468, 818.0 / 12617)]
    [InlineData(10, 10, 0, 5, 1.0 / 3003, 1.0, 1.0 / 3003)]
    [InlineData(20, 200, 0, 200, 5.7868683338232998e-07, 1.0, 1.15737366676466e-06)]
    [InlineData(40, 200, 20, 200, 0.0037096186383774638, 0.99848310746088387, 0.0074192372767549275)]
    [InlineData(1, 200, 0, 200, 0.5, 1.0, 1.0)]
    public void Fisher_exact_matches_reference_p_values(int failA, int runsA, int failB, int runsB, double greater, double less, double twoSided)
    {
        var p = Statistics.FisherExact(failA, runsA, failB, runsB);

        Assert.Equal(greater, p.Greater, greater * 1e-9);
        Assert.Equal(less, p.Less, less * 1e-9);
        Assert.Equal(twoSided, p.TwoSided, twoSided * 1e-9);
    }

    [Theory]
    [InlineData(0, 0, 0, 0)]
    [InlineData(0, 10, 0, 10)]
    [InlineData(10, 10, 10, 10)]
    [InlineData(0, 0, 3, 7)]
    public void Tables_with_one_possible_arrangement_give_p_of_one(int failA, int runsA, int failB, int runsB)
    {
        var p = Statistics.FisherExact(failA, runsA, failB, runsB);

        Assert.Equal((1.0, 1.0, 1.0), p);
    }

    [Fact]
    public void Swapping_the_two_kernels_swaps_the_one_sided_p_values()
    {
        var forward = Statistics.FisherExact(8, 20, 2, 20);
        var backward = Statistics.FisherExact(2, 20, 8, 20);

        Assert.Equal(forward.Greater, backward.Less, 1e-15);
        Assert.Equal(forward.Less, backward.Greater, 1e-15);
        Assert.Equal(forward.TwoSided, backward.TwoSided, 1e-15);
    }

    [Fact]
    public void Fisher_exact_rejects_more_failures_than_runs()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Statistics.FisherExact(3, 2, 0, 5));
    }

    [Theory]
    [InlineData(0, 59, 0.95, 0.04950760988822693)]    // 1 − 0.05^(1/59)
    [InlineData(0, 58, 0.95, 0.050339338330420105)]   // one run fewer: above 5 %
    [InlineData(0, 72, 0.975, 0.049944083705854674)]  // 1 − 0.025^(1/72)
    [InlineData(1, 59, 0.95, 0.0778979215188183)]     // P(Bin(59, p) ≤ 1) = 0.05, exact binomial tail bisected
    [InlineData(3, 20, 0.95, 0.34366380431428173)]    // P(Bin(20, p) ≤ 3) = 0.05
    [InlineData(10, 200, 0.95, 0.08333515106637195)]  // P(Bin(200, p) ≤ 10) = 0.05
    public void One_sided_upper_bound_leaves_exactly_the_stated_tail(int failures, int runs, double confidence, double expected)
    {
        Assert.Equal(expected, Statistics.ClopperPearsonUpper(failures, runs, confidence), 1e-12);
    }

    [Fact]
    public void One_sided_upper_bound_is_tighter_than_the_two_sided_one_and_whole_without_evidence()
    {
        Assert.True(Statistics.ClopperPearsonUpper(2, 50) < Statistics.ClopperPearson(2, 50).Upper);
        Assert.Equal(1.0, Statistics.ClopperPearsonUpper(0, 0));
        Assert.Equal(1.0, Statistics.ClopperPearsonUpper(7, 7));
    }

    [Theory]
    [InlineData(0.05, 0.95, 59)]
    [InlineData(0.05, 0.975, 72)]    // two pairs, Bonferroni
    [InlineData(0.3, 0.95, 9)]
    [InlineData(0.03, 0.95, 99)]
    [InlineData(0.01, 0.95, 299)]
    public void Clean_runs_for_a_bound_is_the_fewest_that_reach_it(double maxRate, double confidence, int expected)
    {
        var runs = Statistics.CleanRunsForUpperBound(maxRate, confidence);

        Assert.Equal(expected, runs);
        Assert.True(Statistics.ClopperPearsonUpper(0, runs, confidence) <= maxRate);
        Assert.True(Statistics.ClopperPearsonUpper(0, runs - 1, confidence) > maxRate);
    }
}
