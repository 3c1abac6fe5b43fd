// The posterior over "which commit is the first bad one" for a linear range good … bad, given every
// run so far. Plain bisection lies on races (one lucky clean run marks a bad commit good); this keeps
// every run as evidence and says how sure it is.
//
// Model (stated, and what the simulation draws from):
//   commits 0 (--good) … N (--bad) in order; exactly one k in 1..N is the first bad commit, uniform prior;
//   a commit c ≥ k is bad and each run of it fails independently with the same rate q; a commit c < k
//   is good and NEVER fails (the golden model does not accuse a correct kernel);
//   q ~ Beta(1, 1) a priori, and it is integrated out, not plugged in: under H_k the runs of the bad
//   commits are Bernoulli(q), so P(data | H_k) = B(1 + F_k, 1 + P_k) (F_k failures and P_k clean runs at
//   commits ≥ k) times [no failure before k]. Runs of --bad are in every F_k/P_k, so they are what pins q.
// Why integrate rather than a point: a point estimate is overconfident exactly when it matters (2 of 2
// --bad runs failing gives q̂ = 1, and one clean run would then clear a commit outright: plain
// bisection's mistake); a conservative point (a lower bound of q) is safe but spends runs for nothing.
// The integral is exact here (one Beta function per hypothesis), so there is nothing to approximate.
// A FAIL or CRASH run is a failure; ERROR, SKIP, build and boot failures are not counted (no evidence).
using Harness.Verdicts;

namespace Harness.Bisection;

/// <summary>A commit and the posterior probability that it is the first bad one.</summary>
public sealed record Candidate(int Commit, double Probability);

/// <summary>
/// The posterior over the first bad commit k ∈ 1..N for counts at commits 0..N (see the file's model).
/// Immutable; <see cref="Of"/> computes it in O(N).
/// </summary>
public sealed class BisectionPosterior
{
    /// <summary>The Beta prior of the bad commits' failure rate: uniform.</summary>
    public const double PriorA = 1, PriorB = 1;

    private readonly double[] _probability;   // [k], k = 0..N; [0] = 0 (the good commit is never the culprit)
    private readonly double[] _a, _b;          // Beta posterior of q under H_k: PriorA + F_k, PriorB + P_k

    private BisectionPosterior(double[] probability, double[] a, double[] b)
    {
        _probability = probability;
        _a = a;
        _b = b;
    }

    /// <summary>Number of commits after --good, i.e. the index of --bad.</summary>
    public int Last => _probability.Length - 1;

    /// <summary>P(first bad = k) for k = 0..N (index 0 is always 0).</summary>
    public IReadOnlyList<double> Probabilities => _probability;

    /// <summary>The most probable first bad commit (the earliest on a tie).</summary>
    public int Best { get; private init; }

    public double BestProbability => _probability[Best];

    /// <summary>
    /// The last commit that can still be the first bad one: the first commit that failed (or --bad). Every
    /// commit from it on is bad under every hypothesis left, so testing one only sharpens q, like --bad.
    /// </summary>
    public int Support { get; private init; }

    /// <summary>Posterior mean of the bad commits' failure rate q, averaged over the hypotheses.</summary>
    public double RateMean { get; private init; }

    /// <summary>Shannon entropy of the posterior over k, in bits.</summary>
    public double Entropy => EntropyOf(_probability);

    /// <summary>P(commit c is bad) = P(k ≤ c).</summary>
    public double ProbabilityBad(int commit) => _probability.Take(commit + 1).Sum();

    /// <summary>The <paramref name="count"/> most probable first bad commits, most probable first.</summary>
    public IReadOnlyList<Candidate> Top(int count) =>
        _probability.Select((p, k) => new Candidate(k, p)).Skip(1).OrderByDescending(c => c.Probability).ThenBy(c => c.Commit).Take(count).ToArray();

    /// <summary>
    /// The posterior for <paramref name="counts"/>[c] = runs of commit c (0 = --good … N = --bad; FAIL and
    /// CRASH failures among PASS/FAIL/CRASH runs). A failure of --good contradicts the model (it says
    /// --good never fails): that is the caller's input error, thrown here as <see cref="GoodCommitFailsException"/>.
    /// </summary>
    public static BisectionPosterior Of(IReadOnlyList<RateCounts> counts)
    {
        if (counts.Count < 2) throw new ArgumentException("a range needs --good and --bad (at least 2 commits)", nameof(counts));
        if (counts[0].Failures > 0) throw new GoodCommitFailsException(counts[0]);
        var n = counts.Count - 1;
        var a = new double[n + 1];
        var b = new double[n + 1];
        var log = new double[n + 1];
        // Suffix sums from the bad end: H_k's bad commits are k..N.
        double failures = 0, clean = 0;
        for (var k = n; k >= 1; k--)
        {
            failures += counts[k].Failures;
            clean += counts[k].Runs - counts[k].Failures;
            a[k] = PriorA + failures;
            b[k] = PriorB + clean;
            log[k] = LogBeta(a[k], b[k]);
        }
        // H_k needs every commit before k clean: the first failing commit bounds k from above.
        var firstFailing = Enumerable.Range(1, n).FirstOrDefault(c => counts[c].Failures > 0, n + 1);
        var max = double.NegativeInfinity;
        for (var k = 1; k <= n; k++) if (k <= firstFailing) max = Math.Max(max, log[k]);
        var probability = new double[n + 1];
        for (var k = 1; k <= n && k <= firstFailing; k++) probability[k] = Math.Exp(log[k] - max);
        var total = probability.Sum();
        for (var k = 1; k <= n; k++) probability[k] /= total;
        a[0] = PriorA;
        b[0] = PriorB;

        var best = 1;
        for (var k = 2; k <= n; k++) if (probability[k] > probability[best]) best = k;
        var rate = 0.0;
        for (var k = 1; k <= n; k++) rate += probability[k] * a[k] / (a[k] + b[k]);
        return new BisectionPosterior(probability, a, b) { Best = best, RateMean = rate, Support = Math.Min(n, firstFailing) };
    }

    /// <summary>
    /// The expected drop in entropy (bits) from <paramref name="runs"/> more runs of <paramref name="commit"/>:
    /// over each possible number of failures j, P(j | data) × (H now − H after j). Under H_k with k ≤ c,
    /// P(j) = C(m, j) B(a_k + j, b_k + m − j) / B(a_k, b_k) (q still integrated out); with k &gt; c the commit
    /// is good and j = 0. Testing --bad has a gain too: it sharpens q, which reweighs the hypotheses.
    /// </summary>
    public double ExpectedGain(int commit, int runs)
    {
        if (commit < 1 || commit > Last) throw new ArgumentOutOfRangeException(nameof(commit), commit, $"testable commits are 1..{Last}");
        if (runs < 1) throw new ArgumentOutOfRangeException(nameof(runs), runs, "at least one run");
        var now = Entropy;
        var expectedAfter = 0.0;
        var after = new double[_probability.Length];
        for (var j = 0; j <= runs; j++)
        {
            var choose = Math.Exp(Statistics.LogChoose(runs, j));
            var evidence = 0.0;
            for (var k = 1; k <= Support; k++)
            {
                double likelihood;
                if (k <= commit) likelihood = choose * BetaRatio(_a[k], _b[k], j, runs - j);
                else likelihood = j == 0 ? 1 : 0;
                after[k] = _probability[k] * likelihood;
                evidence += after[k];
            }
            if (evidence <= 0) continue;
            for (var k = 1; k <= Support; k++) after[k] /= evidence;
            expectedAfter += evidence * EntropyOf(after);
        }
        return Math.Max(0, now - expectedAfter);
    }

    /// <summary>
    /// B(a + f, b + c) / B(a, b) for whole f, c: the chance under Beta(a, b) of one given sequence of f
    /// failures and c clean runs. A product of f + c factors, each ≤ 1 (no overflow, no log-gamma: the
    /// step choice evaluates it for every commit, outcome and hypothesis).
    /// </summary>
    internal static double BetaRatio(double a, double b, int failures, int clean)
    {
        var ratio = 1.0;
        for (var i = 0; i < failures; i++) ratio *= (a + i) / (a + b + i);
        for (var i = 0; i < clean; i++) ratio *= (b + i) / (a + b + failures + i);
        return ratio;
    }

    /// <summary>ln B(a, b), through the shared log-gamma of <see cref="Statistics"/>.</summary>
    internal static double LogBeta(double a, double b) => Statistics.LogGamma(a) + Statistics.LogGamma(b) - Statistics.LogGamma(a + b);

    private static double EntropyOf(IReadOnlyList<double> probability)
    {
        var h = 0.0;
        foreach (var p in probability) if (p > 0) h -= p * Math.Log2(p);
        return h;
    }
}

/// <summary>--good failed a run: the model says a good commit never fails, so the range is wrong.</summary>
public sealed class GoodCommitFailsException(RateCounts counts)
    : Exception($"the --good commit failed {counts.Failures} of {counts.Runs} runs: it has the bug too, so it is not good; pick an older --good")
{
    public RateCounts Counts { get; } = counts;
}
