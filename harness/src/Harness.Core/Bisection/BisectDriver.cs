// `harness bisect` over a git range: the BisectionLoop with a step runner that builds, boots and runs
// each commit, and the bisect log written durably to results/<run>/bisect.json after every step, so a
// killed bisection leaves every finished step and a report can render it.
using Harness.Results;
using Harness.Verdicts;

namespace Harness.Bisection;

/// <summary>
/// Runs a step: that many runs of one commit (build, boot, run the case, judge), in
/// the run folder. A build failure is <see cref="StepResult.BuildFailed"/>, a boot or infrastructure failure
/// errored runs; neither is evidence. The real one builds and boots under QEMU; tests use fakes.
/// </summary>
public interface IBisectStepRunner
{
    Task<StepResult> RunAsync(RunFolder folder, BisectCommit commit, int step, int runs, CancellationToken cancellationToken);
}

/// <summary>The named commit and the runs that support it: its own (failures) and its parent's (clean).</summary>
public sealed record BisectCulprit(string Sha, string Subject, double Probability, RateCounts Runs, RateCounts ParentRuns);

/// <summary>bisect.json: what was bisected, how, every step, and the answer.</summary>
public sealed record BisectRecord(
    string RunId,
    DateTimeOffset Started,
    DateTimeOffset? Finished,
    string CommandLine,
    string Tree,
    string Filesystem,
    string Case,
    BisectionPolicy Policy,
    IReadOnlyList<BisectCommit> Commits,
    IReadOnlyList<BisectStep> Steps,
    BisectionEnd? End,
    BisectCulprit? Culprit,
    string? Summary)
{
    /// <summary>Shape of this record (<see cref="RecordFormat"/>).</summary>
    public int FormatVersion { get; init; } = RecordFormat.Current;

    /// <summary>Counted runs (failures) per commit, index as <see cref="Commits"/>.</summary>
    public IReadOnlyList<RateCounts> Counts { get; init; } = [];

    public int RunsUsed { get; init; }
    public int Builds { get; init; }
    public int Boots { get; init; }
    public double Seconds { get; init; }
}

/// <summary>Drives one bisection and keeps its record.</summary>
public sealed class BisectDriver(ResultStore store, TimeProvider time, TextWriter progress)
{
    /// <summary>Bisects <paramref name="range"/>; returns the record and the path of bisect.json.</summary>
    public async Task<(BisectRecord Record, string Path)> RunAsync(GitRange range, string filesystem, string @case, BisectionPolicy policy,
        IBisectStepRunner runner, string commandLine, CancellationToken cancellationToken)
    {
        policy.Validate();
        var started = time.GetUtcNow();
        var folder = store.Create($"{started:yyyyMMdd-HHmmss}-bisect-{Environment.ProcessId}");
        var path = System.IO.Path.Combine(folder.Path, "bisect.json");
        var record = new BisectRecord(folder.Id, started, null, commandLine, range.Tree, filesystem, @case, policy, range.Commits, [], null, null, null);
        await AtomicFile.WriteJsonAsync(path, record, CancellationToken.None);
        progress.WriteLine($"bisect {folder.Id}: {range.Commits.Count - 1} commit(s) after --good {Short(range.Good)}, up to --bad {Short(range.Bad)}; " +
                           $"{filesystem}/{@case}; stops at P ≥ {policy.Probability}");

        var steps = new List<BisectStep>();
        async Task<StepResult> Run(StepRequest request, CancellationToken token)
        {
            var commit = range.Commits[request.Commit];
            progress.WriteLine($"  step {request.Step}: {Short(commit)} ({request.Commit}/{range.Commits.Count - 1}) × {request.Runs}: {request.Purpose}");
            return await runner.RunAsync(folder, commit, request.Step, request.Runs, token);
        }
        async Task OnStep(BisectStep step)
        {
            step = step with { Sha = range.Commits[step.Commit].Sha };
            steps.Add(step);
            progress.WriteLine($"    {step.Failures}/{step.Runs} failed{(step.Errored > 0 ? $", {step.Errored} errored" : "")}: {step.Decision}" +
                               (step.Top.Count > 0 ? $"; top: {string.Join(", ", step.Top.Take(3).Select(c => $"{Short(range.Commits[c.Commit])} {c.Probability:0.###}"))}" : ""));
            record = record with { Steps = steps.ToArray() };
            // Durable after every step: the log survives a kill.
            await AtomicFile.WriteJsonAsync(path, record, CancellationToken.None);
        }

        BisectionResult? result = null;
        try
        {
            result = await new BisectionLoop(policy).RunAsync(range.Commits.Count - 1, Run, OnStep, cancellationToken);
        }
        finally
        {
            record = Finish(record, range, result, steps, time.GetUtcNow());
            await AtomicFile.WriteJsonAsync(path, record, CancellationToken.None);
        }
        return (record, path);
    }

    /// <summary>The record's end, culprit with its supporting runs, totals and one-sentence summary.</summary>
    internal static BisectRecord Finish(BisectRecord record, GitRange range, BisectionResult? result, IReadOnlyList<BisectStep> steps, DateTimeOffset finished)
    {
        var totals = record with
        {
            Finished = finished,
            Steps = steps.ToArray(),
            RunsUsed = steps.Sum(s => s.Runs + s.Errored),
            Builds = steps.Sum(s => s.Builds),
            Boots = steps.Sum(s => s.Boots),
            Seconds = (finished - record.Started).TotalSeconds,
        };
        if (result is null) return totals with { End = BisectionEnd.Interrupted, Summary = "interrupted by an error; the steps so far are kept" };
        var candidate = range.Commits[result.Culprit];
        var culprit = result.End is BisectionEnd.NotReproduced or BisectionEnd.Infrastructure ? null
            : new BisectCulprit(candidate.Sha, candidate.Subject, result.Probability, result.Counts[result.Culprit], result.Counts[result.Culprit - 1]);
        var bad = result.Counts[^1];
        var summary = result.End switch
        {
            BisectionEnd.Culprit => $"first bad commit {Short(candidate)} with probability {result.Probability:0.####}: it failed {culprit!.Runs.Failures}/{culprit.Runs.Runs}, " +
                                    $"its parent {Short(range.Commits[result.Culprit - 1])} ran {culprit.ParentRuns.Runs} clean{(result.Culprit - 1 == 0 ? " (--good, assumed good)" : "")}; " +
                                    $"bad commits fail at q ≈ {result.RateMean:0.###}",
            BisectionEnd.NotReproduced => $"--bad never failed in {bad.Runs} counted runs: the bug did not reproduce, nothing to bisect",
            BisectionEnd.Infrastructure => "--bad could not be built or booted: nothing to bisect (see the steps)",
            BisectionEnd.RunCap => $"run cap reached undecided: most probable {Short(candidate)} at {result.Probability:0.####}",
            BisectionEnd.Inseparable => $"no testable commit can separate the candidates (untestable commits between them): most probable {Short(candidate)} at {result.Probability:0.####}",
            _ => $"interrupted: most probable so far {Short(candidate)} at {result.Probability:0.####}",
        };
        return totals with { End = result.End, Culprit = culprit, Counts = result.Counts, Summary = summary };
    }

    /// <summary>"1a2b3c4d5e6f subject" for a commit; "package=version" for a package version.</summary>
    public static string Short(BisectCommit commit) => IsPackage(commit) ? commit.Sha : $"{Id(commit)} {commit.Subject}".TrimEnd();

    /// <summary>A commit's abbreviated id (12 hex digits), or a package version's "package=version".</summary>
    public static string Id(BisectCommit commit) => IsPackage(commit) ? commit.Sha : commit.Sha[..Math.Min(12, commit.Sha.Length)];

    private static bool IsPackage(BisectCommit commit) => commit.Sha.Contains('=', StringComparison.Ordinal);

    /// <summary>`harness bisect`'s exit code: 0 a culprit named, 3 not decided by the machines, 4 undecided, 5 not reproduced, 130 interrupted.</summary>
    public static int ExitCode(BisectionEnd? end) => end switch
    {
        BisectionEnd.Culprit => 0,
        BisectionEnd.Infrastructure => 3,
        BisectionEnd.RunCap or BisectionEnd.Inseparable => 4,
        BisectionEnd.NotReproduced => 5,
        _ => Outcomes.InterruptedExitCode,
    };
}
