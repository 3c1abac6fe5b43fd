// Runs one cell on a machine: streams iterations in, judges each with the golden model, writes
// its record at once, and sums the cell up. Shared by `run` (a matrix) and `validate` (batches).
using System.Diagnostics;
using Harness.Cases;
using Harness.Filesystems;
using Harness.Machines;
using Harness.Machines.Qemu;
using Harness.Results;
using Harness.Verdicts;

namespace Harness.Runs;

public sealed class CellRunner(IMachine machine, TimeProvider time, TextWriter progress)
{
    private readonly TextWriter _progress = progress;

    /// <summary>Runs one cell to the end (or to cancel), writing each iteration record as it is judged.</summary>
    public Task<(CellResult Cell, bool Cancelled)> RunAsync(RunFolder folder, CellInput input, FilesystemSpec fs, CaseSpec @case, string workRoot, int firstIteration, CancellationToken cancellationToken) =>
        RunAsync(folder, input, fs, @case, workRoot, firstIteration, [], cancellationToken);

    /// <summary>
    /// Runs the rest of a cell (--resume): <paramref name="earlier"/> are its iterations already
    /// judged and recorded; only the missing ones run (numbered from <paramref name="firstIteration"/>),
    /// and the summary is computed from all of them, as if the cell had never stopped.
    /// </summary>
    public async Task<(CellResult Cell, bool Cancelled)> RunAsync(RunFolder folder, CellInput input, FilesystemSpec fs, CaseSpec @case, string workRoot, int firstIteration, IReadOnlyList<IterationResult> earlier, CancellationToken cancellationToken)
    {
        var started = time.GetUtcNow();
        var clock = Stopwatch.StartNew();
        var iterations = new List<IterationResult>(earlier);
        string? error = null;
        MachineFailure? failure = null;
        var machineOutcome = Outcome.Error;
        var warnings = KernelWarnings.None;
        var cancelled = false;
        var request = new CellRequest(input.CellId, fs, @case, input.Repeats - earlier.Count, workRoot, folder.CellDirectory(input.CellId)) { FirstIteration = firstIteration };
        try
        {
            // Resumed after its last iteration was recorded but before its summary: nothing to run.
            if (request.Repeats > 0)
            await foreach (var raw in machine.RunCellAsync(request, cancellationToken))
            {
                if (raw.KernelWarnings.Count >= warnings.Count) warnings = raw.KernelWarnings;
                var judging = Stopwatch.GetTimestamp();
                var result = IterationJudge.Judge(input.CellId, @case, raw);
                // The iteration's wall time is the machine's, then its judgement here.
                var judged = Stopwatch.GetElapsedTime(judging).TotalSeconds;
                result = result with
                {
                    Phases = [.. result.Phases, new Workload.PhaseTime("judge", judged)],
                    Seconds = raw.Seconds + judged,
                };
                iterations.Add(result);
                await folder.WriteIterationAsync(result, CancellationToken.None);
                _progress.WriteLine($"    {input.CellId} iteration {raw.Iteration - firstIteration + 1 + earlier.Count}/{input.Repeats}: {Describe(result)}");
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            cancelled = true;
            error = $"interrupted after {iterations.Count} of {input.Repeats} iteration(s)";
            _progress.WriteLine($"    {input.CellId}: {error}");
        }
        catch (GuestFailureException e)
        {
            // The kernel's failures (panic, oops, BUG, sanitizer, lockdep, hung task without
            // progress, reset) are CRASH and count against it; the rest says nothing about it.
            machineOutcome = GuestFailureKinds.IsKernelFailure(e.Kind) ? Outcome.Crash : Outcome.Error;
            error = e.Message;
            failure = new MachineFailure(QemuMachine.Word(e.Kind), e.Message.Split('\n')[0], e.Excerpt, e.ConsoleLog);
            if (e.Warnings.Count >= warnings.Count) warnings = e.Warnings;
            _progress.WriteLine($"    {input.CellId}: {Outcomes.Word(machineOutcome)} {e.Message}");
        }
        catch (MachineSkipException e)
        {
            // Not run here, with the reason: SKIP, never counted as the machine breaking.
            machineOutcome = Outcome.Skip;
            error = e.Message;
            failure = new MachineFailure("skip", e.Message, null, null);
            _progress.WriteLine($"    {input.CellId}: SKIP {e.Message}");
        }
        catch (MachineException e)
        {
            error = e.Message;
            failure = new MachineFailure("machine", e.Message, null, null);
            _progress.WriteLine($"    {input.CellId}: ERROR {e.Message}");
        }

        // A machine that ends without error but short of the planned iterations did not run the cell: never PASS.
        if (error is null && !cancelled && iterations.Count < input.Repeats)
        {
            error = $"the {machine.Kind} machine returned {iterations.Count} of {input.Repeats} iteration(s)";
            failure = new MachineFailure("machine", error, null, null);
        }
        var outcomes = iterations.Select(i => i.Outcome).ToList();
        if (error is not null && !cancelled) outcomes.Add(machineOutcome);
        var outcome = Outcomes.Combine(outcomes);
        if (cancelled && outcome == Outcome.Pass && iterations.Count < input.Repeats) outcome = Outcome.Skip;
        var byClass = iterations.SelectMany(i => i.Passes).SelectMany(p => p.FindingsByClass)
            .GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Sum(kv => kv.Value));
        var iops = iterations.Where(i => i.Iops > 0).Select(i => i.Iops).Order().ToArray();
        var first = iterations.FirstOrDefault(i => i.Kernel.Length > 0);
        var cell = new CellResult(input, outcome,
            iterations.Count(i => i.Outcome == Outcome.Pass),
            iterations.Count(i => i.Outcome == Outcome.Fail),
            iterations.Count(i => i.Outcome == Outcome.Error) + (error is not null && !cancelled && machineOutcome == Outcome.Error ? 1 : 0),
            error ?? iterations.FirstOrDefault(i => i.Error is not null)?.Error,
            byClass,
            iops.Length == 0 ? 0 : iops[iops.Length / 2],
            first?.Kernel ?? "",
            first?.CpuCount ?? 0,
            started,
            clock.Elapsed.TotalSeconds)
        {
            Failure = failure,
            BootSeconds = iterations.FirstOrDefault()?.BootSeconds ?? 0,
            IoErrors = iterations.Sum(i => i.IoErrors),
            Skipped = iterations.Count(i => i.Outcome == Outcome.Skip),
            DirtReuse = SumDirtReuse(iterations),
            Crashed = iterations.Count(i => i.Outcome == Outcome.Crash) + (error is not null && !cancelled && machineOutcome == Outcome.Crash ? 1 : 0),
            KernelWarnings = warnings,
            Interrupted = cancelled && iterations.Count < input.Repeats,
        };
        return (cell, cancelled);
    }

    internal static string Describe(IterationResult r)
    {
        var word = Outcomes.Word(r.Outcome);
        if (r.Outcome is Outcome.Error or Outcome.Skip) return $"{word} {r.Error}";
        var findings = r.Passes.Where(p => p.FindingCount > 0)
            .Select(p => $"{p.Pass}: {string.Join(", ", p.FindingsByClass.Select(kv => $"{kv.Value} {kv.Key}"))}");
        var detail = string.Join("; ", findings);
        if (r.Error is not null) detail += (detail.Length > 0 ? "; then " : "") + r.Error;
        return $"{word} ({r.IoCount} IOs, {r.IoErrors} IO errors, {r.Iops:F0} IOPS, {r.WorkloadSeconds:F2} s, {r.CpuCount} CPUs, {DescribeDirt(r.DirtReuse)}){(detail.Length > 0 ? " " + detail : "")}";
    }

    /// <summary>"dirt reused 812/8192 blocks", or "dirt reuse unknown".</summary>
    internal static string DescribeDirt(Workload.DirtReuse? d) =>
        d is null ? "dirt reuse unknown" : $"dirt reused {d.ReusedBlocks}/{d.TargetBlocks} blocks";

    private static Workload.DirtReuse? SumDirtReuse(IReadOnlyList<IterationResult> iterations)
    {
        var known = iterations.Where(i => i.DirtReuse is not null).Select(i => i.DirtReuse!).ToList();
        return known.Count == 0 ? null : new Workload.DirtReuse(known.Sum(d => d.DirtBlocks), known.Sum(d => d.TargetBlocks), known.Sum(d => d.ReusedBlocks));
    }
}
