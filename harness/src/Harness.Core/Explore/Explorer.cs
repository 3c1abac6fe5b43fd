// `harness explore`: draws workloads (WorkloadGenerator), runs each as a cell on the machine
// (the same CellRunner as `run`, judged by the same golden model), records every workload's case
// file and result under results/<run>/explore/, and shrinks the first failure of each signature
// (Shrinker) to a minimal case file with a header saying what it catches, where, and how often.
// The folder is also a normal run folder (run.json, cells/), so `harness report` reads it.
using Harness.Cases;
using Harness.Filesystems;
using Harness.Golden;
using Harness.Machines;
using Harness.Results;
using Harness.Runs;
using Harness.Verdicts;

namespace Harness.Explore;

/// <summary>What to explore. At least one of <see cref="Workloads"/> and <see cref="Budget"/> bounds it.</summary>
public sealed record ExploreRequest(FilesystemSpec Filesystem, ulong Seed, string Kernel, long ImageBytes, string WorkDirectory, string CommandLine)
{
    /// <summary>--workloads: how many to draw.</summary>
    public int? Workloads { get; init; }

    /// <summary>--budget: no new workload or shrink step starts after it; a shrink in progress keeps what it kept.</summary>
    public TimeSpan? Budget { get; init; }

    /// <summary>Iterations per drawn workload (a race may need a few).</summary>
    public int Repeats { get; init; } = 1;

    /// <summary>How sure a shrink step must be.</summary>
    public ShrinkPolicy Shrink { get; init; } = new();

    /// <summary>Distinct failure signatures shrunk per explore (each shrink costs up to MaxCandidates x MaxRuns runs).</summary>
    public int MaxShrinks { get; init; } = 3;
}

/// <summary>Where the records went.</summary>
public sealed record ExploreSummary(string RunId, string ResultsPath, ExploreRecord Record, Outcome Outcome);

public sealed class Explorer(IMachine machine, ResultStore store, TimeProvider time, TextWriter progress)
{
    /// <summary>Confidence of the two-sided failure-rate intervals printed in reproducer headers.</summary>
    public const double IntervalConfidence = 0.95;

    public async Task<ExploreSummary> RunAsync(ExploreRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Workloads is null && request.Budget is null)
            throw new ArgumentException("explore needs --workloads or --budget (the CLI gives a default)", nameof(request));
        request.Shrink.Validate();
        var fs = request.Filesystem;
        var started = time.GetUtcNow();
        var folder = store.Create($"{started:yyyyMMdd-HHmmss}-explore-{Environment.ProcessId}");
        var exploreDir = Path.Combine(folder.Path, "explore");
        var workRoot = Path.Combine(request.WorkDirectory, folder.Id);
        await RunLock.TakeAsync(folder.Id, workRoot, folder.Path, time, CancellationToken.None);

        var generator = new WorkloadGenerator(request.Seed, fs, request.ImageBytes);
        var inputs = new List<CellInput>();
        var cells = new List<CellResult>();
        var workloads = new List<ExploredWorkload>();
        var shapes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var failures = new List<ExploreFailure>();
        long sectors = 0;
        var runRecord = new RunRecord(folder.Id, started, null, request.CommandLine, HarnessVersion(), Environment.Version.ToString(),
            HostInfo.KernelRelease(), machine.Describe(), [], [], null, false) { WorkingDirectory = Environment.CurrentDirectory };
        ExploreRecord Record() => new(folder.Id, started, null, request.CommandLine, machine.Describe(), request.Kernel, fs.Name, request.Seed,
            workloads.Count, sectors, new Dictionary<string, int>(shapes), workloads.ToArray(), failures.ToArray(), request.Shrink);
        var record = Record();
        await AtomicFile.WriteJsonAsync(Path.Combine(exploreDir, "explore.json"), record, CancellationToken.None);
        progress.WriteLine($"explore {folder.Id}: seed {request.Seed}, {fs.Name} on the {machine.Kind} machine ({machine.Describe().Detail}), " +
            $"{(request.Workloads is { } n ? $"{n} workload(s)" : "")}{(request.Workloads is not null && request.Budget is not null ? ", " : "")}{(request.Budget is { } b ? $"budget {b}" : "")}; results in {folder.Path}");

        using var budget = request.Budget is { } limit ? new CancellationTokenSource(limit, time) : new CancellationTokenSource();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, budget.Token);
        var interrupted = false;
        try
        {
            for (var index = 0; request.Workloads is not { } max || index < max; index++)
            {
                if (stop.IsCancellationRequested) break;
                var drawn = generator.Generate(index);
                var caseFile = Path.Combine(exploreDir, "workloads", drawn.Case.Name + ".yaml");
                await AtomicFile.WriteTextAsync(caseFile, drawn.Yaml, CancellationToken.None);
                var @case = CaseLoader.Load(caseFile);
                var (cell, iterations, cancelled) = await RunCellAsync(folder, fs, @case, request.Repeats, workRoot, stop.Token);
                inputs.Add(cell.Input);
                cells.Add(cell);
                if (cancelled) { interrupted = true; break; }
                var judged = iterations.Sum(i => i.Passes.Sum(p => p.SectorsChecked));
                sectors += judged;
                shapes[drawn.Shape] = shapes.GetValueOrDefault(drawn.Shape) + 1;
                var failing = iterations.FirstOrDefault(i => Signature(i) is not null);
                var signature = failing is not null ? Signature(failing) : CrashSignature(cell);
                var finding = failing is not null ? FirstFinding(failing) : cell.Failure?.Message;
                workloads.Add(new ExploredWorkload(index, drawn.Seed, Path.GetRelativePath(folder.Path, caseFile), drawn.Shape, cell.Input.CellId,
                    Outcomes.Word(cell.Outcome), iterations.Count, cell.Failed + cell.Crashed, judged, signature, finding));
                progress.WriteLine($"[explore {index + 1}{(request.Workloads is { } m ? $"/{m}" : "")}] {drawn.Case.Name} {drawn.Shape}: {Outcomes.Word(cell.Outcome)}" +
                    $"{(signature is null ? "" : $" {signature}")} ({judged} sectors judged)");
                if (signature is not null)
                {
                    var known = failures.FindIndex(f => f.Signature == signature);
                    if (known >= 0)
                    {
                        failures[known] = failures[known] with { Workloads = failures[known].Workloads + 1 };
                    }
                    else
                    {
                        failures.Add(new ExploreFailure(signature, 1, index, finding, null));
                        if (failures.Count <= request.MaxShrinks)
                        {
                            var reproducer = await ShrinkAsync(folder, exploreDir, request, @case, signature, index, drawn.Seed, workRoot, inputs, cells, stop.Token);
                            failures[^1] = failures[^1] with { Reproducer = reproducer };
                            if (reproducer.Interrupted) interrupted = stop.IsCancellationRequested;
                        }
                    }
                }
                await AtomicFile.WriteJsonAsync(Path.Combine(exploreDir, "explore.json"), Record(), CancellationToken.None);
            }
        }
        finally
        {
            var budgetReached = budget.IsCancellationRequested && !cancellationToken.IsCancellationRequested;
            interrupted = (interrupted || stop.IsCancellationRequested) && !budgetReached;
            var stopReason = budgetReached ? $"budget reached ({request.Budget}) after {workloads.Count} workload(s)"
                : interrupted ? $"interrupted after {workloads.Count} workload(s)" : null;
            record = Record() with { Finished = time.GetUtcNow(), BudgetReached = budgetReached, Interrupted = interrupted, StopReason = stopReason };
            await AtomicFile.WriteJsonAsync(Path.Combine(exploreDir, "explore.json"), record, CancellationToken.None);
            var workloadCells = Decided(cells);
            await folder.WriteRunAsync(runRecord with
            {
                Inputs = inputs.ToArray(), Cells = cells.ToArray(), Finished = time.GetUtcNow(),
                Outcome = workloadCells.Count == 0 ? Outcome.Skip : Outcomes.Combine(workloadCells),
                Interrupted = interrupted, BudgetReached = budgetReached, StopReason = stopReason,
            }, CancellationToken.None);
            try { if (Directory.Exists(workRoot)) Directory.Delete(workRoot, recursive: true); }
            catch (IOException) { /* scratch only; the lock in it lets a later run release it */ }
            RunLock.Drop(folder.Path);
        }
        if (record.StopReason is { } reason) progress.WriteLine($"explore {folder.Id}: {reason}");
        var outcomes = Decided(cells);
        return new ExploreSummary(folder.Id, folder.Path, record, outcomes.Count == 0 ? Outcome.Skip : Outcomes.Combine(outcomes));
    }

    /// <summary>
    /// The outcomes that speak for the explore: every drawn workload's cell, except one the budget or a stop cut
    /// before any iteration ended (it stays in run.json as interrupted; counted, it made a clean 102-workload
    /// night SKIP, exit 4).
    /// </summary>
    private static List<Outcome> Decided(IEnumerable<CellResult> cells) =>
        cells.Where(c => c.Input.Case.StartsWith("explore-", StringComparison.Ordinal))
            .Where(c => !(c.Interrupted && c.Passed + c.Failed + c.Errored + c.Crashed == 0))
            .Select(c => c.Outcome).ToList();

    private async Task<(CellResult Cell, IReadOnlyList<IterationResult> Iterations, bool Cancelled)> RunCellAsync(
        RunFolder folder, FilesystemSpec fs, CaseSpec @case, int repeats, string workRoot, CancellationToken cancellationToken)
    {
        var input = new CellInput($"{fs.Name}-{@case.Name}", fs.Name, @case.Name, @case.SourceFile, RunExecutor.Sha256(@case.SourceFile), @case.Workload.Seed, repeats)
        { FsBlockSize = @case.Workload.FsBlockSize, FileSize = @case.Workload.FileSize };
        var (cell, cancelled) = await new CellRunner(machine, time, TextWriter.Null).RunAsync(folder, input, fs, @case, workRoot, 0, cancellationToken);
        await folder.WriteCellAsync(cell, CancellationToken.None);
        return (cell, RunJournal.ReadIterations(folder, input.CellId), cancelled);
    }

    private async Task<ExploreReproducer> ShrinkAsync(RunFolder folder, string exploreDir, ExploreRequest request, CaseSpec failing, string signature,
        int workload, ulong workloadSeed, string workRoot, List<CellInput> inputs, List<CellResult> cells, CancellationToken cancellationToken)
    {
        var slug = Slug(signature);
        var candidates = 0;
        progress.WriteLine($"  shrinking {failing.Name} ({signature}): each step kept only if its failure rate's lower bound stays above {request.Shrink.MinRate}");
        async Task<TrialResult> Trial(CaseSpec candidate, int repeats, string sought, CancellationToken token)
        {
            candidates++;
            var name = $"shrink-{slug}-{candidates:D3}";
            var file = Path.Combine(exploreDir, "shrink", slug, name + ".yaml");
            var text = CaseYaml.Render(candidate with { Name = name, SourceFile = file });
            await AtomicFile.WriteTextAsync(file, text, CancellationToken.None);
            var (cell, iterations, cancelled) = await RunCellAsync(folder, request.Filesystem, CaseLoader.Load(file), repeats, workRoot, token);
            inputs.Add(cell.Input);
            cells.Add(cell);
            if (cancelled) throw new OperationCanceledException(token);
            var judged = iterations.Count(i => i.Outcome is Outcome.Pass or Outcome.Fail or Outcome.Crash);
            var matching = iterations.Where(i => Matches(i, sought)).ToList();
            var crash = cell.Outcome == Outcome.Crash && CrashSignature(cell) == sought ? 1 : 0;
            return new TrialResult(judged + (cell.Failure is not null && cell.Outcome == Outcome.Crash ? 1 : 0), matching.Count + crash,
                matching.Select(FirstFinding).FirstOrDefault() ?? (crash > 0 ? cell.Failure?.Message : null));
        }
        var result = await new Shrinker(Trial, request.Shrink, progress).ShrinkAsync(failing, signature, cancellationToken);
        var (lower, upper) = Statistics.ClopperPearson(result.Failures, result.Runs, IntervalConfidence);
        var path = Path.Combine(exploreDir, "reproducers", slug + ".yaml");
        var minimal = result.Minimal with
        {
            Name = $"explore-{slug}",
            Description = $"minimal reproducer of {signature}, shrunk by harness explore from workload {workload} (seed {workloadSeed})",
            Catches = $"{signature} on {request.Kernel} / {request.Filesystem.Name}: {result.FirstFinding ?? "see the header"}",
            Repeats = 10,
            SourceFile = path,
        };
        var m = minimal.Workload;
        string[] header =
        [
            $"Minimal reproducer found by harness explore (seed {request.Seed}, workload {workload}, workload seed {workloadSeed}).",
            $"catches: {signature}",
            $"kernel: {request.Kernel} ({machine.Describe().Kernel}); filesystem: {request.Filesystem.Name}; machine: {machine.Kind}",
            $"failure rate: {result.Failures} of {result.Runs} runs, {IntervalConfidence:P0} interval {lower:0.###}..{upper:0.###} (two-sided Clopper-Pearson)",
            $"rule: each kept step's one-sided lower bound > {request.Shrink.MinRate} at {request.Shrink.LookConfidence:0.####} per look ({request.Shrink.Batch} runs a look, at most {request.Shrink.MaxRuns})",
            result.Reproduced
                ? (result.Shrunk ? $"shrunk in {result.Steps.Count(s => s.Kept) - 1} kept step(s) of {result.Steps.Count} tried{(result.Interrupted ? "; stopped by the budget: smaller may exist" : "")}" : "not shrunk: no smaller neighbour kept failing")
                : $"NOT REPRODUCED: the original failed {result.Failures} of {result.Runs} re-runs, short of the rule; this is the original workload",
            $"shape: {m.IoCount} IO(s) of {m.IoSize} B at stride {m.Stride} from {m.Start}, queue depth {m.QueueDepth}, {WorkloadGenerator.Shape(m)}, file {m.FileSize} B",
            $"first finding: {result.FirstFinding ?? "-"}",
            $"rerun: harness run --machine {machine.Kind} --fs {request.Filesystem.Name} --case {Display(path)} --repeats 10{(machine.Kind == "qemu" ? $" --kernel {request.Kernel}" : "")}",
        ];
        var (_, text) = CaseYaml.RoundTrip(minimal, path, header);
        await AtomicFile.WriteTextAsync(path, text, CancellationToken.None);
        progress.WriteLine($"  reproducer: {path} ({result.Failures}/{result.Runs} failed, {m.IoCount} IO(s), queue depth {m.QueueDepth})");
        return new ExploreReproducer(signature, Path.GetRelativePath(folder.Path, path), result.Reproduced, result.Shrunk, result.Interrupted,
            result.Runs, result.Failures, lower, upper, IntervalConfidence, m.IoCount, m.QueueDepth, m.FileSize, candidates, result.FirstFinding);
    }

    /// <summary>
    /// A failed iteration's signature: "fail:" and its most specific finding class (the enum's
    /// order: zeroed before stale, ... fsck last), so one race seen with and without stale dirt
    /// is one signature; null when it did not fail.
    /// </summary>
    public static string? Signature(IterationResult iteration)
    {
        ArgumentNullException.ThrowIfNull(iteration);
        if (iteration.Outcome != Outcome.Fail) return null;
        var classes = Classes(iteration);
        return "fail:" + (Enum.GetValues<FindingClass>().Select(IterationJudge.ClassWord).FirstOrDefault(classes.Contains) ?? "unknown");
    }

    /// <summary>A candidate run counts for <paramref name="signature"/> when it failed with that class among its findings.</summary>
    public static bool Matches(IterationResult iteration, string signature) =>
        iteration.Outcome == Outcome.Fail && signature.StartsWith("fail:", StringComparison.Ordinal) && Classes(iteration).Contains(signature[5..]);

    private static HashSet<string> Classes(IterationResult iteration) =>
        iteration.Passes.SelectMany(p => p.FindingsByClass).Where(kv => kv.Value > 0).Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);

    private static string? CrashSignature(CellResult cell) =>
        cell.Outcome == Outcome.Crash && cell.Failure is { } f ? $"crash:{f.Kind}" : null;

    private static string? FirstFinding(IterationResult iteration)
    {
        foreach (var pass in iteration.Passes)
            if (pass.Findings.FirstOrDefault() is { } f)
            {
                var text = $"{pass.Pass}: {f}";
                return text.Length <= 400 ? text : text[..400] + "...";
            }
        return iteration.Error;
    }

    /// <summary>Relative to the working directory when inside it (how users type it), else absolute.</summary>
    private static string Display(string path)
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return relative.StartsWith("..", StringComparison.Ordinal) ? Path.GetFullPath(path) : relative;
    }

    private static string Slug(string signature) =>
        new(signature.Select(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') ? c : '-').ToArray());

    private static string HarnessVersion() =>
        typeof(Explorer).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "0.0.0";
}
