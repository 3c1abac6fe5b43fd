// `harness nightly` end to end on the host kernel (the plan's `host` kernel runs on the local
// machine: real loop images, the real agent): the first nightly of a plan has nothing to compare
// with, the second finds it as its baseline and says SAME, and a fresh results folder (a throwaway
// CI runner) imports it with --baseline. Needs root (loop devices and mount), as CI runs.
using Harness.Cli;
using Harness.Nightly;
using Harness.Results;
using Harness.Tests.Support;
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.EndToEnd;

public sealed class NightlyTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("harness-nightly-e2e-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private string Plan => Path.Combine(_scratch, "host-tiny.yaml");

    private async Task<(int Code, string Out, string Err)> Nightly(string results, params string[] args)
    {
        Assert.True(Environment.IsPrivilegedProcess, "nightly on the host kernel needs root (loop mounts); run `make test` as root");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await new CliApp(stdout, stderr, TimeProvider.System).RunAsync(
            ["nightly", "--plan", Plan, "--agent", TestAgent.Binary.Path, "--cases-dir", RepoPaths.Cases, "--kernels-dir", Path.Combine(RepoPaths.Root, "kernels"),
             "--results", Path.Combine(_scratch, results), "--cache", Path.Combine(_scratch, "cache"), "--image-size", "64MiB", .. args],
            CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static NightlyRecord Record(string output) =>
        RecordFormat.Read<NightlyRecord>(output.Split('\n').Single(l => l.StartsWith("results: ", StringComparison.Ordinal))["results: ".Length..].Trim());

    [Fact]
    public async Task The_second_nightly_finds_the_first_as_its_baseline_and_reports_SAME()
    {
        // 9 clean runs bound a rate at 0.3 (one-sided 95 %): what SAME on a clean kernel needs.
        File.WriteAllText(Plan, "name: host-tiny\nkernels:\n  host: {}\nfilesystems: [ext4]\ncases: [tiny]\nrepeats: 9\nmax-residual: 0.3\n");

        var (code1, out1, err1) = await Nightly("results");
        Assert.True(code1 == 0, $"exit {code1}\n{out1}\n{err1}");
        var first = Record(out1);
        Assert.Null(first.Baseline);
        Assert.Equal(NightlyWord.New, Assert.Single(first.Comparisons).Word);

        var (code2, out2, err2) = await Nightly("results");
        Assert.True(code2 == 0, $"exit {code2}\n{out2}\n{err2}");
        var second = Record(out2);
        Assert.Equal(first.NightlyId, second.Baseline!.NightlyId);
        Assert.False(second.Baseline.Imported);
        Assert.True(File.Exists(Path.Combine(_scratch, "results", second.NightlyId, "baseline.json")));
        var c = Assert.Single(second.Comparisons);
        Assert.Equal((NightlyWord.Same, "NOT REPRODUCED", false), (c.Word, c.Verdict, c.KernelChanged));
        Assert.Contains("SAME", out2, StringComparison.Ordinal);
        Assert.Equal((first.PlanName, first.PlanSha256), (second.PlanName, second.PlanSha256));
        Assert.StartsWith("host ", Assert.Single(second.Kernels).Identity, StringComparison.Ordinal);

        // The work really happened: 9 repeats over 2 guests, every IO done, none failed, every sector judged.
        var cell = Assert.Single(second.Cells);
        Assert.Equal(new RateCounts(0, 9), cell.Counts);
        Assert.Equal(["ext4-tiny-g1", "ext4-tiny-g2"], cell.CellIds);
        var run = Path.Combine(_scratch, "results", second.NightlyId, Assert.Single(second.Runs).RunPath!);
        var iterations = cell.CellIds.SelectMany(id => Directory.GetFiles(Path.Combine(run, "cells", id), "iteration-*.json")).Select(RecordFormat.Read<IterationResult>).ToArray();
        Assert.Equal(9, iterations.Length);
        Assert.All(iterations, i =>
        {
            Assert.Equal(Outcome.Pass, i.Outcome);
            Assert.Equal(64, i.IoCount);
            Assert.Equal(0, i.IoErrors);
            Assert.Equal(512L * 1024 / 512, Assert.Single(i.Passes).SectorsChecked);
        });

        // A throwaway runner: empty results, last night's folder given as --baseline.
        var (code3, out3, err3) = await Nightly("elsewhere", "--baseline", Path.Combine(_scratch, "results", second.NightlyId), "--no-bisect");
        Assert.True(code3 == 0, $"exit {code3}\n{out3}\n{err3}");
        var third = Record(out3);
        Assert.Equal((second.NightlyId, true), (third.Baseline!.NightlyId, third.Baseline.Imported));
        Assert.Equal(NightlyWord.Same, Assert.Single(third.Comparisons).Word);

        // An edited plan is another plan: no baseline among the earlier nightlies.
        File.AppendAllText(Plan, "# edited\n");
        var (code4, out4, _) = await Nightly("results", "--json");
        Assert.Equal(0, code4);
        Assert.Contains("\"planName\": \"host-tiny\"", out4, StringComparison.Ordinal);
        Assert.Contains("first nightly of this plan", out4, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_plan_that_names_a_kernel_spec_that_does_not_exist_is_exit_2_at_its_line()
    {
        File.WriteAllText(Plan, "name: p\nkernels:\n  nosuch: {}\nfilesystems: [ext4]\ncases: [tiny]\nrepeats: 9\nmax-residual: 0.3\n");

        var (code, output, err) = await Nightly("results");

        Assert.Equal(2, code);
        Assert.Contains("host-tiny.yaml:3:", err, StringComparison.Ordinal);
        Assert.Contains("no kernel named 'nosuch'", err, StringComparison.Ordinal);
        Assert.Equal("", output);
        Assert.False(Directory.Exists(Path.Combine(_scratch, "results")));
    }
}
