// Turns one iteration's raw agent reports into a judged result: the golden model on every
// read-back pass that completed (listed in the case or not), the workload's IO results, and
// the agent's own skip or error. A finding is never hidden by a later error.
using System.Globalization;
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

    /// <summary>Name of the pseudo-pass that carries findings about the writes themselves (io-error).</summary>
    public const string WorkloadPass = "workload";

    public static IterationResult Judge(string cellId, CaseSpec @case, IterationRaw raw)
    {
        ArgumentNullException.ThrowIfNull(@case);
        ArgumentNullException.ThrowIfNull(raw);
        var write = raw.Write;
        var result = WithFsck(JudgeCore(cellId, @case, raw), raw.Fsck) with
        {
            BootSeconds = raw.BootSeconds,
            Phases = [.. raw.Phases, .. write?.Phases ?? [], .. raw.Readback?.Phases ?? []],
        };
        return write is null ? result : result with
        {
            Alignment = write.Alignment,
            DirtReuse = write.DirtReuse,
            DirtReuseUnknown = write.DirtReuseUnknown,
            Ops = write.Ops,
        };
    }

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
        if (write is null)
            return new IterationResult(cellId, raw.Iteration, Outcome.Error, raw.Error ?? "write phase did not run", "", 0, 0, 0, 0, 0, []);

        // The machine cannot take the case (e.g. a 4Kn device under 512-aligned IO): nothing
        // about the kernel was learnt, and nothing may be called PASS.
        if (write.SkipReason is { } skip)
            return new IterationResult(cellId, raw.Iteration, Outcome.Skip, skip, write.Kernel, write.CpuCount, 0, 0, 0, 0, []);

        var plan = PlanBuilder.Build(@case.Workload, raw.Iteration);
        var passes = new List<PassResult>();
        var (ioFinding, outOfSpace) = JudgeWrites(plan, write);
        if (ioFinding is not null)
            passes.Add(new PassResult(WorkloadPass, 0, 1, new Dictionary<string, int> { [ClassWord(FindingClass.IoError)] = 1 }, [Capped(ioFinding)]));
        if (FsyncFinding(plan, write) is { } fsyncFinding)
            passes.Add(new PassResult(FsyncPass, 0, 1, new Dictionary<string, int> { [ClassWord(FindingClass.IoError)] = 1 }, [fsyncFinding]));
        var completed = write.Passes.Concat(raw.Readback?.Passes ?? []).ToList();
        foreach (var pass in completed)
        {
            var judged = GoldenModel.Judge(plan, write.Ios, write.Ops, pass);
            passes.Add(new PassResult(
                judged.Pass,
                judged.SectorsChecked,
                judged.Findings.Count,
                judged.Findings.GroupBy(f => ClassWord(f.Class)).ToDictionary(g => g.Key, g => g.Count()),
                judged.Findings.Take(MaxFindingsKept).Select(Capped).ToArray()));
        }

        // Why this iteration cannot be PASS, if it cannot: first reason wins, all are infrastructure.
        var problem = raw.Error ?? outOfSpace;
        if (problem is null && write.Ios.Count != plan.Ios.Count)
            problem = string.Create(CultureInfo.InvariantCulture, $"the agent reported {write.Ios.Count} of {plan.Ios.Count} planned IOs");
        // An agent that ignored the ops (built before schema 2) must not make a PASS of a case it did not run.
        if (problem is null && write.Ops.Count != plan.Ops.Count)
            problem = string.Create(CultureInfo.InvariantCulture, $"the agent reported {write.Ops.Count} of {plan.Ops.Count} planned ops (an agent older than case schema 2?)");
        problem ??= @case.Readback
            .Where(step => !completed.Any(p => Satisfies(p.Name, step)))
            .Select(step => $"read-back {step} missing from the agent's report")
            .FirstOrDefault();

        var ioErrors = write.Ios.Count(io => io.Result != plan.Ios[io.Index].Length);
        var iops = write.WorkloadSeconds > 0 ? write.Ios.Count / write.WorkloadSeconds : 0;
        var outcome = passes.Any(p => p.FindingCount > 0) ? Outcome.Fail : problem is not null ? Outcome.Error : Outcome.Pass;
        return new IterationResult(cellId, raw.Iteration, outcome, problem, write.Kernel, write.CpuCount,
            write.Ios.Count, ioErrors, write.WorkloadSeconds, iops, passes);
    }

    /// <summary>The pass name of a failed fsync's finding (beside <see cref="WorkloadPass"/>'s failed writes).</summary>
    public const string FsyncPass = "fsync";

    /// <summary>
    /// The target's fsync after the workload failed: the writes are not known to be durable, whatever
    /// the read-back shows. One io-error finding over the whole file, naming the errno.
    /// </summary>
    internal static Finding? FsyncFinding(WorkloadPlan plan, AgentReport write)
    {
        if (write.FsyncErrno == 0) return null;
        var fsBlock = Math.Max(plan.Spec.FsBlockSize, SectorFormat.SectorSize);
        var length = Math.Max(plan.Spec.FileSize, SectorFormat.SectorSize);
        return new Finding(FindingClass.IoError, 0, length / SectorFormat.SectorSize, 0, (length - 1) / fsBlock, [],
            "fsync of the target after the workload succeeds",
            string.Create(CultureInfo.InvariantCulture, $"fsync failed: {LinuxErrno.Name(write.FsyncErrno)}"));
    }

    /// <summary>
    /// Failed and short writes. ENOSPC and EDQUOT are the setup's fault (the image is too small
    /// for the case): an ERROR message naming sizes. Any other failed write, and every short
    /// one, is a refused or lost valid write: one io-error finding with errno names and counts.
    /// </summary>
    internal static (Finding? IoError, string? OutOfSpace) JudgeWrites(WorkloadPlan plan, AgentReport write)
    {
        var outOfSpace = write.Ios.Where(io => io.Result is -LinuxErrno.ENOSPC or -LinuxErrno.EDQUOT).ToList();
        var bad = write.Ios
            .Where(io => io.Result != plan.Ios[io.Index].Length && io.Result is not (-LinuxErrno.ENOSPC or -LinuxErrno.EDQUOT))
            .OrderBy(io => io.Index)
            .ToList();

        string? spaceMessage = null;
        if (outOfSpace.Count > 0)
        {
            var names = string.Join(", ", outOfSpace.GroupBy(io => LinuxErrno.Name((int)-io.Result))
                .Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Key} ({g.Count()})")));
            var fs = write.FilesystemBytes > 0
                ? $"the test filesystem has {Yaml.ByteSize.Format(write.FilesystemBytes)} ({Yaml.ByteSize.Format(write.FilesystemFreeBytes)} free before the workload)"
                : "the test filesystem's size is unknown";
            var needs = $"file.size {Yaml.ByteSize.Format(plan.Spec.FileSize)} + dirty-free-space {Yaml.ByteSize.Format(plan.Spec.DirtyBytes)} plus metadata";
            spaceMessage = string.Create(CultureInfo.InvariantCulture,
                $"out of space during the workload: {outOfSpace.Count} of {plan.Ios.Count} writes failed: {names}; {fs}, the case needs {needs}; raise --image-size (or lower file.size / dirty-free-space)");
        }
        // Ops: EOPNOTSUPP is this filesystem saying it lacks the mode (punch, zero-range): recorded,
        // and the judge treats the op as not done. Out of space is the setup's, as for writes;
        // any other failure, or a short buffered write, is a refused valid op: io-error.
        var opOutOfSpace = write.Ops.Count(op => op.Result is -LinuxErrno.ENOSPC or -LinuxErrno.EDQUOT);
        if (opOutOfSpace > 0)
            spaceMessage ??= string.Create(CultureInfo.InvariantCulture,
                $"out of space during the workload: {opOutOfSpace} ops failed with ENOSPC/EDQUOT; raise --image-size (or lower file.size / dirty-free-space)");
        var badOps = write.Ops
            .Where(op => (uint)op.Index < (uint)plan.Ops.Count)
            .Where(op => op.Result is < 0 and not (-LinuxErrno.EOPNOTSUPP or -LinuxErrno.ENOSPC or -LinuxErrno.EDQUOT)
                || (plan.Ops[op.Index].Kind == OpKind.BufferedWrite && op.Result >= 0 && op.Result != plan.Ops[op.Index].Length))
            .ToList();
        if (bad.Count == 0 && badOps.Count == 0) return (null, spaceMessage);
        if (bad.Count == 0)
        {
            var firstOp = plan.Ops[badOps[0].Index];
            var what = string.Join(", ", badOps.Select(op => string.Create(CultureInfo.InvariantCulture,
                $"op {op.Index} ({OpWords.Word(plan.Ops[op.Index].Kind)}) {(op.Result < 0 ? LinuxErrno.Name((int)-op.Result) : $"wrote {op.Result} of {plan.Ops[op.Index].Length} bytes")}")));
            var block = Math.Max(plan.Spec.FsBlockSize, SectorFormat.SectorSize);
            return (new Finding(FindingClass.IoError, firstOp.Offset / SectorFormat.SectorSize, Math.Max(1, firstOp.Length / SectorFormat.SectorSize),
                firstOp.Offset / block, Math.Max(firstOp.Offset, firstOp.End - 1) / block, [],
                string.Create(CultureInfo.InvariantCulture, $"every op of the plan succeeds or is not supported here (EOPNOTSUPP) ({plan.Ops.Count} ops)"),
                string.Create(CultureInfo.InvariantCulture, $"{badOps.Count} ops failed: {what}")), spaceMessage);
        }

        var failed = bad.Where(io => io.Result < 0).ToList();
        var shortWrites = bad.Where(io => io.Result >= 0).ToList();
        var parts = new List<string>();
        if (failed.Count > 0)
        {
            var byErrno = string.Join(", ", failed.GroupBy(io => io.Result).OrderByDescending(g => g.Count())
                .Select(g => string.Create(CultureInfo.InvariantCulture, $"{LinuxErrno.Name((int)-g.Key)} ({g.Count()})")));
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{failed.Count} writes failed: {byErrno}"));
        }
        if (shortWrites.Count > 0)
        {
            var first = shortWrites[0];
            parts.Add(string.Create(CultureInfo.InvariantCulture,
                $"{shortWrites.Count} short writes (first: io {first.Index} wrote {first.Result} of {plan.Ios[first.Index].Length} bytes)"));
        }
        var firstIo = plan.Ios[bad[0].Index];
        var fsBlock = Math.Max(plan.Spec.FsBlockSize, SectorFormat.SectorSize);
        var finding = new Finding(FindingClass.IoError,
            firstIo.Offset / SectorFormat.SectorSize, firstIo.Length / SectorFormat.SectorSize,
            firstIo.Offset / fsBlock, (firstIo.End - 1) / fsBlock,
            bad.Select(io => io.Index).ToArray(),
            string.Create(CultureInfo.InvariantCulture, $"every write of the plan completes in full ({plan.Ios.Count} writes)"),
            string.Join("; ", parts) + (badOps.Count > 0 ? string.Create(CultureInfo.InvariantCulture, $"; and {badOps.Count} ops failed") : ""));
        return (finding, spaceMessage);
    }

    private static bool Satisfies(string passName, ReadbackStep step) => step switch
    {
        ReadbackStep.AfterFsync => passName == "after-fsync",
        _ => passName is "after-remount" or "after-drop-caches",
    };

    private static Finding Capped(Finding f) => f with { IosInFlight = f.IosInFlight.Take(MaxIosPerFinding).ToArray() };

    public static string ClassWord(FindingClass c) => EnumWords.Kebab(c);
}
