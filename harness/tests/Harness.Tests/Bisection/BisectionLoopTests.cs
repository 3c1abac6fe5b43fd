// The bisection procedure's ends and its log, with scripted step results.
using Harness.Bisection;
using Xunit;

namespace Harness.Tests.Bisection;

public sealed class BisectionLoopTests
{
    // A deterministic kernel history: commits ≥ culprit fail every run.
    private static Func<StepRequest, CancellationToken, Task<StepResult>> AlwaysFailsFrom(int culprit, List<StepRequest>? asked = null) => (request, _) =>
    {
        asked?.Add(request);
        return Task.FromResult(new StepResult(request.Commit >= culprit ? request.Runs : 0, request.Runs, 0));
    };

    [Fact]
    public async Task Adjacent_good_and_bad_name_bad_once_it_is_reproduced()
    {
        var result = await new BisectionLoop(new BisectionPolicy()).RunAsync(1, AlwaysFailsFrom(1), null, CancellationToken.None);

        Assert.Equal(BisectionEnd.Culprit, result.End);
        Assert.Equal(1, result.Culprit);
        Assert.Equal(1.0, result.Probability);
        var step = Assert.Single(result.Steps);
        Assert.StartsWith("reproduce --bad", step.Purpose);
        Assert.Equal(5, result.RunsUsed);
    }

    [Fact]
    public async Task A_deterministic_bug_is_found_and_every_step_is_logged()
    {
        var asked = new List<StepRequest>();

        var result = await new BisectionLoop(new BisectionPolicy(Probability: 0.99)).RunAsync(16, AlwaysFailsFrom(11, asked), null, CancellationToken.None);

        Assert.Equal(BisectionEnd.Culprit, result.End);
        Assert.Equal(11, result.Culprit);
        Assert.True(result.Probability >= 0.99);
        Assert.Equal(asked.Count, result.Steps.Count);
        Assert.Equal(result.RunsUsed, asked.Sum(a => a.Runs));
        // The runs supporting the answer: the culprit failed, its parent ran clean.
        Assert.True(result.Counts[11].Failures > 0);
        Assert.True(result.Counts[10].Runs > 0 && result.Counts[10].Failures == 0);
        Assert.All(result.Steps.Skip(1), s => Assert.NotEmpty(s.Top));
    }

    [Fact]
    public async Task A_bad_commit_that_never_fails_is_not_reproduced()
    {
        var result = await new BisectionLoop(new BisectionPolicy()).RunAsync(8, AlwaysFailsFrom(99), null, CancellationToken.None);

        Assert.Equal(BisectionEnd.NotReproduced, result.End);
        Assert.Equal(50, result.Counts[8].Runs);
        Assert.All(result.Steps, s => Assert.Equal(8, s.Commit));
        Assert.False(result.Named);
    }

    [Fact]
    public async Task A_commit_that_does_not_build_is_skipped_and_never_asked_again()
    {
        var asked = new List<StepRequest>();
        var inner = AlwaysFailsFrom(5, asked);
        Task<StepResult> Run(StepRequest r, CancellationToken t) => r.Commit == 4 ? Task.FromResult(StepResult.BuildFailed("make exited 2")) : inner(r, t);

        var result = await new BisectionLoop(new BisectionPolicy()).RunAsync(8, Run, null, CancellationToken.None);

        Assert.Equal([4], result.Untestable);
        Assert.Single(result.Steps, s => s.Commit == 4);
        Assert.Contains(result.Steps, s => s.Decision.StartsWith("untestable", StringComparison.Ordinal));
        // 4 untestable: 3 clean and 5 failing still separate the first bad commit (5) from 4 only by 4's prior.
        Assert.True(result.End is BisectionEnd.Culprit or BisectionEnd.Inseparable, result.End.ToString());
        Assert.Contains(result.Culprit, new[] { 4, 5 });
    }

    [Fact]
    public async Task Errored_runs_are_no_evidence_and_a_commit_that_only_errors_is_skipped()
    {
        var inner = AlwaysFailsFrom(3);
        Task<StepResult> Run(StepRequest r, CancellationToken t) => r.Commit == 2 ? Task.FromResult(new StepResult(0, 0, r.Runs, Problem: "boot timeout")) : inner(r, t);

        var result = await new BisectionLoop(new BisectionPolicy()).RunAsync(4, Run, null, CancellationToken.None);

        Assert.Equal(0, result.Counts[2].Runs);
        Assert.True(result.Errored[2] > 0);
        Assert.Equal([2], result.Untestable);
        Assert.Equal(2, result.Steps.Count(s => s.Commit == 2));   // MaxUntestableSteps
    }

    [Fact]
    public async Task The_run_cap_ends_an_undecided_bisection()
    {
        // Never failing again after --bad's first run: q is tiny, nothing separates.
        var first = true;
        Task<StepResult> Run(StepRequest r, CancellationToken t)
        {
            var f = first && r.Commit == 8 ? 1 : 0;
            first = false;
            return Task.FromResult(new StepResult(f, r.Runs, 0));
        }

        var result = await new BisectionLoop(new BisectionPolicy(MaxRuns: 60)).RunAsync(8, Run, null, CancellationToken.None);

        Assert.Equal(BisectionEnd.RunCap, result.End);
        Assert.True(result.RunsUsed >= 60 && result.RunsUsed < 60 + 20);
    }

    [Fact]
    public async Task A_step_reporting_more_runs_than_asked_is_refused()
    {
        await Assert.ThrowsAsync<InvalidOperationException>(() => new BisectionLoop(new BisectionPolicy())
            .RunAsync(4, (r, _) => Task.FromResult(new StepResult(0, r.Runs + 1, 0)), null, CancellationToken.None));
    }
}
