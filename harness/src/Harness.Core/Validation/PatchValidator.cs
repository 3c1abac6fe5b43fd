// `harness validate`: does this patch fix the corruption, and can the answer be trusted?
// Runs each (filesystem, case) on the kernel without the patch and the kernel with it, in
// batches (looks), sums PASS/FAIL per side, and asks VerdictRules after every look, stopping
// as soon as the answer is clear or the cap is reached. A control kernel may run alongside.
using Harness.Cases;
using Harness.Filesystems;
using Harness.Kernels;
using Harness.Machines;
using Harness.Results;
using Harness.Runs;
using Harness.Verdicts;

namespace Harness.Validation;

/// <summary>One kernel of the comparison and the machine that boots it.</summary>
public sealed record ValidationSide(string Label, KernelImage Kernel, IMachine Machine);

public sealed record ValidationRequest(
    ValidationSide Without,
    ValidationSide With,
    ValidationSide? Control,
    IReadOnlyList<FilesystemSpec> Filesystems,
    IReadOnlyList<CaseSpec> Cases,
    VerdictPolicy Policy,
    string WorkDirectory,
    string CommandLine,
    bool Parallel);

/// <summary>The counts and verdict after one look. The control kernel runs in the first look only.</summary>
public sealed record LookRecord(int Look, RateCounts Without, RateCounts With, RateCounts? Control, string Verdict, double PValue, double Alpha, string Reason);

/// <summary>The verdict of one (filesystem, case) pair, with the history that led to it.</summary>
public sealed record PairVerdict(
    string Filesystem,
    string Case,
    string Verdict,
    RateEstimate Without,
    RateEstimate With,
    RateEstimate? Control,
    double PValue,
    double AlphaPerLook,
    string Reason,
    int ErroredWithout,
    int ErroredWith,
    IReadOnlyList<string> MachineFailures,
    IReadOnlyList<LookRecord> Looks)
{
    public int ExitCode => PatchVerdicts.ExitCode(Enum.Parse<PatchVerdict>(Verdict));
}

public sealed record KernelDescription(string Label, string Name, string Release, string Origin);

/// <summary>validation.json: what was compared, how, and the verdicts.</summary>
public sealed record ValidationRecord(
    string RunId,
    DateTimeOffset Started,
    DateTimeOffset? Finished,
    string CommandLine,
    IReadOnlyList<KernelDescription> Kernels,
    MachineFacts Machine,
    VerdictPolicy Policy,
    IReadOnlyList<PairVerdict> Pairs,
    bool Interrupted);

public sealed class PatchValidator(ResultStore store, TimeProvider time, TextWriter progress)
{
    private const int MaxMachineErrors = 3;
    private readonly TextWriter _progress = TextWriter.Synchronized(progress);

    public async Task<(ValidationRecord Record, string Path)> RunAsync(ValidationRequest request, CancellationToken cancellationToken)
    {
        request.Policy.Validate();
        var started = time.GetUtcNow();
        var runId = $"{started:yyyyMMdd-HHmmss}-validate-{Environment.ProcessId}";
        var folder = store.Create(runId);
        var sides = new[] { request.Without, request.With, request.Control }.OfType<ValidationSide>().ToArray();
        var record = new ValidationRecord(runId, started, null, request.CommandLine,
            sides.Select(s => new KernelDescription(s.Label, s.Kernel.Name, s.Kernel.Release, s.Kernel.Origin)).ToArray(),
            request.With.Machine.Describe(), request.Policy, [], false);
        var path = System.IO.Path.Combine(folder.Path, "validation.json");
        await AtomicFile.WriteJsonAsync(path, record, CancellationToken.None);
        _progress.WriteLine($"validate {runId}: without = {request.Without.Kernel.Origin}");
        _progress.WriteLine($"                 with    = {request.With.Kernel.Origin}");
        if (request.Control is { } control) _progress.WriteLine($"                 control = {control.Kernel.Origin}");

        var pairs = new List<PairVerdict>();
        try
        {
            foreach (var fs in request.Filesystems)
            foreach (var @case in request.Cases)
            {
                var pair = await RunPairAsync(folder, request with { WorkDirectory = System.IO.Path.Combine(request.WorkDirectory, runId) }, fs, @case, cancellationToken);
                pairs.Add(pair);
                record = record with { Pairs = pairs.ToArray() };
                await AtomicFile.WriteJsonAsync(path, record, CancellationToken.None);
                if (cancellationToken.IsCancellationRequested) break;
            }
        }
        finally
        {
            record = record with
            {
                Pairs = pairs.ToArray(),
                Finished = time.GetUtcNow(),
                Interrupted = cancellationToken.IsCancellationRequested || pairs.Count < request.Filesystems.Count * request.Cases.Count,
            };
            await AtomicFile.WriteJsonAsync(path, record, CancellationToken.None);
        }
        return (record, folder.Path);
    }

    private async Task<PairVerdict> RunPairAsync(RunFolder folder, ValidationRequest request, FilesystemSpec fs, CaseSpec @case, CancellationToken cancellationToken)
    {
        var policy = request.Policy;
        var without = new RateCounts(0, 0);
        var with = new RateCounts(0, 0);
        RateCounts? control = request.Control is null ? null : new RateCounts(0, 0);
        int erroredWithout = 0, erroredWith = 0;
        var failures = new List<string>();
        var looks = new List<LookRecord>();
        VerdictResult? verdict = null;

        for (var look = 1; look <= policy.MaxLooks && !cancellationToken.IsCancellationRequested; look++)
        {
            // The unpatched side stops once it alone makes a clean patched side of the
            // required size significant: more unpatched runs could not change the answer.
            var withoutDone = without.Runs > 0 &&
                Statistics.FisherExact(without.Failures, without.Runs, 0, Math.Max(policy.MinRunsWith, with.Runs)).Greater < policy.AlphaPerLook;
            var batches = new List<(ValidationSide Side, Task<CellResult?> Task)>();
            Task<CellResult?> Batch(ValidationSide side) =>
                RunBatchAsync(folder, side, fs, @case, look, policy.BatchSize, request.WorkDirectory, cancellationToken);
            var plan = new List<ValidationSide>();
            if (!withoutDone) plan.Add(request.Without);
            plan.Add(request.With);
            // The control (e.g. stock kernel) is a sanity check, not part of the test: one batch.
            if (request.Control is { } c && look == 1) plan.Add(c);
            if (request.Parallel)
                batches.AddRange(plan.Select(side => (side, Batch(side))));
            else
                foreach (var side in plan) { var t = Batch(side); await t; batches.Add((side, t)); }
            await Task.WhenAll(batches.Select(b => b.Task));

            foreach (var (side, task) in batches)
            {
                if (await task is not { } cell) continue;
                var counts = new RateCounts(cell.Failed, cell.Passed + cell.Failed);
                if (cell.Failure is { } f) failures.Add($"{side.Label} look {look}: [{f.Kind}] {f.Message}");
                if (side == request.Without) { without = without.Add(counts); erroredWithout += cell.Errored; }
                else if (side == request.With) { with = with.Add(counts); erroredWith += cell.Errored; }
                else control = control!.Add(counts);
            }

            var final = look == policy.MaxLooks || with.Runs >= policy.MaxRunsPerSide;
            verdict = VerdictRules.Decide(without, with, policy, look, final);
            looks.Add(new LookRecord(look, without, with, control, verdict.Word, verdict.PValue, verdict.AlphaAtThisLook, verdict.Reason));
            _progress.WriteLine($"  {fs.Name}/{@case.Name} look {look}: without {Rate(without)}, with {Rate(with)}" +
                                (control is null ? "" : $", control {Rate(control)}") +
                                $" -> {verdict.Word} (p={verdict.PValue:G3}, alpha/look={verdict.AlphaAtThisLook:G3})");
            if (VerdictRules.ShouldStop(verdict, final)) break;
            if (erroredWithout >= MaxMachineErrors || erroredWith >= MaxMachineErrors)
            {
                _progress.WriteLine($"  {fs.Name}/{@case.Name}: stopping, a kernel keeps failing as a machine (see cells/*/console.log)");
                break;
            }
        }

        verdict ??= VerdictRules.Decide(without, with, policy, 1, final: true);
        var reason = verdict.Reason;
        if (erroredWithout + erroredWith > 0)
            reason += $" ({erroredWithout} unpatched and {erroredWith} patched repeats ended in a machine error and are not counted: {string.Join("; ", failures.Take(3))})";
        return new PairVerdict(fs.Name, @case.Name, verdict.Verdict.ToString(), verdict.Without, verdict.With,
            control is null ? null : RateEstimate.Of(control, policy.Confidence),
            verdict.PValue, verdict.AlphaAtThisLook, reason, erroredWithout, erroredWith, failures, looks);
    }

    private async Task<CellResult?> RunBatchAsync(RunFolder folder, ValidationSide side, FilesystemSpec fs, CaseSpec @case, int look, int repeats, string workRoot, CancellationToken cancellationToken)
    {
        var cellId = $"{fs.Name}-{@case.Name}-{side.Label}-look{look:D2}";
        var input = new CellInput(cellId, fs.Name, @case.Name, @case.SourceFile, RunExecutor.Sha256(@case.SourceFile), @case.Workload.Seed, repeats);
        var (cell, _) = await new CellRunner(side.Machine, time, _progress).RunAsync(folder, input, fs, @case, workRoot, (look - 1) * repeats, cancellationToken);
        await folder.WriteCellAsync(cell, CancellationToken.None);
        return cell;
    }

    private static string Rate(RateCounts c) => $"{c.Failures}/{c.Runs} failed";
}
