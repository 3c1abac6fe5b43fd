// The flake-aware bisection procedure, shared by `harness bisect` (real builds and boots) and the
// simulation test (seeded coin flips), so what the simulation measures is what the command does:
// reproduce --bad (it pins the failure rate), then step by step pick the commit and the number of
// runs that are expected to teach the most about the first bad commit, run them through a delegate,
// update the posterior, and stop when one commit holds the requested probability.
using Harness.Verdicts;

namespace Harness.Bisection;

/// <summary>
/// How much evidence a bisection needs and may spend.
/// <list type="bullet">
/// <item><paramref name="Probability"/>: stop when one commit is the first bad one with at least this posterior probability.</item>
/// <item><paramref name="MaxRuns"/>: runs in all (counted and errored) before giving up undecided.</item>
/// <item><paramref name="StepDetection"/>: a step runs enough that a bad commit fails at least once with this chance at
/// the estimated failure rate: ⌈ln(1 − d) / ln(1 − q̂)⌉ runs (q̂ 0.3 → 3, 0.1 → 9), within 1..<paramref name="MaxRunsPerStep"/>.
/// On a real machine the runs of a step share one build and one boot, so a few per step are cheap.</item>
/// <item><paramref name="ReproduceRuns"/> runs a step at --bad until it has failed once; with no failure in
/// <paramref name="MaxReproduceRuns"/> counted runs the bug is not reproduced and nothing can be bisected.</item>
/// <item><paramref name="MaxUntestableSteps"/>: steps in a row at one commit that counted nothing (boot or
/// infrastructure failures) before that commit is skipped for good, as a build failure is at once.</item>
/// </list>
/// </summary>
public sealed record BisectionPolicy(
    double Probability = 0.95,
    int MaxRuns = 500,
    double StepDetection = 0.6,
    int MaxRunsPerStep = 20,
    int ReproduceRuns = 5,
    int MaxReproduceRuns = 50,
    int MaxUntestableSteps = 2)
{
    /// <summary>Throws naming the first field out of range and what would be valid.</summary>
    public void Validate()
    {
        if (!(Probability > 0.5 && Probability < 1)) throw new ArgumentOutOfRangeException(nameof(Probability), Probability, "the stopping probability must be above 0.5 and below 1");
        if (MaxRuns < 1) throw new ArgumentOutOfRangeException(nameof(MaxRuns), MaxRuns, "at least one run");
        if (!(StepDetection > 0 && StepDetection < 1)) throw new ArgumentOutOfRangeException(nameof(StepDetection), StepDetection, "must be strictly between 0 and 1");
        if (MaxRunsPerStep < 1) throw new ArgumentOutOfRangeException(nameof(MaxRunsPerStep), MaxRunsPerStep, "at least one run a step");
        if (ReproduceRuns < 1 || ReproduceRuns > MaxReproduceRuns) throw new ArgumentOutOfRangeException(nameof(ReproduceRuns), ReproduceRuns, $"must be in 1..{MaxReproduceRuns} (MaxReproduceRuns)");
        if (MaxUntestableSteps < 1) throw new ArgumentOutOfRangeException(nameof(MaxUntestableSteps), MaxUntestableSteps, "at least one step");
    }

    /// <summary>Runs for a step at estimated failure rate <paramref name="rate"/> (see <see cref="StepDetection"/>).</summary>
    public int RunsPerStep(double rate)
    {
        if (!(rate > 0)) return MaxRunsPerStep;
        if (rate >= 1) return 1;
        var runs = Math.Ceiling(Math.Log(1 - StepDetection) / double.LogP1(-rate));
        return (int)Math.Clamp(runs, 1, MaxRunsPerStep);
    }
}

/// <summary>What a step asks: <paramref name="Runs"/> runs of commit <paramref name="Commit"/> (0 = --good … N = --bad).</summary>
public sealed record StepRequest(int Step, int Commit, int Runs, string Purpose);

/// <summary>
/// What a step brought back: <paramref name="Failures"/> (FAIL or CRASH) among <paramref name="Runs"/> counted
/// runs, <paramref name="Errored"/> runs that said nothing about the kernel (ERROR, SKIP), and
/// <paramref name="Untestable"/> when the commit cannot be tested at all (its build failed), with the reason.
/// </summary>
public sealed record StepResult(int Failures, int Runs, int Errored, bool Untestable = false, string? Problem = null)
{
    /// <summary>What the step's machine did, for the log (e.g. "built 6.1.192 in 14 s (incremental); 1 boot").</summary>
    public string? Detail { get; init; }

    /// <summary>Builds this step compiled (0 when the image was cached) and guests it booted, for the log's totals.</summary>
    public int Builds { get; init; }

    public int Boots { get; init; }

    public static StepResult BuildFailed(string problem) => new(0, 0, 0, true, problem);
}

/// <summary>One step of the bisect log: what was run, what came back, the posterior after it, and the decision.</summary>
public sealed record BisectStep(
    int Step,
    int Commit,
    string Purpose,
    int RunsAsked,
    int Failures,
    int Runs,
    int Errored,
    bool Untestable,
    string? Problem,
    double RateMean,
    IReadOnlyList<Candidate> Top,
    string Decision)
{
    /// <summary>The commit's id (set by the caller that knows the range: <see cref="BisectDriver"/>).</summary>
    public string? Sha { get; init; }

    /// <summary>What the step's machine did (build, boot), from <see cref="StepResult.Detail"/>.</summary>
    public string? Detail { get; init; }

    public int Builds { get; init; }

    public int Boots { get; init; }
}

/// <summary>Why a bisection ended.</summary>
public enum BisectionEnd
{
    /// <summary>One commit holds at least the requested probability.</summary>
    Culprit,
    /// <summary>--bad never failed in the runs allowed: there is nothing to bisect.</summary>
    NotReproduced,
    /// <summary>The run cap was reached first.</summary>
    RunCap,
    /// <summary>No testable commit can teach anything more (the candidates are separated by untestable commits).</summary>
    Inseparable,
    /// <summary>--bad itself cannot be built or booted.</summary>
    Infrastructure,
    /// <summary>Cancelled (Ctrl-C, a budget).</summary>
    Interrupted,
}

/// <summary>The outcome: the named (or most probable) commit with its probability, every commit's counts, and every step.</summary>
public sealed record BisectionResult(
    BisectionEnd End,
    int Culprit,
    double Probability,
    double RateMean,
    IReadOnlyList<RateCounts> Counts,
    IReadOnlyList<int> Errored,
    IReadOnlyList<int> Untestable,
    IReadOnlyList<BisectStep> Steps,
    int RunsUsed)
{
    /// <summary>True when a culprit is named (exit 0 of `harness bisect`).</summary>
    public bool Named => End == BisectionEnd.Culprit;
}

/// <summary>Runs a bisection of commits 0 (--good) … <c>last</c> (--bad) under a <see cref="BisectionPolicy"/>.</summary>
public sealed class BisectionLoop(BisectionPolicy policy)
{
    /// <summary>Posterior candidates kept in each step's log.</summary>
    public const int TopInLog = 5;

    // A gain below this cannot move the posterior: the candidates left cannot be told apart by any testable commit.
    private const double NegligibleGain = 1e-9;

    /// <summary>
    /// Bisects until a culprit, the cap, or an end in <see cref="BisectionEnd"/>. <paramref name="runStep"/>
    /// runs one step; <paramref name="onStep"/> sees each step as soon as it is logged (and may record it).
    /// <paramref name="earlier"/> replays counts already known (a resumed oracle), index 0..last.
    /// </summary>
    public async Task<BisectionResult> RunAsync(int last, Func<StepRequest, CancellationToken, Task<StepResult>> runStep, Func<BisectStep, Task>? onStep,
        CancellationToken cancellationToken, IReadOnlyList<RateCounts>? earlier = null)
    {
        policy.Validate();
        if (last < 1) throw new ArgumentOutOfRangeException(nameof(last), last, "the range needs at least one commit after --good");
        var state = new BisectionState(last, earlier) { MaxEmpty = policy.MaxUntestableSteps };
        var steps = new List<BisectStep>();
        while (true)
        {
            if (cancellationToken.IsCancellationRequested) return state.Result(BisectionEnd.Interrupted, steps);
            var next = Next(state);
            if (next.End is { } end) return state.Result(end, steps);
            var request = new StepRequest(steps.Count + 1, next.Commit, next.Runs, next.Purpose);
            var result = await runStep(request, cancellationToken);
            var step = state.Apply(request, result, next.Purpose);
            steps.Add(step);
            if (onStep is not null) await onStep(step);
        }
    }

    /// <summary>The next step for the evidence so far, or why to stop.</summary>
    internal (BisectionEnd? End, int Commit, int Runs, string Purpose) Next(BisectionState state)
    {
        var last = state.Last;
        var bad = state.Counts[last];
        if (bad.Failures == 0)
        {
            if (state.Untestable[last]) return (BisectionEnd.Infrastructure, 0, 0, "");
            if (bad.Runs >= policy.MaxReproduceRuns) return (BisectionEnd.NotReproduced, 0, 0, "");
            if (state.RunsUsed >= policy.MaxRuns) return (BisectionEnd.RunCap, 0, 0, "");
            var runs = Math.Min(policy.ReproduceRuns, policy.MaxReproduceRuns - bad.Runs);
            return (null, last, runs, $"reproduce --bad: {bad.Failures}/{bad.Runs} failed so far; its failures pin the failure rate");
        }
        var posterior = state.Posterior;
        if (posterior.BestProbability >= policy.Probability) return (BisectionEnd.Culprit, 0, 0, "");
        if (state.RunsUsed >= policy.MaxRuns) return (BisectionEnd.RunCap, 0, 0, "");
        var m = policy.RunsPerStep(posterior.RateMean);
        var (commit, gain) = Choose(posterior, state.Untestable, m);
        if (gain < NegligibleGain) return (BisectionEnd.Inseparable, 0, 0, "");
        return (null, commit, m,
            $"split: P(bad) {Number(posterior.ProbabilityBad(commit))}, expected gain {Number(gain)} bit from {m} run(s) at q ≈ {Number(posterior.RateMean)}");
    }

    /// <summary>The testable commit whose runs have the largest expected information gain (the earliest on a tie).</summary>
    public static (int Commit, double Gain) Choose(BisectionPosterior posterior, IReadOnlyList<bool> untestable, int runs)
    {
        var best = (Commit: posterior.Last, Gain: -1.0);
        foreach (var c in CandidateCommits(posterior))
        {
            if (untestable[c]) continue;
            var gain = posterior.ExpectedGain(c, runs);
            if (gain > best.Gain + 1e-12) best = (c, gain);
        }
        return best;
    }

    // The commits before the first failing one, and --bad (any commit from the first failing one on only
    // teaches q, as --bad does). Every such commit for ranges up to 256; beyond, commits at 64 quantiles of
    // the posterior: the best split is near a quantile, and each gain costs O(N).
    private static IEnumerable<int> CandidateCommits(BisectionPosterior posterior)
    {
        if (posterior.Support <= 256) return Enumerable.Range(1, posterior.Support - 1).Append(posterior.Last);
        var picks = new SortedSet<int> { posterior.Last };
        var cumulative = 0.0;
        var next = 1.0 / 64;
        for (var k = 1; k <= posterior.Last; k++)
        {
            cumulative += posterior.Probabilities[k];
            while (cumulative >= next && next < 1) { picks.Add(k); if (k > 1) picks.Add(k - 1); next += 1.0 / 64; }
        }
        return picks;
    }

    private static string Number(double value) => value.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The evidence so far: counts, errored runs and untestable commits by index.</summary>
    internal sealed class BisectionState
    {
        public BisectionState(int last, IReadOnlyList<RateCounts>? earlier)
        {
            Last = last;
            Counts = Enumerable.Range(0, last + 1).Select(_ => new RateCounts(0, 0)).ToArray();
            if (earlier is not null)
            {
                if (earlier.Count != last + 1) throw new ArgumentException($"{earlier.Count} earlier counts for {last + 1} commits", nameof(earlier));
                for (var c = 0; c <= last; c++) Counts[c] = earlier[c];
            }
            Errored = new int[last + 1];
            Untestable = new bool[last + 1];
            EmptySteps = new int[last + 1];
        }

        public int Last { get; }
        public RateCounts[] Counts { get; }
        public int[] Errored { get; }
        public bool[] Untestable { get; }
        public int[] EmptySteps { get; }
        public int RunsUsed { get; private set; }
        // Recomputed only after counts change: the choice asks for it several times a step.
        public BisectionPosterior Posterior => _posterior ??= BisectionPosterior.Of(Counts);
        private BisectionPosterior? _posterior;

        public BisectStep Apply(StepRequest request, StepResult result, string purpose)
        {
            var c = request.Commit;
            if (result.Runs < 0 || result.Failures < 0 || result.Failures > result.Runs || result.Errored < 0 || result.Runs + result.Errored > request.Runs)
                throw new InvalidOperationException($"step {request.Step}: {result.Failures} failures in {result.Runs} counted and {result.Errored} errored runs, but {request.Runs} were asked");
            var before = Counts[c].Failures == 0 && Counts[Last].Failures > 0 ? Posterior.ProbabilityBad(c) : double.NaN;
            Counts[c] = Counts[c].Add(RateCounts.OfGuest(result.Failures, result.Runs));
            _posterior = null;
            Errored[c] += result.Errored;
            RunsUsed += result.Runs + result.Errored;
            EmptySteps[c] = result.Runs == 0 ? EmptySteps[c] + 1 : 0;
            if (result.Untestable || (result.Runs == 0 && EmptySteps[c] >= MaxEmpty)) Untestable[c] = true;

            string decision;
            if (result.Untestable) decision = $"untestable (skipped from now on): {result.Problem}";
            else if (result.Runs == 0) decision = $"no counted run ({result.Errored} errored{(result.Problem is null ? "" : ": " + result.Problem)}): no evidence{(Untestable[c] ? "; skipped from now on" : "")}";
            else if (result.Failures > 0) decision = $"bad: {result.Failures}/{result.Runs} failed (a failure is proof); the first bad commit is at or before it";
            else decision = $"{result.Runs} clean run(s): not proof of good";
            double rate = 0;
            IReadOnlyList<Candidate> top = [];
            if (Counts[Last].Failures > 0)
            {
                var posterior = Posterior;
                rate = posterior.RateMean;
                top = posterior.Top(TopInLog);
                if (result.Failures == 0 && result.Runs > 0 && !double.IsNaN(before))
                    decision += $"; P(bad) {Number(before)} → {Number(posterior.ProbabilityBad(c))}";
            }
            return new BisectStep(request.Step, c, purpose, request.Runs, result.Failures, result.Runs, result.Errored, result.Untestable, result.Problem, rate, top, decision)
            {
                Detail = result.Detail, Builds = result.Builds, Boots = result.Boots,
            };
        }

        public int MaxEmpty { get; init; } = 2;

        public BisectionResult Result(BisectionEnd end, IReadOnlyList<BisectStep> steps)
        {
            var reproduced = Counts[Last].Failures > 0;
            var posterior = reproduced ? Posterior : null;
            return new BisectionResult(end, posterior?.Best ?? Last, posterior?.BestProbability ?? 0, posterior?.RateMean ?? 0,
                Counts.ToArray(), Errored.ToArray(), Enumerable.Range(0, Last + 1).Where(c => Untestable[c]).ToArray(), steps.ToArray(), RunsUsed);
        }
    }
}
