// Exact small-sample statistics for failure counts: the Clopper-Pearson interval for one
// kernel's failure rate and Fisher's exact test for two kernels. Races are probabilistic, so
// patch verdicts and bisection calls are built on these, never on a single run. Pure C#, no
// packages: log-gamma (Lanczos), the regularized incomplete beta (continued fraction, as in
// Numerical Recipes §6.4) and its inverse (bisection on the CDF, which is monotone).
namespace Harness.Verdicts;

/// <summary>
/// Binomial and hypergeometric tools for "k of n runs corrupted". Checked against R's
/// <c>binom.test</c> and <c>fisher.test</c> in the tests.
/// </summary>
public static class Statistics
{
    /// <summary>
    /// The exact (Clopper-Pearson) two-sided interval for a failure rate after
    /// <paramref name="failures"/> of <paramref name="runs"/> runs failed: the Beta quantiles
    /// <c>B(α/2; k, n−k+1)</c> and <c>B(1−α/2; k+1, n−k)</c>. Lower is 0 when k = 0, upper is 1
    /// when k = n, and no runs give [0, 1]. Conservative: covers at least <paramref name="confidence"/>.
    /// </summary>
    public static (double Lower, double Upper) ClopperPearson(int failures, int runs, double confidence = 0.95)
    {
        CheckCounts(failures, runs, nameof(failures), nameof(runs));
        if (!(confidence > 0 && confidence < 1))
            throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "confidence must be strictly between 0 and 1");
        if (runs == 0) return (0, 1);

        var tail = (1 - confidence) / 2;
        var lower = failures == 0 ? 0 : InverseRegularizedIncompleteBeta(tail, failures, runs - failures + 1);
        var upper = failures == runs ? 1 : InverseRegularizedIncompleteBeta(1 - tail, failures + 1, runs - failures);
        return (lower, upper);
    }

    /// <summary>
    /// The exact (Clopper-Pearson) <b>one-sided</b> upper bound on a failure rate: the rate p with
    /// P(Binomial(runs, p) ≤ failures) = 1 − <paramref name="confidence"/>, i.e. the Beta quantile
    /// <c>B(c; k+1, n−k)</c>. With no failure it is closed-form, <c>1 − (1−c)^(1/n)</c>
    /// (0.0495 after 59 clean runs at 95 %). 1 when every run failed or there are no runs.
    /// This is the bound FIXES and NOT REPRODUCED rest on; the two-sided interval above is for display.
    /// </summary>
    public static double ClopperPearsonUpper(int failures, int runs, double confidence = 0.95)
    {
        CheckCounts(failures, runs, nameof(failures), nameof(runs));
        if (!(confidence > 0 && confidence < 1))
            throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "confidence must be strictly between 0 and 1");
        if (runs == 0 || failures == runs) return 1;
        // log1p/expm1 keep the closed form exact near 0 (a tiny bound after thousands of runs).
        if (failures == 0) return -double.ExpM1(Math.Log(1 - confidence) / runs);
        return InverseRegularizedIncompleteBeta(confidence, failures + 1, runs - failures);
    }

    /// <summary>
    /// The fewest runs, all clean, whose one-sided upper bound (<see cref="ClopperPearsonUpper"/>) is
    /// at or below <paramref name="maxRate"/>: ⌈ln(1−c) / ln(1−maxRate)⌉, stepped so that it agrees
    /// exactly with the bound as computed (59 for 5 % at 95 %, 9 for 30 %).
    /// </summary>
    public static int CleanRunsForUpperBound(double maxRate, double confidence = 0.95)
    {
        if (!(maxRate > 0 && maxRate < 1))
            throw new ArgumentOutOfRangeException(nameof(maxRate), maxRate, "the rate bound must be strictly between 0 and 1");
        if (!(confidence > 0 && confidence < 1))
            throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "confidence must be strictly between 0 and 1");
        var runs = Math.Max(1, (int)Math.Ceiling(Math.Log(1 - confidence) / double.LogP1(-maxRate)));
        while (runs > 1 && ClopperPearsonUpper(0, runs - 1, confidence) <= maxRate) runs--;
        while (ClopperPearsonUpper(0, runs, confidence) > maxRate) runs++;
        return runs;
    }

    /// <summary>
    /// Fisher's exact test on the 2×2 table (A: failA of runsA failed; B: failB of runsB), i.e.
    /// the hypergeometric distribution of A's failures given all the table's margins.
    /// <c>Greater</c> tests "A's failure rate is greater than B's" (P[X ≥ failA]), <c>Less</c> the
    /// opposite (P[X ≤ failA]), <c>TwoSided</c> sums every table no more likely than the one
    /// observed, with R's relative tolerance of 1e-7 so ties are not lost to rounding. With A as
    /// rows 1 and failures as column 1 these are R's <c>fisher.test(..., alternative=)</c> values.
    /// </summary>
    public static (double Greater, double Less, double TwoSided) FisherExact(int failA, int runsA, int failB, int runsB)
    {
        CheckCounts(failA, runsA, nameof(failA), nameof(runsA));
        CheckCounts(failB, runsB, nameof(failB), nameof(runsB));

        var failures = failA + failB;
        var total = runsA + runsB;
        var first = Math.Max(0, runsA - (total - failures));
        var last = Math.Min(failures, runsA);

        // Log-space: C(400, 200) alone is ~1e119; the probabilities themselves are at most 1, so
        // exp() of each is safe and the tiny ones underflowing to 0 lose nothing that matters.
        var logDenominator = LogChoose(total, runsA);
        var probability = new double[last - first + 1];
        for (var x = first; x <= last; x++)
            probability[x - first] = Math.Exp(LogChoose(failures, x) + LogChoose(total - failures, runsA - x) - logDenominator);

        double greater = 0, less = 0, twoSided = 0;
        var observed = probability[failA - first] * (1 + 1e-7);
        for (var x = first; x <= last; x++)
        {
            var p = probability[x - first];
            if (x >= failA) greater += p;
            if (x <= failA) less += p;
            if (p <= observed) twoSided += p;
        }
        return (Math.Min(1, greater), Math.Min(1, less), Math.Min(1, twoSided));
    }

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7, nine terms: about 15 significant digits).</summary>
    public static double LogGamma(double x)
    {
        if (!(x > 0) || double.IsPositiveInfinity(x))
            throw new ArgumentOutOfRangeException(nameof(x), x, "log-gamma is implemented for finite x > 0");
        // Reflection keeps the series in its accurate range: Γ(x)Γ(1−x) = π / sin(πx).
        if (x < 0.5) return Math.Log(Math.PI / Math.Sin(Math.PI * x)) - LogGamma(1 - x);

        x -= 1;
        var sum = Lanczos[0];
        for (var i = 1; i < Lanczos.Length; i++) sum += Lanczos[i] / (x + i);
        var t = x + LanczosG + 0.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }

    /// <summary>ln C(n, k) for 0 ≤ k ≤ n.</summary>
    public static double LogChoose(int n, int k)
    {
        if (k < 0 || k > n) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in 0..{n}");
        if (k == 0 || k == n) return 0;
        // A table of ln m! for the counts validate meets makes Fisher's test cheap enough to
        // simulate thousands of validations; beyond it, log-gamma directly.
        if (n < LogFactorials.Length) return LogFactorials[n] - LogFactorials[k] - LogFactorials[n - k];
        return LogGamma(n + 1.0) - LogGamma(k + 1.0) - LogGamma(n - k + 1.0);
    }

    /// <summary>The regularized incomplete beta I_x(a, b): the Beta(a, b) CDF at x.</summary>
    public static double RegularizedIncompleteBeta(double x, double a, double b)
    {
        if (!(a > 0) || !(b > 0)) throw new ArgumentOutOfRangeException(nameof(a), $"a and b must be > 0 (a = {a}, b = {b})");
        if (double.IsNaN(x)) throw new ArgumentOutOfRangeException(nameof(x), x, "x must be a number");
        if (x <= 0) return 0;
        if (x >= 1) return 1;

        // x^a (1−x)^b / (a B(a, b)) times a continued fraction that converges fast when
        // x < (a+1)/(a+b+2); beyond that use I_x(a, b) = 1 − I_{1−x}(b, a).
        var front = Math.Exp(LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * double.LogP1(-x));
        return x < (a + 1) / (a + b + 2)
            ? front * BetaContinuedFraction(x, a, b) / a
            : 1 - front * BetaContinuedFraction(1 - x, b, a) / b;
    }

    /// <summary>The x with I_x(a, b) = p: the Beta(a, b) quantile. Bisection to the last representable bit.</summary>
    public static double InverseRegularizedIncompleteBeta(double p, double a, double b)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "p must be in [0, 1]");
        if (p == 0) return 0;
        if (p == 1) return 1;

        // The CDF is monotone, so bisection cannot diverge; it stops when the midpoint is no
        // longer between the ends (about 60 to 1100 halvings, each a short continued fraction).
        double low = 0, high = 1;
        while (true)
        {
            var mid = low + (high - low) / 2;
            if (mid <= low || mid >= high) return mid;
            if (RegularizedIncompleteBeta(mid, a, b) < p) low = mid;
            else high = mid;
        }
    }

    private const double LanczosG = 7;

    private static readonly double[] Lanczos =
    [
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
        -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
        1.5056327351493116e-7,
    ];

    // ln m! for m < 2048, computed once and immutable. Declared after Lanczos: static fields
    // initialise in text order, and LogGamma needs Lanczos.
    private static readonly double[] LogFactorials = Enumerable.Range(0, 2048).Select(m => m < 2 ? 0 : LogGamma(m + 1.0)).ToArray();

    // Modified Lentz evaluation of the incomplete beta's continued fraction (NR betacf).
    private static double BetaContinuedFraction(double x, double a, double b)
    {
        const int maxIterations = 10_000;
        const double epsilon = 1e-15;   // a few ulps: delta can settle one ulp either side of 1
        const double tiny = 1e-300;

        var qab = a + b;
        var qap = a + 1;
        var qam = a - 1;
        var c = 1.0;
        var d = 1 - qab * x / qap;
        if (Math.Abs(d) < tiny) d = tiny;
        d = 1 / d;
        var h = d;
        for (var m = 1; m <= maxIterations; m++)
        {
            var m2 = 2 * m;
            var aa = m * (b - m) * x / ((qam + m2) * (a + m2));
            d = 1 + aa * d;
            if (Math.Abs(d) < tiny) d = tiny;
            c = 1 + aa / c;
            if (Math.Abs(c) < tiny) c = tiny;
            d = 1 / d;
            h *= d * c;

            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
            d = 1 + aa * d;
            if (Math.Abs(d) < tiny) d = tiny;
            c = 1 + aa / c;
            if (Math.Abs(c) < tiny) c = tiny;
            d = 1 / d;
            var delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) <= epsilon) return h;
        }
        throw new ArithmeticException($"incomplete beta continued fraction did not converge (x = {x}, a = {a}, b = {b})");
    }

    private static void CheckCounts(int failures, int runs, string failuresName, string runsName)
    {
        if (runs < 0) throw new ArgumentOutOfRangeException(runsName, runs, "runs must be ≥ 0");
        if (failures < 0 || failures > runs)
            throw new ArgumentOutOfRangeException(failuresName, failures, $"failures must be in 0..{runs} (the runs)");
    }
}
