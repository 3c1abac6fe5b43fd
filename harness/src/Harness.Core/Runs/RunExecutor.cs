// Runs a matrix (filesystems x cases) on one machine: streams iterations in, judges them,
// writes each record as it finishes, prints progress, and keeps what finished on Ctrl-C, a
// budget's end or kill -9 (the records are the journal --resume continues from).
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

    /// <summary>The `run` arguments, recorded so `--resume` can rebuild this matrix.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>--budget: after it no cell starts and running cells stop between iterations.</summary>
    public TimeSpan? Budget { get; init; }

    /// <summary>--resume: the run folder to finish; only its missing cells and iterations run.</summary>
    public string? ResumeFrom { get; init; }
}

public sealed record RunSummary(string RunId, string ResultsPath, RunRecord Record);

public sealed class RunExecutor(IMachine machine, ResultStore store, TimeProvider time, TextWriter progress)
{
    private readonly TextWriter _progress = TextWriter.Synchronized(progress);

    /// <summary>How often run.json is rewritten while cells finish (each cell.json is written at once regardless).</summary>
    public static readonly TimeSpan RunRecordInterval = TimeSpan.FromSeconds(2);

    public async Task<RunSummary> RunAsync(RunRequest request, CancellationToken cancellationToken)
    {
        CheckUniqueCaseNames(request.Cases);
        if (request.Filesystems.Count == 0 || request.Cases.Count == 0)
            throw new ArgumentException("a run needs at least one filesystem and one case (the CLI says which option was empty)", nameof(request));
        var started = time.GetUtcNow();
        // A cell is named after its setup when it has one (two setups may share a filesystem); its
        // fs block is the setup's when the setup names one (Setups/SetupSpec.cs).
        var matrix = (from fs in request.Filesystems from c in request.Cases select (Fs: fs, Case: c)).ToArray();
        var inputs = matrix.Select(m => new CellInput($"{m.Fs.CellName}-{m.Case.Name}", m.Fs.Name, m.Case.Name, m.Case.SourceFile, Sha256(m.Case.SourceFile), m.Case.Workload.Seed, request.Repeats ?? m.Case.Repeats)
                      { Setup = m.Fs.Setup?.Name, FsBlockSize = m.Fs.Setup?.EffectiveBlockSize(m.Case) ?? m.Case.Workload.FsBlockSize, FileSize = m.Case.Workload.FileSize }).ToArray();
        RunFolder folder;
        RunRecord record;
        var finished = new CellResult?[inputs.Length];
        var earlier = new IReadOnlyList<IterationResult>[inputs.Length];
        if (request.ResumeFrom is { } resumePath)
        {
            (folder, record) = OpenForResume(resumePath, inputs);
            record = record with { Resumed = [.. record.Resumed, started], Interrupted = false, StopReason = null, Finished = null, Outcome = null };
            for (var n = 0; n < inputs.Length; n++)
            {
                // A cell that ended on its own (even ERROR) is decided: kept as is, like an uninterrupted run keeps it.
                if (RunJournal.ReadCell(folder, inputs[n].CellId) is { Interrupted: false } done) finished[n] = done;
                else earlier[n] = RunJournal.ReadIterations(folder, inputs[n].CellId);
            }
        }
        else
        {
            var requestedId = $"{started:yyyyMMdd-HHmmss}-{machine.Kind}-{Environment.ProcessId}";
            folder = store.Create(requestedId);
            record = new RunRecord(folder.Id, started, null, request.CommandLine, HarnessVersion(), Environment.Version.ToString(),
                HostInfo.KernelRelease(), machine.Describe(), inputs, [], null, false)
            {
                MountedFilesystem = request.MountedFilesystem, Arguments = request.Arguments, WorkingDirectory = Environment.CurrentDirectory,
            };
        }
        var runId = folder.Id;
        record = record with { Cells = finished.OfType<CellResult>().ToArray() };

        // Scratch per run: two harness runs sharing a cache must never share an image. The lock
        // (pid + start time) lets a later harness release it if this process is killed.
        var workRoot = Path.Combine(request.WorkDirectory, runId);
        await RunLock.TakeAsync(runId, workRoot, folder.Path, time, CancellationToken.None);
        await folder.WriteRunAsync(record, CancellationToken.None);
        var toRun = Enumerable.Range(0, inputs.Length).Where(n => finished[n] is null).ToArray();
        _progress.WriteLine(request.ResumeFrom is null
            ? $"run {runId}: {inputs.Length} cell(s) on the {machine.Kind} machine ({machine.Describe().Detail}), {request.Jobs} at a time; results in {folder.Path}"
            : $"run {runId}: resuming {toRun.Length} of {inputs.Length} cell(s) ({toRun.Sum(n => earlier[n].Count)} iteration(s) of them already recorded); results in {folder.Path}");

        // --budget: no new cell starts after it, and the cells in flight stop between iterations.
        using var budget = request.Budget is { } b ? new CancellationTokenSource(b, time) : new CancellationTokenSource();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, budget.Token);
        var gate = new SemaphoreSlim(Math.Max(1, request.Jobs));
        var recordLock = new SemaphoreSlim(1);
        var lastRunWrite = DateTimeOffset.MinValue;
        var interrupted = false;

        async Task RunOne(int n)
        {
            await gate.WaitAsync(CancellationToken.None);
            try
            {
                if (stop.IsCancellationRequested) return;
                var input = inputs[n];
                var fs = matrix[n].Fs;
                // A setup's block size wins over the case's (Setups/SetupSpec.cs): mkfs, agent and judge see the same.
                var @case = fs.Setup?.Apply(matrix[n].Case) ?? matrix[n].Case;
                var already = earlier[n] ?? [];
                _progress.WriteLine($"[{n + 1}/{inputs.Length}] {input.CellId}: {input.Repeats - already.Count} iteration(s){(already.Count > 0 ? $" (the first {already.Count} already recorded)" : "")}");
                var (cell, cancelled) = await new CellRunner(machine, time, _progress).RunAsync(folder, input, fs, @case, workRoot, already.Count, already, stop.Token);
                await folder.WriteCellAsync(cell, CancellationToken.None);
                await recordLock.WaitAsync(CancellationToken.None);
                try
                {
                    finished[n] = cell;
                    interrupted |= cancelled;
                    record = record with { Cells = finished.OfType<CellResult>().ToArray() };
                    // run.json is a summary (each cell's own cell.json is already durable, and --resume reads
                    // those): rewriting all of it after every cell made big matrices quadratic, so at most
                    // once per RunRecordInterval, and always at the end.
                    if (time.GetUtcNow() - lastRunWrite >= RunRecordInterval)
                    {
                        await folder.WriteRunAsync(record, CancellationToken.None);
                        lastRunWrite = time.GetUtcNow();
                    }
                }
                finally { recordLock.Release(); }
            }
            finally { gate.Release(); }
        }

        try
        {
            await Task.WhenAll(toRun.Select(RunOne));
        }
        finally
        {
            var cells = finished.OfType<CellResult>().ToArray();
            var complete = cells.Length == inputs.Length && cells.All(c => !c.Interrupted);
            var budgetReached = budget.IsCancellationRequested && !cancellationToken.IsCancellationRequested && !complete;
            record = record with
            {
                Cells = cells,
                Finished = time.GetUtcNow(),
                // A planned cell that never ran leaves the run undecided at best: never PASS.
                Outcome = Outcomes.Combine(cells.Select(c => c.Outcome).Concat(complete ? [] : [Outcome.Skip])),
                Interrupted = interrupted || !complete,
                BudgetReached = budgetReached,
                StopReason = complete ? null
                    : budgetReached ? $"budget reached ({request.Budget}): {cells.Count(c => !c.Interrupted)} of {inputs.Length} cell(s) finished; 'harness run --resume {folder.Path}' runs the rest"
                    : $"interrupted: {cells.Count(c => !c.Interrupted)} of {inputs.Length} cell(s) finished; 'harness run --resume {folder.Path}' runs the rest",
            };
            await folder.WriteRunAsync(record, CancellationToken.None);
            try { if (Directory.Exists(workRoot)) Directory.Delete(workRoot, recursive: true); }
            catch (IOException) { /* scratch only; the lock in it lets a later run release it */ }
            RunLock.Drop(folder.Path);
        }
        if (record.StopReason is { } reason) _progress.WriteLine($"run {runId}: {reason}");
        return new RunSummary(runId, folder.Path, record);
    }

    /// <summary>
    /// Opens a run folder to finish it: its record must be readable, its process gone, and its
    /// planned cells the same as the ones asked for now (same cell ids, case contents, seeds, repeats).
    /// </summary>
    private static (RunFolder Folder, RunRecord Record) OpenForResume(string path, IReadOnlyList<CellInput> inputs)
    {
        Yaml.InputException Problem(string message) => new(new Yaml.InputProblem(path, 0, 0, "--resume", message));
        if (!File.Exists(Path.Combine(path, "run.json"))) throw Problem($"no run.json here; pass a run folder, results/<run-id>");
        RunRecord recorded;
        try { recorded = RunJournal.ReadRun(path); }
        catch (RecordFormatException e) { throw new Yaml.InputException(new Yaml.InputProblem(e.RecordPath, 0, 0, "--resume", e.Message[(e.RecordPath.Length + 2)..])); }
        if (RunLock.Read(path, out _) is { } owner && RunLock.IsAlive(owner))
            throw Problem($"run {recorded.RunId} is still running (pid {owner.Pid}); wait for it or stop it first");
        if (recorded.Outcome is not null && !recorded.Interrupted)
            throw Problem($"run {recorded.RunId} finished ({Outcomes.Word(recorded.Outcome.Value)}); nothing to resume");
        var was = recorded.Inputs.Select(i => (i.CellId, i.CaseSha256, i.Seed, i.Repeats)).ToArray();
        var now = inputs.Select(i => (i.CellId, i.CaseSha256, i.Seed, i.Repeats)).ToArray();
        if (!was.SequenceEqual(now))
        {
            var changed = was.Zip(now).Where(p => p.First != p.Second).Select(p => p.First.CellId).FirstOrDefault()
                ?? (was.Length != now.Length ? $"{was.Length} planned cells, now {now.Length}" : "?");
            throw Problem($"the matrix changed since run {recorded.RunId} started ({changed}: case file, seed or repeats differ); a resumed run must finish the same cells, so start a new run instead");
        }
        return (new RunFolder(Path.GetFullPath(path)), recorded);
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
