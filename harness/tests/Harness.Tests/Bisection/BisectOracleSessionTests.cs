// The `git bisect run` oracle's answers with a fake history: 1 on a failure, 0 only once the
// posterior clears the commit, 125 when it cannot build or is off the range, 128 when --bad never fails.
using Harness.Bisection;
using Harness.Results;
using Xunit;

namespace Harness.Tests.Bisection;

public sealed class BisectOracleSessionTests : IDisposable
{
    private readonly string _results = Directory.CreateTempSubdirectory("harness-oracle-").FullName;
    private static readonly IReadOnlyList<string> Shas = Enumerable.Range(0, 9).Select(i => new string((char)('a' + i), 40)).ToArray();
    private static readonly GitRange Range = new("/tree", Shas.Select((s, i) => new BisectCommit(i, s, $"c{i}")).ToArray());

    public void Dispose() => Directory.Delete(_results, recursive: true);

    private async Task<(OracleAnswer Answer, BisectOracleState State)> Ask(FakeHistory history, int index, BisectOracleState? state = null)
    {
        var saved = new List<BisectOracleState>();
        var folder = new ResultStore(_results).Create("oracle");
        var result = await new BisectOracleSession(new BisectionPolicy(), history, TextWriter.Null)
            .AnswerAsync(state ?? BisectOracleState.Start(Range, "ext4", "seed", 0.95), Shas[index], folder, s => { saved.Add(s); return Task.CompletedTask; }, DateTimeOffset.UnixEpoch, CancellationToken.None);
        Assert.Same(result.State, saved[^1]);   // what is answered is what was saved
        return result;
    }

    [Fact]
    public async Task A_failing_commit_is_bad_exit_1()
    {
        var (answer, state) = await Ask(new FakeHistory(Shas, culprit: 4, rate: 1), 6);

        Assert.Equal(OracleExit.Bad, answer.ExitCode);
        Assert.Contains("a failure is proof", answer.Reason);
        Assert.True(state.Counts[8].Failures > 0);   // --bad was reproduced first
        Assert.Equal("bad", Assert.Single(state.Calls).Answer);
    }

    [Fact]
    public async Task A_clean_commit_is_good_only_when_its_chance_of_bad_is_below_the_split_threshold()
    {
        var history = new FakeHistory(Shas, culprit: 6, rate: 0.5);

        var (answer, state) = await Ask(history, 3);

        Assert.Equal(OracleExit.Good, answer.ExitCode);
        var pBad = BisectionPosterior.Of(state.Counts).ProbabilityBad(3);
        Assert.True(pBad <= BisectOracleSession.GoodThreshold(0.95, 8), $"P(bad) {pBad}");
        // One clean step was not enough: at q ≈ 1/2 it took several (P(bad) from 3/8 down to 1.25 %).
        Assert.True(state.Counts[3].Runs >= 4, $"{state.Counts[3].Runs} runs");
        Assert.Equal(0, state.Counts[3].Failures);
    }

    [Fact]
    public async Task The_state_carries_the_runs_to_the_next_call()
    {
        var history = new FakeHistory(Shas, culprit: 6, rate: 0.5);
        var (_, state) = await Ask(history, 3);
        var stepsAfterFirst = history.Steps.Count;

        var (again, _) = await Ask(history, 3, state);

        Assert.Equal(OracleExit.Good, again.ExitCode);
        Assert.Equal(stepsAfterFirst, history.Steps.Count);   // already decided: no new run
    }

    [Fact]
    public void The_good_threshold_splits_the_error_budget_over_gits_answers()
    {
        Assert.Equal(0.05 / 4, BisectOracleSession.GoodThreshold(0.95, 8), 12);    // ⌈log2 9⌉ = 4
        Assert.Equal(0.01 / 10, BisectOracleSession.GoodThreshold(0.99, 1000), 12); // ⌈log2 1001⌉ = 10
    }

    [Fact]
    public async Task A_commit_that_does_not_build_is_skip_125()
    {
        var history = new FakeHistory(Shas, culprit: 4, rate: 1);
        history.Unbuildable.Add(2);

        var (answer, _) = await Ask(history, 2);

        Assert.Equal(OracleExit.Skip, answer.ExitCode);
        Assert.Contains("cannot be built", answer.Reason);
    }

    [Fact]
    public async Task A_commit_off_the_range_is_skip_125()
    {
        var session = new BisectOracleSession(new BisectionPolicy(), new FakeHistory(Shas, 4, 1), TextWriter.Null);

        var (answer, _) = await session.AnswerAsync(BisectOracleState.Start(Range, "ext4", "seed", 0.95), new string('z', 40),
            new ResultStore(_results).Create("off"), _ => Task.CompletedTask, DateTimeOffset.UnixEpoch, CancellationToken.None);

        Assert.Equal(OracleExit.Skip, answer.ExitCode);
        Assert.Contains("not on the ancestry path", answer.Reason);
    }

    [Fact]
    public async Task A_bad_commit_that_never_fails_aborts_git_with_128()
    {
        var (answer, state) = await Ask(new FakeHistory(Shas, culprit: 99, rate: 1), 4);

        Assert.Equal(OracleExit.Abort, answer.ExitCode);
        Assert.True(answer.ExitCode >= 128);
        Assert.Equal(50, state.Counts[8].Runs);
        Assert.Contains("does not reproduce", answer.Reason);
    }
}
