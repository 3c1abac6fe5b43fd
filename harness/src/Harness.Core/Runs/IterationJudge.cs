// Turns one iteration's raw agent reports into a judged result: the golden model on each
// read-back pass the case asks for.
using Harness.Cases;
using Harness.Golden;
using Harness.Machines;
using Harness.Results;
using Harness.Verdicts;
using Harness.Workload;

namespace Harness.Runs;

public static class IterationJudge
{
    /// <summary>Findings kept per pass in the record; the count is always the full one.</summary>
    public const int MaxFindingsKept = 64;

    /// <summary>IOs listed per finding in the record: a truncated file can touch every IO of the plan.</summary>
    public const int MaxIosPerFinding = 64;

    public static IterationResult Judge(string cellId, CaseSpec @case, IterationRaw raw) =>
        WithFsck(JudgeCore(cellId, @case, raw), raw.Fsck) with { BootSeconds = raw.BootSeconds };

    /// <summary>A checker's complaint is a finding of its own pass ("fsck") and makes the iteration FAIL.</summary>
    private static IterationResult WithFsck(IterationResult result, Filesystems.FsckResult? fsck)
    {
        if (fsck is not { Complained: true }) return result with { Fsck = fsck };
        var finding = new Finding(FindingClass.Fsck, 0, 0, 0, 0, [], $"`{fsck.CommandLine}` finds the filesystem clean",
            $"{fsck.Tool} exited with {fsck.ExitCode}: {fsck.Headline}");
        var pass = new PassResult("fsck", 0, 1, new Dictionary<string, int> { [ClassWord(FindingClass.Fsck)] = 1 }, [finding]);
        return result with { Fsck = fsck, Outcome = Outcome.Fail, Passes = [.. result.Passes, pass] };
    }

    private static IterationResult JudgeCore(string cellId, CaseSpec @case, IterationRaw raw)
    {
        var write = raw.Write;
        if (write is null || raw.Error is not null)
            return new IterationResult(cellId, raw.Iteration, Outcome.Error, raw.Error ?? "write phase did not run",
                write?.Kernel ?? "", write?.CpuCount ?? 0, write?.Ios.Count ?? 0, 0, 0, 0, []);

        var plan = PlanBuilder.Build(@case.Workload, raw.Iteration);
        var passes = new List<PassResult>();
        foreach (var step in @case.Readback)
        {
            var pass = step switch
            {
                ReadbackStep.AfterFsync => write.Passes.FirstOrDefault(),
                _ => raw.Readback?.Passes.FirstOrDefault(),
            };
            if (pass is null)
                return new IterationResult(cellId, raw.Iteration, Outcome.Error, $"read-back {step} missing from the agent's report",
                    write.Kernel, write.CpuCount, write.Ios.Count, 0, write.WorkloadSeconds, 0, []);
            var judged = GoldenModel.Judge(plan, write.Ios, pass);
            passes.Add(new PassResult(
                judged.Pass,
                judged.SectorsChecked,
                judged.Findings.Count,
                judged.Findings.GroupBy(f => ClassWord(f.Class)).ToDictionary(g => g.Key, g => g.Count()),
                judged.Findings.Take(MaxFindingsKept).Select(f => f with { IosInFlight = f.IosInFlight.Take(MaxIosPerFinding).ToArray() }).ToArray()));
        }

        var ioErrors = write.Ios.Count(io => io.Result != plan.Ios[io.Index].Length);
        var iops = write.WorkloadSeconds > 0 ? write.Ios.Count / write.WorkloadSeconds : 0;
        var outcome = passes.Any(p => p.FindingCount > 0) ? Outcome.Fail : Outcome.Pass;
        return new IterationResult(cellId, raw.Iteration, outcome, null, write.Kernel, write.CpuCount,
            write.Ios.Count, ioErrors, write.WorkloadSeconds, iops, passes);
    }

    public static string ClassWord(FindingClass c) => EnumWords.Kebab(c);
}
