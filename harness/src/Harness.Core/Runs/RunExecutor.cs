// Runs a matrix (filesystems x cases) on one machine: streams iterations in, judges them,
// writes each record as it finishes, prints progress, and keeps what finished on Ctrl-C.
// Cells run up to RunRequest.Jobs at a time (several QEMUs at once).
using System.Diagnostics;
using System.Security.Cryptography;
using Harness.Cases;
using Harness.Filesystems;
using Harness.Machines;
using Harness.Machines.Qemu;
using Harness.Results;
using Harness.Verdicts;

namespace Harness.Runs;

/// <summary>What to run. <see cref="Repeats"/> overrides each case's own count when set.</summary>
public sealed record RunRequest(
    IReadOnlyList<FilesystemSpec> Filesystems,
    IReadOnlyList<CaseSpec> Cases,
    int? Repeats,
    string WorkDirectory,
    string CommandLine,
    int Jobs = 1);

public sealed record RunSummary(string RunId, string ResultsPath, RunRecord Record);

public sealed class RunExecutor(IMachine machine, ResultStore store, TimeProvider time, TextWriter progress)
{
    private readonly TextWriter _progress = TextWriter.Synchronized(progress);

    public async Task<RunSummary> RunAsync(RunRequest request, CancellationToken cancellationToken)
    {
        var started = time.GetUtcNow();
        var runId = $"{started:yyyyMMdd-HHmmss}-{machine.Kind}-{Environment.ProcessId}";
        var folder = store.Create(runId);
        var inputs = (from fs in request.Filesystems
                      from c in request.Cases
                      select new CellInput($"{fs.Name}-{c.Name}", fs.Name, c.Name, c.SourceFile, Sha256(c.SourceFile), c.Workload.Seed, request.Repeats ?? c.Repeats)).ToArray();
        var record = new RunRecord(runId, started, null, request.CommandLine, HarnessVersion(), Environment.Version.ToString(),
            HostInfo.KernelRelease(), machine.Describe(), inputs, [], null, false);
        await folder.WriteRunAsync(record, CancellationToken.None);
        _progress.WriteLine($"run {runId}: {inputs.Length} cell(s) on the {machine.Kind} machine ({machine.Describe().Detail}), {request.Jobs} at a time; results in {folder.Path}");

        var finished = new CellResult?[inputs.Length];
        var gate = new SemaphoreSlim(Math.Max(1, request.Jobs));
        var recordLock = new SemaphoreSlim(1);
        var interrupted = false;

        async Task RunOne(int n)
        {
            await gate.WaitAsync(CancellationToken.None);
            try
            {
                if (cancellationToken.IsCancellationRequested) return;
                var input = inputs[n];
                var fs = request.Filesystems.First(f => f.Name == input.Filesystem);
                var @case = request.Cases.First(c => c.Name == input.Case);
                _progress.WriteLine($"[{n + 1}/{inputs.Length}] {input.CellId}: {input.Repeats} iteration(s)");
                var (cell, cancelled) = await RunCellAsync(folder, input, fs, @case, request.WorkDirectory, cancellationToken);
                await folder.WriteCellAsync(cell, CancellationToken.None);
                await recordLock.WaitAsync(CancellationToken.None);
                try
                {
                    finished[n] = cell;
                    interrupted |= cancelled;
                    record = record with { Cells = finished.OfType<CellResult>().ToArray() };
                    await folder.WriteRunAsync(record, CancellationToken.None);
                }
                finally { recordLock.Release(); }
            }
            finally { gate.Release(); }
        }

        try
        {
            await Task.WhenAll(Enumerable.Range(0, inputs.Length).Select(RunOne));
        }
        finally
        {
            var cells = finished.OfType<CellResult>().ToArray();
            record = record with
            {
                Cells = cells,
                Finished = time.GetUtcNow(),
                Outcome = Outcomes.Combine(cells.Select(c => c.Outcome)),
                Interrupted = interrupted || cells.Length < inputs.Length,
            };
            await folder.WriteRunAsync(record, CancellationToken.None);
        }
        return new RunSummary(runId, folder.Path, record);
    }

    private async Task<(CellResult Cell, bool Cancelled)> RunCellAsync(RunFolder folder, CellInput input, FilesystemSpec fs, CaseSpec @case, string workRoot, CancellationToken cancellationToken)
    {
        var started = time.GetUtcNow();
        var clock = Stopwatch.StartNew();
        var iterations = new List<IterationResult>();
        string? error = null;
        MachineFailure? failure = null;
        var cancelled = false;
        var request = new CellRequest(input.CellId, fs, @case, input.Repeats, workRoot, folder.CellDirectory(input.CellId));
        try
        {
            await foreach (var raw in machine.RunCellAsync(request, cancellationToken))
            {
                var result = IterationJudge.Judge(input.CellId, @case, raw);
                iterations.Add(result);
                await folder.WriteIterationAsync(result, CancellationToken.None);
                _progress.WriteLine($"    {input.CellId} iteration {raw.Iteration + 1}/{input.Repeats}: {Describe(result)}");
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
            error = e.Message;
            failure = new MachineFailure(QemuMachine.Word(e.Kind), e.Message.Split('\n')[0], e.Excerpt, e.ConsoleLog);
            _progress.WriteLine($"    {input.CellId}: ERROR {e.Message}");
        }
        catch (MachineException e)
        {
            error = e.Message;
            failure = new MachineFailure("machine", e.Message, null, null);
            _progress.WriteLine($"    {input.CellId}: ERROR {e.Message}");
        }

        var outcomes = iterations.Select(i => i.Outcome).ToList();
        if (error is not null && !cancelled) outcomes.Add(Outcome.Error);
        var outcome = Outcomes.Combine(outcomes);
        if (cancelled && outcome == Outcome.Pass && iterations.Count < input.Repeats) outcome = Outcome.Skip;
        var byClass = iterations.SelectMany(i => i.Passes).SelectMany(p => p.FindingsByClass)
            .GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Sum(kv => kv.Value));
        var iops = iterations.Where(i => i.Iops > 0).Select(i => i.Iops).Order().ToArray();
        var first = iterations.FirstOrDefault(i => i.Kernel.Length > 0);
        var cell = new CellResult(input, outcome,
            iterations.Count(i => i.Outcome == Outcome.Pass),
            iterations.Count(i => i.Outcome == Outcome.Fail),
            iterations.Count(i => i.Outcome == Outcome.Error) + (error is not null && !cancelled ? 1 : 0),
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
        };
        return (cell, cancelled);
    }

    private static string Describe(IterationResult r)
    {
        var word = Outcomes.Word(r.Outcome);
        if (r.Outcome == Outcome.Error) return $"{word} {r.Error}";
        var findings = r.Passes.Where(p => p.FindingCount > 0)
            .Select(p => $"{p.Pass}: {string.Join(", ", p.FindingsByClass.Select(kv => $"{kv.Value} {kv.Key}"))}");
        var detail = string.Join("; ", findings);
        return $"{word} ({r.IoCount} IOs, {r.Iops:F0} IOPS, {r.WorkloadSeconds:F2} s, {r.CpuCount} CPUs){(detail.Length > 0 ? " " + detail : "")}";
    }

    private static string Sha256(string path)
    {
        try { return Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))); }
        catch (IOException) { return ""; }
    }

    private static string HarnessVersion() =>
        typeof(RunExecutor).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "0.0.0";
}
