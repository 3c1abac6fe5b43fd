// `harness bisect test`: the oracle `git bisect run` calls once per commit git checks out. git's
// search trusts every answer forever, so the oracle only answers when it is sure: "bad" on a failure
// (proof under the model), "good" only once the posterior puts this commit's chance of being bad
// below (1 − probability) / ⌈log2(N + 1)⌉ (git asks about that many commits, so the per-answer errors
// add up to at most 1 − probability), "skip" (125) when it cannot tell or cannot build or boot. The
// posterior (every run of every commit, and --bad's runs that pin the failure rate) lives in a --state
// file between calls.
using Harness.Results;
using Harness.Verdicts;

namespace Harness.Bisection;

/// <summary>One answer given to git.</summary>
public sealed record OracleCall(string Sha, int Index, DateTimeOffset At, int ExitCode, string Answer, string Reason, int Runs, int Failures, int Errored);

/// <summary>
/// The --state file: the range, what is tested, the counts of every commit so far and every answer given.
/// Written atomically after every step of every call.
/// </summary>
public sealed record BisectOracleState(
    string Tree,
    string Filesystem,
    string Case,
    double Probability,
    IReadOnlyList<BisectCommit> Commits,
    IReadOnlyList<RateCounts> Counts,
    IReadOnlyList<int> Errored,
    IReadOnlyList<OracleCall> Calls)
{
    /// <summary>Shape of this record (<see cref="RecordFormat"/>).</summary>
    public int FormatVersion { get; init; } = RecordFormat.Current;

    /// <summary>Steps run over all calls (numbers the cells).</summary>
    public int Steps { get; init; }

    public static BisectOracleState Start(GitRange range, string filesystem, string @case, double probability) =>
        new(range.Tree, filesystem, @case, probability, range.Commits,
            range.Commits.Select(_ => new RateCounts(0, 0)).ToArray(), new int[range.Commits.Count], []);
}

/// <summary>git bisect run's exit codes.</summary>
public static class OracleExit
{
    public const int Good = 0;
    public const int Bad = 1;
    /// <summary>"This commit cannot be tested": build, boot or infrastructure failure, or not decidable within the call's runs.</summary>
    public const int Skip = 125;
    /// <summary>128 or more makes git abort the bisection instead of marking a commit bad: bad input, or nothing to bisect.</summary>
    public const int Abort = 128;
}

/// <summary>The answer for one commit, with the exit code git reads.</summary>
public sealed record OracleAnswer(int ExitCode, string Answer, string Reason);

/// <summary>Answers one `git bisect run` call, running steps through <paramref name="runner"/> and saving the state after each.</summary>
public sealed class BisectOracleSession(BisectionPolicy policy, IBisectStepRunner runner, TextWriter progress)
{
    /// <summary>Most runs one call spends at its commit before answering skip.</summary>
    public int MaxRunsPerCall { get; init; } = 100;

    /// <summary>P(bad) at or below which a clean commit is answered good: (1 − probability) / ⌈log2(N + 1)⌉.</summary>
    public static double GoodThreshold(double probability, int last) => (1 - probability) / Math.Max(1, Math.Ceiling(Math.Log2(last + 1)));

    public async Task<(OracleAnswer Answer, BisectOracleState State)> AnswerAsync(BisectOracleState state, string sha, RunFolder folder,
        Func<BisectOracleState, Task> save, DateTimeOffset now, CancellationToken cancellationToken)
    {
        policy.Validate();
        var last = state.Commits.Count - 1;
        var index = state.Commits.FirstOrDefault(c => c.Sha == sha)?.Index ?? -1;
        var counts = state.Counts.ToArray();
        var errored = state.Errored.ToArray();
        int callRuns = 0, callFailures = 0, callErrored = 0;

        async Task<(OracleAnswer, BisectOracleState)> Done(int exit, string word, string reason)
        {
            var answer = new OracleAnswer(exit, word, reason);
            state = state with
            {
                Counts = counts.ToArray(), Errored = errored.ToArray(),
                Calls = [.. state.Calls, new OracleCall(sha, index, now, exit, word, reason, callRuns, callFailures, callErrored)],
            };
            await save(state);
            return (answer, state);
        }

        async Task<StepResult> Step(int commit, int runs)
        {
            var step = state.Steps + 1;
            progress.WriteLine($"  step {step}: {BisectDriver.Short(state.Commits[commit])} × {runs}");
            var result = await runner.RunAsync(folder, state.Commits[commit], step, runs, cancellationToken);
            if (result.Runs < 0 || result.Failures < 0 || result.Failures > result.Runs || result.Errored < 0 || result.Runs + result.Errored > runs)
                throw new InvalidOperationException($"step {step}: {result.Failures} failures in {result.Runs} counted and {result.Errored} errored runs, but {runs} were asked");
            counts[commit] = counts[commit].Add(RateCounts.OfGuest(result.Failures, result.Runs));
            errored[commit] += result.Errored;
            if (commit == index) { callRuns += result.Runs; callFailures += result.Failures; callErrored += result.Errored; }
            progress.WriteLine($"    {result.Failures}/{result.Runs} failed{(result.Errored > 0 ? $", {result.Errored} errored" : "")}{(result.Problem is null ? "" : ": " + result.Problem)}");
            state = state with { Steps = step, Counts = counts.ToArray(), Errored = errored.ToArray() };
            await save(state);
            return result;
        }

        if (index < 0)
            return await Done(OracleExit.Skip, "skip", $"{sha[..Math.Min(12, sha.Length)]} is not on the ancestry path --good..--bad the state was started with; skipped");
        if (index == 0)
            return await Done(OracleExit.Good, "good", "the --good commit (good by assumption)");

        // --bad first: until it has failed there is no bug to look for and no failure rate to weigh clean runs with.
        var empty = 0;
        while (counts[last].Failures == 0)
        {
            if (counts[last].Runs >= policy.MaxReproduceRuns)
                return await Done(OracleExit.Abort, "abort", $"--bad never failed in {counts[last].Runs} counted runs: the bug does not reproduce, so no answer could be trusted; git bisect is stopped");
            var r = await Step(last, Math.Min(policy.ReproduceRuns, policy.MaxReproduceRuns - counts[last].Runs));
            empty = r.Runs == 0 ? empty + 1 : 0;
            if (r.Untestable || empty >= policy.MaxUntestableSteps)
                return await Done(OracleExit.Skip, "skip", $"--bad could not be {(r.Untestable ? "built" : "booted or run")} to pin the failure rate ({r.Problem}); skipped, try again");
        }
        if (index == last)
            return await Done(OracleExit.Bad, "bad", $"the --bad commit: {counts[last].Failures}/{counts[last].Runs} failed");

        var threshold = GoodThreshold(state.Probability, last);
        empty = 0;
        while (true)
        {
            if (counts[index].Failures > 0)
                return await Done(OracleExit.Bad, "bad", $"{counts[index].Failures}/{counts[index].Runs} runs failed: a failure is proof");
            var posterior = BisectionPosterior.Of(counts);
            var pBad = posterior.ProbabilityBad(index);
            if (pBad <= threshold)
                return await Done(OracleExit.Good, "good",
                    $"0/{counts[index].Runs} failed; P(bad) = {pBad:0.####} ≤ {threshold:0.####} (1 − {state.Probability} over ⌈log2({last + 1})⌉ answers) at q ≈ {posterior.RateMean:0.###}");
            if (callRuns + callErrored >= MaxRunsPerCall)
                return await Done(OracleExit.Skip, "skip", $"0/{counts[index].Runs} failed, P(bad) still {pBad:0.####} > {threshold:0.####} after {MaxRunsPerCall} runs in this call; skipped (rerun to add runs)");
            var r = await Step(index, policy.RunsPerStep(posterior.RateMean));
            if (r.Untestable)
                return await Done(OracleExit.Skip, "skip", $"cannot be built: {r.Problem}");
            empty = r.Runs == 0 ? empty + 1 : 0;
            if (empty >= policy.MaxUntestableSteps)
                return await Done(OracleExit.Skip, "skip", $"no counted run in {empty} steps (boot or infrastructure failures{(r.Problem is null ? "" : ": " + r.Problem)})");
        }
    }
}
