// Runs a matrix (filesystems x cases) on one machine: streams iterations in, judges them,
// writes each record as it finishes, prints progress, and keeps what finished on Ctrl-C.
using System.Diagnostics;
using System.Security.Cryptography;
using Harness.Cases;
using Harness.Filesystems;
using Harness.Machines;
using Harness.Results;
using Harness.Verdicts;

namespace Harness.Runs;

/// <summary>What to run. <see cref="Repeats"/> overrides each case's own count when set.</summary>
public sealed record RunRequest(
    IReadOnlyList<FilesystemSpec> Filesystems,
    IReadOnlyList<CaseSpec> Cases,
    int? Repeats,
    string WorkDirectory,
    string CommandLine);

public sealed record RunSummary(string RunId, string ResultsPath, RunRecord Record);

public sealed class RunExecutor(IMachine machine, ResultStore store, TimeProvider time, TextWriter progress)
{
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
        progress.WriteLine($"run {runId}: {inputs.Length} cell(s) on the {machine.Kind} machine; results in {folder.Path}");

        var cells = new List<CellResult>();
        var interrupted = false;
        try
        {
            for (var n = 0; n < inputs.Length; n++)
            {
                var input = inputs[n];
                var fs = request.Filesystems.First(f => f.Name == input.Filesystem);
                var @case = request.Cases.First(c => c.Name == input.Case);
                progress.WriteLine($"[{n + 1}/{inputs.Length}] {input.CellId}: {input.Repeats} iteration(s)");
                var (cell, cancelled) = await RunCellAsync(folder, input, fs, @case, request.WorkDirectory, cancellationToken);
                cells.Add(cell);
                await folder.WriteCellAsync(cell, CancellationToken.None);
                record = record with { Cells = cells.ToArray() };
                await folder.WriteRunAsync(record, CancellationToken.None);
                if (cancelled) { interrupted = true; break; }
            }
        }
        finally
        {
            record = record with
            {
                Cells = cells.ToArray(),
                Finished = time.GetUtcNow(),
                Outcome = Outcomes.Combine(cells.Select(c => c.Outcome)),
                Interrupted = interrupted || cells.Count < inputs.Length,
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
        var cancelled = false;
        var request = new CellRequest(input.CellId, fs, @case, input.Repeats, workRoot, folder.CellDirectory(input.CellId));
        try
        {
            await foreach (var raw in machine.RunCellAsync(request, cancellationToken))
            {
                var result = IterationJudge.Judge(input.CellId, @case, raw);
                iterations.Add(result);
                await folder.WriteIterationAsync(result, CancellationToken.None);
                progress.WriteLine($"    iteration {raw.Iteration + 1}/{input.Repeats}: {Describe(result)}");
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            cancelled = true;
            error = $"interrupted after {iterations.Count} of {input.Repeats} iteration(s)";
            progress.WriteLine($"    {error}");
        }
        catch (MachineException e)
        {
            error = e.Message;
            progress.WriteLine($"    ERROR: {e.Message}");
        }

        var outcomes = iterations.Select(i => i.Outcome).ToList();
        if (error is not null && !cancelled) outcomes.Add(Outcome.Error);
        var outcome = Outcomes.Combine(outcomes);
        if (cancelled && outcome == Outcome.Pass && iterations.Count < input.Repeats) outcome = Outcome.Skip;
        var byClass = iterations.SelectMany(i => i.Passes).SelectMany(p => p.FindingsByClass)
            .GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Sum(kv => kv.Value));
        var iops = iterations.Where(i => i.Iops > 0).Select(i => i.Iops).Order().ToArray();
        var first = iterations.FirstOrDefault(i => i.Kernel.Length > 0);
        return (new CellResult(input, outcome,
            iterations.Count(i => i.Outcome == Outcome.Pass),
            iterations.Count(i => i.Outcome == Outcome.Fail),
            iterations.Count(i => i.Outcome == Outcome.Error) + (error is not null && !cancelled ? 1 : 0),
            error ?? iterations.FirstOrDefault(i => i.Error is not null)?.Error,
            byClass,
            iops.Length == 0 ? 0 : iops[iops.Length / 2],
            first?.Kernel ?? "",
            first?.CpuCount ?? 0,
            started,
            clock.Elapsed.TotalSeconds), cancelled);
    }

    private static string Describe(IterationResult r)
    {
        var word = Outcomes.Word(r.Outcome);
        if (r.Outcome == Outcome.Error) return $"{word} {r.Error}";
        var findings = r.Passes.Where(p => p.FindingCount > 0)
            .Select(p => $"{p.Pass}: {string.Join(", ", p.FindingsByClass.Select(kv => $"{kv.Value} {kv.Key}"))}");
        var detail = string.Join("; ", findings);
        return $"{word} ({r.IoCount} IOs, {r.Iops:F0} IOPS, {r.WorkloadSeconds:F2} s){(detail.Length > 0 ? " " + detail : "")}";
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
