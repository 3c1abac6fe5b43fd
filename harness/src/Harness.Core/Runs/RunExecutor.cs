// Runs a matrix (filesystems x cases) on one machine: streams iterations in, judges them,
// writes each record as it finishes, prints progress, and keeps what finished on Ctrl-C.
// Cells run up to RunRequest.Jobs at a time (several QEMUs at once).
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
    string CommandLine,
    int Jobs = 1)
{
    /// <summary>With --dir: the mounted filesystem's type as read from the mount (findmnt), recorded with the run.</summary>
    public string? MountedFilesystem { get; init; }
}

public sealed record RunSummary(string RunId, string ResultsPath, RunRecord Record);

public sealed class RunExecutor(IMachine machine, ResultStore store, TimeProvider time, TextWriter progress)
{
    private readonly TextWriter _progress = TextWriter.Synchronized(progress);

    public async Task<RunSummary> RunAsync(RunRequest request, CancellationToken cancellationToken)
    {
        CheckUniqueCaseNames(request.Cases);
        if (request.Filesystems.Count == 0 || request.Cases.Count == 0)
            throw new ArgumentException("a run needs at least one filesystem and one case (the CLI says which option was empty)", nameof(request));
        var started = time.GetUtcNow();
        var requestedId = $"{started:yyyyMMdd-HHmmss}-{machine.Kind}-{Environment.ProcessId}";
        var folder = store.Create(requestedId);
        var runId = folder.Id;
        var inputs = (from fs in request.Filesystems
                      from c in request.Cases
                      select new CellInput($"{fs.Name}-{c.Name}", fs.Name, c.Name, c.SourceFile, Sha256(c.SourceFile), c.Workload.Seed, request.Repeats ?? c.Repeats)).ToArray();
        var record = new RunRecord(runId, started, null, request.CommandLine, HarnessVersion(), Environment.Version.ToString(),
            HostInfo.KernelRelease(), machine.Describe(), inputs, [], null, false) { MountedFilesystem = request.MountedFilesystem };
        await folder.WriteRunAsync(record, CancellationToken.None);
        _progress.WriteLine($"run {runId}: {inputs.Length} cell(s) on the {machine.Kind} machine ({machine.Describe().Detail}), {request.Jobs} at a time; results in {folder.Path}");

        // Scratch per run: two harness runs sharing a cache must never share an image.
        var workRoot = Path.Combine(request.WorkDirectory, runId);
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
                var (cell, cancelled) = await new CellRunner(machine, time, _progress).RunAsync(folder, input, fs, @case, workRoot, 0, cancellationToken);
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
                // A planned cell that never ran leaves the run undecided at best: never PASS.
                Outcome = Outcomes.Combine(cells.Select(c => c.Outcome).Concat(cells.Length < inputs.Length ? [Outcome.Skip] : [])),
                Interrupted = interrupted || cells.Length < inputs.Length,
            };
            await folder.WriteRunAsync(record, CancellationToken.None);
            try { if (Directory.Exists(workRoot)) Directory.Delete(workRoot, recursive: true); }
            catch (IOException) { /* scratch only */ }
        }
        return new RunSummary(runId, folder.Path, record);
    }

    /// <summary>Case names become cell and folder names: two files with one name would run one and record the other.</summary>
    public static void CheckUniqueCaseNames(IReadOnlyList<CaseSpec> cases)
    {
        var problems = cases.GroupBy(c => c.Name)
            .Where(g => g.Select(c => Path.GetFullPath(c.SourceFile)).Distinct().Count() > 1)
            .Select(g => new Yaml.InputProblem(g.Last().SourceFile, 0, 0, "name",
                $"'{g.Key}' is also the name of {string.Join(", ", g.SkipLast(1).Select(c => c.SourceFile).Distinct())}; case names must be unique in a run (they name cells and result folders)"))
            .ToArray();
        if (problems.Length > 0) throw new Yaml.InputException(problems);
    }

    internal static string Sha256(string path)
    {
        try { return Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))); }
        catch (IOException) { return ""; }
    }

    private static string HarnessVersion() =>
        typeof(RunExecutor).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "0.0.0";
}
