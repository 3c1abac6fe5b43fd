// `harness validate`: does this patch fix the corruption, and can the answer be trusted?
// Runs each (filesystem, case) on the kernel without the patch and the kernel with it through
// VerdictLoop: each look boots at least two guests a side (one cell each), counts FAIL and CRASH
// repeats as failures (ERROR apart), and asks VerdictRules, stopping as soon as the answer is
// clear or the cap is reached. A control kernel may run alongside in the first look.
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
    bool Parallel)
{
    /// <summary>--budget: after it the looks stop; a pair not decided by then is INCONCLUSIVE with its partial counts.</summary>
    public TimeSpan? Budget { get; init; }

    /// <summary>The `validate` arguments, recorded so `--resume` can rebuild this request.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>SHA-256 of the --patch file (null with --with-kernel): a resumed validation must test the same patch.</summary>
    public string? PatchSha256 { get; init; }

    /// <summary>The series under test as applied, in order: each patch's label (file, mbox message, commit) and SHA-256.</summary>
    public IReadOnlyList<Kernels.AppliedPatch> Patches { get; init; } = [];

    /// <summary>--resume: the validation folder to finish; decided pairs are kept, the pair in progress continues from its recorded looks.</summary>
    public string? ResumeFrom { get; init; }
}

/// <summary>A case as validated: its name and the digest of its file and seed, so --resume can tell it changed.</summary>
public sealed record ValidationCase(string Name, string Sha256, ulong Seed);

/// <summary>
/// The counts and verdict after one look, with the patched side's residual bound as printed
/// ("≤ 9.5 % (one-sided 95 %)"). The control kernel runs in the first look only.
/// </summary>
public sealed record LookRecord(
    int Look,
    IReadOnlyList<int> GuestsWithout,
    IReadOnlyList<int> GuestsWith,
    RateCounts Without,
    RateCounts With,
    RateCounts? Control,
    PatchVerdict Verdict,
    VerdictBasis Basis,
    double PValue,
    double Alpha,
    string Bound,
    string Reason);

/// <summary>
/// The verdict of one (filesystem, case) pair, with the history that led to it. <see cref="Bound"/> is
/// the patched failure rate's one-sided upper bound as printed; <see cref="End"/> says why the looks
/// stopped; <c>Repeats*</c> and <c>Guests*</c> are what each side was asked to run and on how many boots.
/// </summary>
public sealed record PairVerdict(
    string Filesystem,
    string Case,
    PatchVerdict Verdict,
    VerdictBasis Basis,
    RateEstimate Without,
    RateEstimate With,
    RateEstimate? Control,
    double PValue,
    double AlphaPerLook,
    string Bound,
    string Reason,
    LoopEnd End,
    int RepeatsWithout,
    int RepeatsWith,
    int GuestsWithout,
    int GuestsWith,
    int ErroredWithout,
    int ErroredWith,
    IReadOnlyList<string> MachineFailures,
    IReadOnlyList<LookRecord> Looks)
{
    /// <summary>The verdict's exit code, or 3 when the machines, not the kernels, left it undecided.</summary>
    public int ExitCode => End == LoopEnd.Uncountable && Verdict == PatchVerdict.Inconclusive
        ? PatchVerdicts.InfrastructureExitCode
        : PatchVerdicts.ExitCode(Verdict);
}

public sealed record KernelDescription(string Label, string Name, string Release, string Origin)
{
    /// <summary>The side's kernel image and config by content, and the emulator that ran it (null on machines that boot nothing).</summary>
    public KernelIdentity? Identity { get; init; }
}

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
    bool Interrupted)
{
    /// <summary>--budget ran out first: undecided pairs are INCONCLUSIVE with what they counted; pairs never started are missing.</summary>
    public bool BudgetReached { get; init; }

    /// <summary>Shape of this record (<see cref="Results.RecordFormat"/>).</summary>
    public int FormatVersion { get; init; } = Results.RecordFormat.Current;

    /// <summary>The `validate` arguments as typed (without the command word): what --resume parses again.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>The folder validate started in (its arguments may be relative to it).</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Filesystems validated, in order (with <see cref="Cases"/>, the pairs --resume must find unchanged).</summary>
    public IReadOnlyList<string> Filesystems { get; init; } = [];

    /// <summary>Cases validated, in order, with their file digests and seeds.</summary>
    public IReadOnlyList<ValidationCase> Cases { get; init; } = [];

    /// <summary>SHA-256 of the --patch file (of a series: of its patches' digests in order), null with --with-kernel.</summary>
    public string? PatchSha256 { get; init; }

    /// <summary>The series under test as applied, in order: each patch's label (file, mbox message, commit) and SHA-256.</summary>
    public IReadOnlyList<Kernels.AppliedPatch> Patches { get; init; } = [];

    /// <summary>When --resume continued this validation.</summary>
    public IReadOnlyList<DateTimeOffset> Resumed { get; init; } = [];

    /// <summary>Why an interrupted validation stopped (set when a later harness found its process gone).</summary>
    public string? StopReason { get; init; }

    /// <summary>Finished on its own: every pair decided (not interrupted, budget not reached). Nothing left to resume.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool Complete => Finished is not null && !Interrupted && !BudgetReached;
}

public sealed class PatchValidator(ResultStore store, TimeProvider time, TextWriter progress)
{
    private readonly TextWriter _progress = TextWriter.Synchronized(progress);

    /// <summary>
    /// Runs every (filesystem, case) pair. The policy's <see cref="VerdictPolicy.Pairs"/> is set here to
    /// the number of pairs, so the Bonferroni correction over pairs cannot be forgotten by a caller.
    /// </summary>
    public async Task<(ValidationRecord Record, string Path)> RunAsync(ValidationRequest request, CancellationToken cancellationToken)
    {
        request = request with { Policy = request.Policy with { Pairs = request.Filesystems.Count * request.Cases.Count } };
        request.Policy.Validate();
        var started = time.GetUtcNow();
        var sides = new[] { request.Without, request.With, request.Control }.OfType<ValidationSide>().ToArray();
        var fresh = new ValidationRecord("", started, null, request.CommandLine,
            sides.Select(s => new KernelDescription(s.Label, s.Kernel.Name, s.Kernel.Release, s.Kernel.Origin) { Identity = s.Machine.Describe().Identity }).ToArray(),
            request.With.Machine.Describe(), request.Policy, [], false)
        {
            Arguments = request.Arguments,
            WorkingDirectory = Environment.CurrentDirectory,
            Filesystems = request.Filesystems.Select(f => f.Name).ToArray(),
            Cases = request.Cases.Select(c => new ValidationCase(c.Name, RunExecutor.Sha256(c.SourceFile), c.Workload.Seed)).ToArray(),
            PatchSha256 = request.PatchSha256,
            Patches = request.Patches,
        };
        RunFolder folder;
        ValidationRecord record;
        // On --resume: pairs that ended on their own are kept as recorded; the rest run again, and the
        // pair in progress replays its recorded looks from the cell records (RunCellAsync) before it runs new ones.
        var kept = new Dictionary<(string Fs, string Case), PairVerdict>();
        if (request.ResumeFrom is { } resumePath)
        {
            (folder, var recorded) = OpenForResume(resumePath, fresh);
            foreach (var done in recorded.Pairs.Where(p => p.End != LoopEnd.Interrupted)) kept[(done.Filesystem, done.Case)] = done;
            record = recorded with { Pairs = [], Finished = null, Interrupted = false, BudgetReached = false, StopReason = null, Resumed = [.. recorded.Resumed, started] };
        }
        else
        {
            folder = store.Create($"{started:yyyyMMdd-HHmmss}-validate-{Environment.ProcessId}");
            record = fresh with { RunId = folder.Id };
        }
        var runId = folder.Id;
        var path = System.IO.Path.Combine(folder.Path, "validation.json");
        await AtomicFile.WriteJsonAsync(path, record, CancellationToken.None);
        // The lock lets a later harness kill this run's QEMUs and delete its images if this process is killed.
        var workRoot = System.IO.Path.Combine(request.WorkDirectory, runId);
        await RunLock.TakeAsync(runId, workRoot, folder.Path, time, CancellationToken.None);
        if (request.ResumeFrom is not null)
            _progress.WriteLine($"validate {runId}: resuming; {kept.Count} of {request.Filesystems.Count * request.Cases.Count} pair(s) already decided, the pair in progress replays its recorded looks");
        _progress.WriteLine($"validate {runId}: without = {request.Without.Kernel.Origin}");
        _progress.WriteLine($"                 with    = {request.With.Kernel.Origin}");
        if (request.Control is { } control) _progress.WriteLine($"                 control = {control.Kernel.Origin}");
        _progress.WriteLine($"  {ValidationTable.PolicyLine(request.Policy)}");

        var pairs = new List<PairVerdict>();
        var interrupted = false;
        // --budget stops the looks like Ctrl-C does, but what it leaves is a verdict: INCONCLUSIVE with the counts so far.
        using var budget = request.Budget is { } b ? new CancellationTokenSource(b, time) : new CancellationTokenSource();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, budget.Token);
        bool BudgetOnly() => budget.IsCancellationRequested && !cancellationToken.IsCancellationRequested;
        try
        {
            foreach (var fs in request.Filesystems)
            foreach (var @case in request.Cases)
            {
                if (BudgetOnly()) break;
                if (kept.TryGetValue((fs.Name, @case.Name), out var decided))
                {
                    _progress.WriteLine($"  {fs.Name}/{@case.Name}: {PatchVerdicts.Word(decided.Verdict)} (recorded before the resume; kept)");
                    pairs.Add(decided);
                    continue;
                }
                var pair = await RunPairAsync(folder, request with { WorkDirectory = workRoot }, fs, @case, stop.Token);
                if (BudgetOnly() && pair.End == LoopEnd.Interrupted)
                {
                    pair = pair with
                    {
                        Verdict = PatchVerdict.Inconclusive,
                        Reason = $"budget reached ({request.Budget}) after {pair.Looks.Count} look(s), without {pair.Without.Failures}/{pair.Without.Runs} failed, with {pair.With.Failures}/{pair.With.Runs}: too few runs to decide; {pair.Reason}",
                    };
                    _progress.WriteLine($"  {fs.Name}/{@case.Name}: {pair.Reason}");
                }
                pairs.Add(pair);
                record = record with { Pairs = pairs.ToArray() };
                await AtomicFile.WriteJsonAsync(path, record, CancellationToken.None);
                if (BudgetOnly()) break;
                if (pair.End == LoopEnd.Interrupted || cancellationToken.IsCancellationRequested) { interrupted = true; break; }
            }
        }
        finally
        {
            record = record with
            {
                Pairs = pairs.ToArray(),
                Finished = time.GetUtcNow(),
                BudgetReached = BudgetOnly(),
                Interrupted = interrupted || cancellationToken.IsCancellationRequested || (!BudgetOnly() && pairs.Count < request.Filesystems.Count * request.Cases.Count),
            };
            if (record.Interrupted || record.BudgetReached)
                record = record with { StopReason = $"{(record.BudgetReached ? $"budget reached ({request.Budget})" : "interrupted")}: {pairs.Count(p => p.End != LoopEnd.Interrupted)} of {request.Filesystems.Count * request.Cases.Count} pair(s) decided; 'harness validate --resume {folder.Path}' continues" };
            await AtomicFile.WriteJsonAsync(path, record, CancellationToken.None);
            try { if (Directory.Exists(workRoot)) Directory.Delete(workRoot, recursive: true); }
            catch (IOException) { /* scratch only; its lock lets a later run release it */ }
            RunLock.Drop(folder.Path);
        }
        return (record, folder.Path);
    }

    /// <summary>
    /// Opens a validation folder to finish it: its record readable and from a version that stored its
    /// request, its process gone, not finished, and the same request as now (kernels, patch digest,
    /// filesystems, cases with their digests and seeds, policy); the first difference is named.
    /// </summary>
    public static (RunFolder Folder, ValidationRecord Record) OpenForResume(string path, ValidationRecord now)
    {
        Yaml.InputException Problem(string message) => new(new Yaml.InputProblem(path, 0, 0, "--resume", message));
        var recorded = ReadForResume(path);
        static string Kernels(ValidationRecord r) => string.Join(", ", r.Kernels.Select(k => $"{k.Label} {k.Name} {k.Release} ({k.Origin})"));
        // A rebuilt kernel keeps its name and release: its image digest tells (records from before digests have none to compare).
        static string Images(ValidationRecord r, ValidationRecord other) => string.Join(", ", r.Kernels.Select((k, i) =>
            $"{k.Label} bzImage sha256 {(other.Kernels.ElementAtOrDefault(i)?.Identity is null ? "-" : k.Identity?.BzImageSha256[..Math.Min(12, k.Identity.BzImageSha256.Length)] ?? "-")}"));
        static string Cases(ValidationRecord r) => string.Join(", ", r.Cases.Select(c => $"{c.Name} sha256 {c.Sha256[..Math.Min(12, c.Sha256.Length)]} seed {c.Seed}"));
        var changes = new (string What, string Was, string Now)[]
        {
            ("kernels", Kernels(recorded), Kernels(now)),
            ("kernel images", Images(recorded, now), Images(now, recorded)),
            ("patch digest", recorded.PatchSha256 ?? "none", now.PatchSha256 ?? "none"),
            ("filesystems", string.Join(",", recorded.Filesystems), string.Join(",", now.Filesystems)),
            ("cases", Cases(recorded), Cases(now)),
            ("policy", recorded.Policy.ToString(), now.Policy.ToString()),
        };
        if (changes.FirstOrDefault(c => c.Was != c.Now) is { What: not null } changed)
            throw Problem($"the {changed.What} changed since validation {recorded.RunId} started (was {changed.Was}; now {changed.Now}); " +
                          "a resumed validation must finish the same comparison, so start a new one instead");
        return (new RunFolder(System.IO.Path.GetFullPath(path)), recorded);
    }

    /// <summary>
    /// validation.json of a folder for --resume, with its format checked, its arguments recorded, its
    /// process gone and its work not finished; bad input names the file or folder.
    /// </summary>
    public static ValidationRecord ReadForResume(string path)
    {
        var file = System.IO.Path.Combine(path, "validation.json");
        if (!File.Exists(file)) throw new Yaml.InputException(new Yaml.InputProblem(path, 0, 0, "--resume", "no validation.json here; pass a validation folder, results/<run-id>"));
        ValidationRecord recorded;
        try { recorded = RecordFormat.Read<ValidationRecord>(file); }
        catch (RecordFormatException e) { throw new Yaml.InputException(new Yaml.InputProblem(e.RecordPath, 0, 0, "--resume", e.Message[(e.RecordPath.Length + 2)..])); }
        if (recorded.Arguments.Count == 0)
            throw new Yaml.InputException(new Yaml.InputProblem(path, 0, 0, "--resume",
                $"validation {recorded.RunId} was recorded without its arguments (before validate --resume existed); it cannot be resumed, start a new validation"));
        if (RunLock.Read(path, out _) is { } owner && RunLock.IsAlive(owner))
            throw new Yaml.InputException(new Yaml.InputProblem(path, 0, 0, "--resume", $"validation {recorded.RunId} is still running (pid {owner.Pid}); wait for it or stop it first"));
        if (recorded.Complete)
            throw new Yaml.InputException(new Yaml.InputProblem(path, 0, 0, "--resume",
                $"validation {recorded.RunId} finished ({string.Join(", ", recorded.Pairs.Select(p => $"{p.Filesystem}/{p.Case} {PatchVerdicts.Word(p.Verdict)}"))}); nothing to resume"));
        return recorded;
    }

    private async Task<PairVerdict> RunPairAsync(RunFolder folder, ValidationRequest request, FilesystemSpec fs, CaseSpec @case, CancellationToken cancellationToken)
    {
        var policy = request.Policy;
        RateCounts? control = null;
        var failures = new List<string>();
        var looks = new List<LookRecord>();
        // Each side's guests stay booted across the looks of this pair (a boot is 4-8 s under TCG):
        // guest g of a side runs its cell of every look on the same machine, a fresh one only after a crash.
        var kept = new Dictionary<(ValidationSide Side, int Guest), KeptMachine>();
        IMachine MachineFor(ValidationSide side, int guest)
        {
            if (side.Machine is not ISessionMachine sessions) return side.Machine;
            if (!kept.TryGetValue((side, guest), out var machine)) kept[(side, guest)] = machine = new KeptMachine(sessions);
            return machine;
        }
        async Task ReleaseAsync(Func<ValidationSide, bool> which)
        {
            var done = kept.Where(k => which(k.Key.Side)).ToArray();
            foreach (var k in done) kept.Remove(k.Key);
            await Task.WhenAll(done.Select(k => k.Value.DisposeAsync().AsTask()));
        }

        async Task<LookTally> RunLookAsync(LookPlan plan, CancellationToken token)
        {
            // One cell per guest: each is its own boot, so one unlucky boot is one guest's tally.
            var cells = new List<(ValidationSide Side, int Guest, int Repeats, int First)>();
            void Add(ValidationSide side, IReadOnlyList<int> guests, int first)
            {
                for (var g = 0; g < guests.Count; g++) { cells.Add((side, g, guests[g], first)); first += guests[g]; }
            }
            Add(request.Without, plan.Without, plan.WithoutFirstRepeat);
            Add(request.With, plan.With, plan.WithFirstRepeat);
            // The control (e.g. the stock kernel) is a sanity check, not part of the test: first look only.
            if (request.Control is { } c && plan.Look == 1) Add(c, plan.With, 0);

            var results = new CellResult?[cells.Count];
            // A live terminal shows the look as a bar of guest cells done; a plain log gets the look's line at its end.
            var lookClock = System.Diagnostics.Stopwatch.StartNew();
            var cellsDone = 0;
            Progress.WorkProgress Look(bool finished = false) =>
                new($"  {fs.Name}/{@case.Name} look {plan.Look}", "guest cells", cellsDone, cells.Count, lookClock.Elapsed)
                {
                    Estimate = $"{cells.Sum(c => c.Repeats)} repeats over {cells.Count} guests", Finished = finished,
                };
            async Task RunOneAsync(int i)
            {
                results[i] = await RunCellAsync(folder, cells[i].Side, MachineFor(cells[i].Side, cells[i].Guest), fs, @case, plan.Look, cells[i].Guest, cells[i].Repeats, cells[i].First, request.WorkDirectory, request.ResumeFrom is not null, token);
                Interlocked.Increment(ref cellsDone);
                Progress.WorkProgressWriter.Report(_progress, Look(), plainLine: false);
            }
            Progress.WorkProgressWriter.Report(_progress, Look(), plainLine: false);
            if (request.Parallel)
                await Task.WhenAll(Enumerable.Range(0, cells.Count).Select(RunOneAsync));
            else
                for (var i = 0; i < cells.Count; i++)
                    await RunOneAsync(i);
            Progress.WorkProgressWriter.Report(_progress, Look(finished: true), plainLine: false);
            // The control runs in the first look only: its guests power off now.
            if (request.Control is { } ctl && plan.Look == 1) await ReleaseAsync(side => side == ctl);

            var tallies = new List<(ValidationSide Side, GuestTally Tally)>();
            for (var i = 0; i < cells.Count; i++)
            {
                var tally = results[i] is { } cell ? Tally(cell) : new GuestTally(0, 0, 0);
                if (results[i]?.Failure is { } f) failures.Add($"{cells[i].Side.Label} look {plan.Look} guest {cells[i].Guest + 1}: [{f.Kind}] {f.Message}");
                if (cells[i].Side == request.Control) control = (control ?? new RateCounts(0, 0)).Add(RateCounts.OfGuest(tally.Failures, tally.Runs));
                else tallies.Add((cells[i].Side, tally));
            }
            return new LookTally(
                tallies.Where(t => t.Side == request.Without).Select(t => t.Tally).ToArray(),
                tallies.Where(t => t.Side == request.With).Select(t => t.Tally).ToArray());
        }

        void OnLook(LookState state)
        {
            var result = VerdictRules.Explain(state.Call, policy);
            looks.Add(new LookRecord(state.Plan.Look, state.Plan.Without, state.Plan.With, state.Without.Counts, state.With.Counts, control,
                result.Verdict, result.Basis, result.PValue, result.AlphaAtThisLook, result.Bound, result.Reason));
            _progress.WriteLine($"  {fs.Name}/{@case.Name} look {state.Plan.Look}: without {Rate(state.Without)}, with {Rate(state.With)}, " +
                                $"patched rate {result.Bound}" + (control is null ? "" : $", control {control.Failures}/{control.Runs} failed") +
                                $" -> {result.Word} (p={Number(result.PValue)}, alpha/look={Number(result.AlphaAtThisLook)})");
        }

        LoopResult loop;
        try
        {
            loop = await new VerdictLoop(policy).RunAsync(RunLookAsync, OnLook, cancellationToken);
        }
        finally
        {
            await ReleaseAsync(_ => true);
        }
        var verdict = VerdictRules.Explain(loop.Call, policy);
        var reason = verdict.Reason;
        if (loop.End == LoopEnd.Uncountable)
            reason += "; stopped: a kernel keeps ending without counted runs (machine errors; see cells/*/console.log)";
        if (loop.Without.Errored + loop.With.Errored > 0)
            reason += $" ({loop.Without.Errored} unpatched and {loop.With.Errored} patched repeats ended in ERROR and are not counted: {string.Join("; ", failures.Take(3))})";
        return new PairVerdict(fs.Name, @case.Name, verdict.Verdict, verdict.Basis, verdict.Without, verdict.With,
            control is null ? null : RateEstimate.Of(control, policy.Confidence, policy.ResidualConfidence),
            verdict.PValue, verdict.AlphaAtThisLook, verdict.Bound, reason, loop.End,
            loop.Without.Repeats, loop.With.Repeats, loop.Without.Guests, loop.With.Guests, loop.Without.Errored, loop.With.Errored, failures, looks);
    }

    /// <summary>
    /// A cell's repeats as the verdict counts them: FAIL and CRASH are failures, PASS clean, ERROR
    /// apart; SKIP and repeats that never ran count for nothing.
    /// </summary>
    public static GuestTally Tally(CellResult cell) => new(cell.Failed + cell.Crashed, cell.Passed + cell.Failed + cell.Crashed, cell.Errored);

    private async Task<CellResult?> RunCellAsync(RunFolder folder, ValidationSide side, IMachine machine, FilesystemSpec fs, CaseSpec @case, int look, int guest, int repeats, int firstIteration, string workRoot, bool resuming, CancellationToken cancellationToken)
    {
        var cellId = $"{fs.Name}-{@case.Name}-{side.Label}-look{look:D2}-g{guest + 1}";
        var input = new CellInput(cellId, fs.Name, @case.Name, @case.SourceFile, RunExecutor.Sha256(@case.SourceFile), @case.Workload.Seed, repeats)
        {
            FsBlockSize = @case.Workload.FsBlockSize, FileSize = @case.Workload.FileSize,
        };
        // --resume: a cell that ended on its own is the look's record (counts, ERRORs, machine failure) and is
        // kept; a missing or interrupted one runs again whole, with the same iteration numbers (same run tags).
        if (resuming && RunJournal.ReadCell(folder, cellId) is { Interrupted: false } recorded &&
            (recorded.Input.CaseSha256, recorded.Input.Seed, recorded.Input.Repeats) == (input.CaseSha256, input.Seed, input.Repeats))
        {
            _progress.WriteLine($"  {cellId}: recorded before the resume ({recorded.Passed} pass, {recorded.Failed} fail, {recorded.Crashed} crash, {recorded.Errored} error); kept");
            return recorded;
        }
        var (cell, _) = await new CellRunner(machine, time, _progress).RunAsync(folder, input, fs, @case, workRoot, firstIteration, cancellationToken);
        await folder.WriteCellAsync(cell, CancellationToken.None);
        return cell;
    }

    private static string Rate(SideProgress side) => $"{side.Counts.Failures}/{side.Counts.Runs} failed ({side.Guests} guests)";

    private static string Number(double value) => value.ToString("G3", System.Globalization.CultureInfo.InvariantCulture);
}
