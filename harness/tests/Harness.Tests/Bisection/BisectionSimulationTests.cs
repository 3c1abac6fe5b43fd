// Bisection simulated on seeded flaky histories: 32 commits after --good, the first bad one drawn
// uniformly, every bad commit failing each run with rate q, 5 % of runs ending in an infrastructure
// error (no evidence). Ours (the very BisectionLoop `harness bisect` runs, stopping at 0.99) against
// plain git bisect (one run per step) and a fixed-10-runs bisection (bad at ≥ 1 failure in 10, as
// syzbot-style bisection) on the same histories. Ours must name the right commit ≥ 95 % of the time
// at q ≥ 0.3; plain bisection must be seen failing there, or the simulation proves nothing.
using System.Globalization;
using Harness.Bisection;
using Xunit;
using Xunit.Abstractions;

namespace Harness.Tests.Bisection;

public sealed class BisectionSimulationTests(ITestOutputHelper output)
{
    private const int Commits = 32;
    private const int Histories = 200;
    private const double ErrorRate = 0.05;
    private const int Seed = 20261127;

    private sealed record Row(double Rate, double OursCorrect, double OursRuns, double OursSteps, double PlainCorrect, double PlainRuns, double FixedCorrect, double FixedRuns);

    private static readonly double[] Rates = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

    [Fact]
    public async Task Ours_names_the_right_commit_at_least_95_percent_of_the_time_at_rates_from_0_3()
    {
        var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        var rows = new List<Row>();
        foreach (var rate in Rates) rows.Add(await SimulateAsync(rate));
        cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu;

        output.WriteLine($"Bisection of {Commits} commits, {Histories} seeded histories per rate, {ErrorRate:P0} of runs ERROR; ours stops at 0.99 (process CPU {cpu.TotalSeconds:0.0} s).");
        output.WriteLine("| q | ours correct | ours runs | ours steps | plain correct | plain runs | fixed-10 correct | fixed-10 runs |");
        output.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var r in rows)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Rate:0.0} | {r.OursCorrect:P1} | {r.OursRuns:0.0} | {r.OursSteps:0.0} | {r.PlainCorrect:P1} | {r.PlainRuns:0.0} | {r.FixedCorrect:P1} | {r.FixedRuns:0.0} |"));

        Assert.All(rows.Where(r => r.Rate >= 0.3), r => Assert.True(r.OursCorrect >= 0.95, $"ours {r.OursCorrect:P1} correct at q = {r.Rate}"));
        // The planted defect the simulation must catch: one run per step trusts a lucky clean run.
        Assert.All(rows.Where(r => r.Rate <= 0.7), r => Assert.True(r.PlainCorrect < 0.6, $"plain bisection {r.PlainCorrect:P1} correct at q = {r.Rate}: the simulation is not flaky enough"));
        // Ours is not buying accuracy with absurd run counts where the others are right anyway.
        Assert.True(rows.Last().OursRuns < 2 * rows.Last().FixedRuns, $"ours {rows.Last().OursRuns:0} runs vs fixed-10 {rows.Last().FixedRuns:0} at q = 0.9");
    }

    private static async Task<Row> SimulateAsync(double rate)
    {
        int oursRight = 0, plainRight = 0, fixedRight = 0;
        long oursRuns = 0, oursSteps = 0, plainRuns = 0, fixedRuns = 0;
        var policy = new BisectionPolicy(Probability: 0.99, MaxRuns: 2000);
        for (var h = 0; h < Histories; h++)
        {
            var history = new Random(Seed + h * 7919 + (int)(rate * 100));
            var culprit = history.Next(1, Commits + 1);
            var ours = new Kernels(culprit, rate, new Random(history.Next()));
            var result = await new BisectionLoop(policy).RunAsync(Commits, (r, _) => Task.FromResult(ours.Step(r.Commit, r.Runs)), null, CancellationToken.None);
            if (result.Named && result.Culprit == culprit) oursRight++;
            oursRuns += result.RunsUsed;
            oursSteps += result.Steps.Count;

            var plain = new Kernels(culprit, rate, new Random(history.Next()));
            if (Plain(plain, runsPerStep: 1) == culprit) plainRight++;
            plainRuns += plain.Used;

            var fixedTen = new Kernels(culprit, rate, new Random(history.Next()));
            if (Plain(fixedTen, runsPerStep: 10) == culprit) fixedRight++;
            fixedRuns += fixedTen.Used;
        }
        double Mean(long total) => (double)total / Histories;
        return new Row(rate, (double)oursRight / Histories, Mean(oursRuns), Mean(oursSteps), (double)plainRight / Histories, Mean(plainRuns),
            (double)fixedRight / Histories, Mean(fixedRuns));
    }

    /// <summary>git bisect's binary search, a commit bad when any of its counted runs failed; a step with no counted run is run again.</summary>
    private static int Plain(Kernels kernels, int runsPerStep)
    {
        int good = 0, bad = Commits;
        while (bad - good > 1)
        {
            var mid = (good + bad) / 2;
            StepResult step;
            do step = kernels.Step(mid, runsPerStep);
            while (step.Runs == 0);
            if (step.Failures > 0) bad = mid;
            else good = mid;
        }
        return bad;
    }

    /// <summary>The true history: commits ≥ culprit fail each run with the rate; any run may end in ERROR.</summary>
    private sealed class Kernels(int culprit, double rate, Random random)
    {
        public int Used { get; private set; }

        public StepResult Step(int commit, int runs)
        {
            int failures = 0, counted = 0, errored = 0;
            for (var i = 0; i < runs; i++)
            {
                Used++;
                if (random.NextDouble() < ErrorRate) { errored++; continue; }
                counted++;
                if (commit >= culprit && random.NextDouble() < rate) failures++;
            }
            return new StepResult(failures, counted, errored);
        }
    }
}
