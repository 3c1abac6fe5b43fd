// `harness nightly --plan nightly.yaml`: run a plan's matrix (kernels × filesystems or setups ×
// cases, each cell on `guests` guests), record what every kernel resolved to tonight, compare each
// cell with the last nightly of the same plan (validate's statistics, Nightly/NightlyComparer.cs),
// and bisect a cell that REGRESSES when its kernel changed. One folder per nightly under results/:
// nightly.json, baseline.json (a copy of what it was compared with), runs/<run-id>/ (ordinary run
// folders, one per kernel) and bisect/<bisect-id>/bisect.json.
using System.CommandLine;
using System.Text.Json;
using Harness.Bisection;
using Harness.Cases;
using Harness.Filesystems;
using Harness.Kernels;
using Harness.Machines;
using Harness.Machines.Qemu;
using Harness.Nightly;
using Harness.Results;
using Harness.Runs;
using Harness.Setups;
using Harness.Verdicts;
using Harness.Yaml;

namespace Harness.Cli;

/// <summary>`harness nightly`: the plan's matrix, the comparison with the baseline, and the bisections it starts.</summary>
public sealed class NightlyCommand(TextWriter stdout, TextWriter stderr, TimeProvider time, Func<BisectSetup, CancellationToken, Task<IBisectStepRunner>>? runnerFactory = null)
{
    public Command Create(CancellationToken cancellationToken)
    {
        var plan = new Option<string>("--plan") { Description = "The nightly plan (cases/nightly/debian-cloud.yaml): kernels, filesystems or setups, cases, repeats", Required = true };
        var baseline = new Option<string?>("--baseline") { Description = "Compare with this nightly (a results/<nightly-id> folder or its nightly.json, e.g. last night's CI artifact) instead of the newest one of the same plan under --results" };
        var noBisect = new Option<bool>("--no-bisect") { Description = "Compare only: do not bisect a cell that regressed" };
        var json = new Option<bool>("--json") { Description = "Print the nightly record (nightly.json) instead of the table" };
        var results = new Option<string>("--results") { Description = "Results root: the nightly gets results/<nightly-id>/, and the baseline is looked for here", DefaultValueFactory = _ => "results" };
        var setupsFile = new Option<string>("--setups") { Description = "The setups file a plan's setups: are named in (unless the plan gives setups-file:)", DefaultValueFactory = _ => SetupLoader.DefaultFile };
        var imageSize = new Option<string>("--image-size") { Description = "Size of each cell's image file", DefaultValueFactory = _ => "512MiB" };
        var jobs = new Option<string?>("--jobs") { Description = "Cells at once (qemu default: bounded by cores and memory; local: 1)" };
        var casesDir = CliApp.CasesDirOption();
        var kernelsDir = CliApp.KernelsDirOption();
        var cache = CliApp.CacheOption();
        var agent = CliApp.AgentOption();
        var qemuOptions = new QemuCliOptions();
        var command = new Command("nightly",
            "Run a nightly plan's matrix, record the kernels it resolved to (newest Debian packages, git commits), compare every cell with the last nightly " +
            "of the same plan (name and content hash) using validate's statistics (REGRESSES / FIXES / SAME / UNDECIDED), and bisect a cell that REGRESSES " +
            "between the two kernels (package versions or commits). Writes results/<nightly-id>/nightly.json. Exit codes: 0 no regression (SAME, FIXES, or the " +
            "first nightly of its plan), 1 some cell REGRESSES, 2 usage or input error, 3 infrastructure (a kernel could not run, a cell counted no run), " +
            "4 some cell UNDECIDED, 130 interrupted.")
        {
            plan, baseline, noBisect, json, results, setupsFile, imageSize, jobs, casesDir, kernelsDir, cache, agent,
        };
        foreach (var option in qemuOptions.All) command.Options.Add(option);
        command.SetAction(async (parse, _) =>
        {
            var started = time.GetUtcNow();
            var thePlan = NightlyPlanLoader.Load(parse.GetValue(plan)!, parse.GetValue(casesDir)!, parse.GetValue(kernelsDir)!, parse.GetValue(setupsFile)!);
            var cacheDir = CliApp.CacheDir(parse.GetValue(cache));
            ResultStore.CheckFolder("--cache", cacheDir);
            var resultsRoot = parse.GetValue(results)!;
            ResultStore.CheckFolder("--results", resultsRoot);
            var jobsValue = CliApp.Bounded(parse, jobs, 1, 256, "cells at once; each needs a machine and an image");
            var imageBytes = CliApp.ImageSize(parse.GetValue(imageSize), Path.Combine(cacheDir, "work"));
            var agentBinary = AgentBinary.Default(parse.GetValue(agent));
            CasePreflight.ThrowIfAny(thePlan.Cases, thePlan.Filesystems, imageBytes);
            var setupProblems = (from fs in thePlan.Filesystems where fs.Setup is not null
                                 from c in thePlan.Cases
                                 let why = fs.Setup!.CaseProblem(c)
                                 where why is not null
                                 select new InputProblem(thePlan.SourceFile, 0, 0, "setups", $"setup {fs.CellName} cannot run case {c.Name}: {why}")).ToArray();
            if (setupProblems.Length > 0) throw new InputException(setupProblems);

            // The baseline is found before tonight's folder exists, so tonight never compares with itself.
            var found = parse.GetValue(baseline) is { } given
                ? NightlyBaseline.Import(given, thePlan.Name, thePlan.Sha256)
                : NightlyBaseline.FindLatest(resultsRoot, thePlan.Name, thePlan.Sha256, null, stderr);
            var store = ResultStore.CheckedCreate(resultsRoot, $"{started:yyyyMMdd-HHmmss}-nightly-{Environment.ProcessId}", out var folder);
            var recordPath = Path.Combine(folder.Path, NightlyBaseline.RecordName);
            var commandLine = "harness " + string.Join(' ', parse.Tokens.Select(t => t.Value));
            var baselineRef = found is { } f ? new NightlyBaselineRef(f.Record.NightlyId, f.Path, parse.GetValue(baseline) is not null, f.Record.Started) : null;
            var record = new NightlyRecord(folder.Id, started, null, commandLine, thePlan.Name, Path.GetFullPath(thePlan.SourceFile), thePlan.Sha256, thePlan.Policy,
                baselineRef, [], [], [], [], [], false, null, null);
            await AtomicFile.WriteJsonAsync(recordPath, record, CancellationToken.None);
            // The nightly keeps what it was compared with: an imported baseline from a throwaway runner stays auditable.
            if (found is { } kept) await AtomicFile.WriteJsonAsync(Path.Combine(folder.Path, "baseline.json"), kept.Record, CancellationToken.None);
            stderr.WriteLine($"nightly {folder.Id}: plan {thePlan.Name} ({thePlan.Sha256[..12]}), {thePlan.Cells} cell(s) × {thePlan.Repeats} repeats on {thePlan.Guests} guests; " +
                             (baselineRef is null ? "no baseline yet (first nightly of this plan)" : $"baseline {baselineRef.NightlyId}{(baselineRef.Imported ? " (imported)" : "")}"));
            await StaleResources.ReleaseAsync(Path.Combine(cacheDir, "work"), stderr, cancellationToken);

            var runStore = new ResultStore(Path.Combine(folder.Path, "runs"));
            var kernels = new List<NightlyKernel>();
            var runs = new List<NightlyRun>();
            var cells = new List<NightlyCell>();
            var interrupted = false;
            var qemuSetup = qemuOptions.Setup(parse, cacheDir, stderr);
            foreach (var k in thePlan.Kernels)
            {
                if (cancellationToken.IsCancellationRequested) { interrupted = true; break; }
                NightlyKernel identity;
                IMachine target;
                int jobCount;
                try
                {
                    (identity, target, jobCount) = await PrepareAsync(k, thePlan, parse, qemuOptions, qemuSetup, cacheDir, agentBinary, imageBytes, jobsValue, cancellationToken);
                }
                catch (MachineException e)
                {
                    // Tonight's kernel could not be had: its cells say so as ERROR (no counted run), the rest of the plan goes on.
                    var why = e.Message.Split('\n')[0];
                    stderr.WriteLine($"nightly: kernel {k.Name}: {why}");
                    identity = new NightlyKernel(k.Name, k.BisectWith, "unknown", "", "") { Error = why };
                    kernels.Add(identity);
                    runs.Add(new NightlyRun(k.Name, null, null, Outcome.Error, why));
                    foreach (var fs in thePlan.Filesystems)
                        foreach (var c in thePlan.Cases)
                            cells.Add(new NightlyCell(k.Name, fs.CellName, c.Name, identity.Identity, [], new RateCounts(0, 0), 0, 0, Outcome.Error, why));
                    record = record with { Kernels = kernels.ToArray(), Runs = runs.ToArray(), Cells = cells.ToArray() };
                    await AtomicFile.WriteJsonAsync(recordPath, record, CancellationToken.None);
                    continue;
                }
                kernels.Add(identity);
                stderr.WriteLine($"nightly: kernel {k.Name} is {identity.Identity} ({identity.Origin})");

                // Each cell runs on `guests` guests (cells of their own, one boot each), as validate's sides do:
                // REGRESSES needs failures on two of them.
                var guestCases = thePlan.Cases.SelectMany(c => Enumerable.Range(1, thePlan.Guests)
                    .Select(g => c with { Name = $"{c.Name}-g{g}", Repeats = thePlan.Repeats / thePlan.Guests + (g <= thePlan.Repeats % thePlan.Guests ? 1 : 0) })).ToArray();
                var summary = await Terminal.LiveProgress.RunAsync(stderr, progress => new RunExecutor(target, runStore, time, progress).RunAsync(
                    new RunRequest(thePlan.Filesystems, guestCases, null, Path.Combine(cacheDir, "work"), commandLine, jobCount), cancellationToken));
                interrupted |= summary.Record.Interrupted;
                await Reports.ReportWriter.WriteAfterCommandAsync(summary.ResultsPath, stderr, stderr);
                runs.Add(new NightlyRun(k.Name, summary.RunId, Path.GetRelativePath(folder.Path, summary.ResultsPath), summary.Record.Outcome, null));
                foreach (var fs in thePlan.Filesystems)
                    foreach (var c in thePlan.Cases)
                    {
                        var guests = summary.Record.Cells.Where(x => x.Input.Filesystem == fs.Name && (x.Input.Setup ?? x.Input.Filesystem) == fs.CellName
                                                                     && x.Input.Case.StartsWith(c.Name + "-g", StringComparison.Ordinal)
                                                                     && int.TryParse(x.Input.Case[(c.Name.Length + 2)..], out var guestNumber) && guestNumber >= 1).ToArray();
                        cells.Add(NightlyComparer.CellOf(k.Name, fs.CellName, c.Name, identity.Identity, guests, thePlan.Guests));
                    }
                record = record with { Kernels = kernels.ToArray(), Runs = runs.ToArray(), Cells = cells.ToArray() };
                await AtomicFile.WriteJsonAsync(recordPath, record, CancellationToken.None);
                if (summary.Record.Interrupted && cancellationToken.IsCancellationRequested) break;
            }

            var comparisons = NightlyComparer.Compare(thePlan.Policy, found?.Record, cells);
            record = record with { Comparisons = comparisons };
            await AtomicFile.WriteJsonAsync(recordPath, record, CancellationToken.None);
            var bisections = new List<NightlyBisection>();
            if (!interrupted && found is { } b && comparisons.Any(c => c.Word == NightlyWord.Regresses))
            {
                if (parse.GetValue(noBisect))
                    bisections.AddRange(comparisons.Where(c => c.Word == NightlyWord.Regresses).Select(c =>
                        new NightlyBisection(c.Kernel, c.Setup, c.Case, c.BaselineKernel ?? "", c.TonightKernel, null, null, null, null, "--no-bisect")));
                else
                {
                    var policy = new BisectionPolicy(Probability: thePlan.BisectProbability, MaxRuns: thePlan.BisectMaxRuns);
                    var bisector = new NightlyBisector(new ResultStore(Path.Combine(folder.Path, "bisect")), policy,
                        (target, token) => BisectRunnerAsync(target, thePlan, parse, qemuOptions, qemuSetup, cacheDir, imageBytes, token), time, stderr);
                    try
                    {
                        bisections.AddRange(await bisector.RunAsync(b.Record, kernels, cells, comparisons, commandLine, cancellationToken));
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        interrupted = true;
                    }
                }
            }
            var exit = interrupted ? Outcomes.InterruptedExitCode : NightlyComparer.ExitCode(comparisons);
            record = record with
            {
                Bisections = bisections,
                Finished = time.GetUtcNow(),
                Interrupted = interrupted,
                ExitCode = exit,
                Summary = Summary(comparisons, found is not null, interrupted),
            };
            await AtomicFile.WriteJsonAsync(recordPath, record, CancellationToken.None);
            if (parse.GetValue(json)) stdout.WriteLine(JsonSerializer.Serialize(record, ResultStore.Json));
            else
            {
                stdout.Write(NightlyTable.Render(record));
                stdout.WriteLine($"results: {recordPath}");
            }
            return exit;
        });
        return command;
    }

    private static string Summary(IReadOnlyList<NightlyComparison> comparisons, bool hadBaseline, bool interrupted)
    {
        var counts = string.Join(", ", comparisons.GroupBy(c => c.Word).OrderBy(g => g.Key).Select(g => $"{g.Count()} {NightlyTable.Word(g.Key)}"));
        var head = interrupted ? "interrupted (finished cells kept; not a baseline)" : !hadBaseline ? "first nightly of this plan: nothing to compare with" : "compared with the baseline";
        return $"{head}: {counts}";
    }

    /// <summary>Tonight's kernel: resolved (newest package, the ref's commit), its machine and how many cells at once.</summary>
    private async Task<(NightlyKernel, IMachine, int)> PrepareAsync(NightlyKernelPlan k, NightlyPlan plan, ParseResult parse, QemuCliOptions qemuOptions, QemuSetup qemuSetup,
        string cacheDir, AgentBinary agentBinary, long imageBytes, int? jobs, CancellationToken cancellationToken)
    {
        if (k.Spec is null)
        {
            var release = HostInfo.KernelRelease();
            if (await LocalMachine.FilesystemProblemAsync(plan.Filesystems, cancellationToken) is { } problem) throw new MachineException(problem);
            foreach (var fs in plan.Filesystems)
                if (LocalMachine.GeometryProblem(fs.Geometry) is { } g) throw new MachineException($"setup {fs.CellName}: {g}");
            if (agentBinary.Problem() is { } agentProblem) throw new InputException(new InputProblem("--agent", 0, 0, "--agent", agentProblem));
            return (new NightlyKernel(k.Name, BisectWith.None, $"host {release}", release, $"host kernel {release}"),
                new LocalMachine(new LocalMachineOptions(agentBinary, imageBytes, null, null)), jobs ?? 1);
        }
        foreach (var fs in plan.Filesystems)
            if (QemuDisk.Problem(fs.Geometry) is { } g) throw new MachineException($"setup {fs.CellName}: {g}");
        var spec = k.Spec;
        string? commit = null;
        if (spec.Source is GitTree tree)
        {
            // The ref is resolved once and that commit is built, so a branch that moves during the build
            // cannot make the recorded identity differ from what ran.
            commit = await GitRange.ResolveRefAsync(tree.Repository, tree.Ref, "git", cancellationToken);
            spec = spec with { Source = tree with { Ref = commit } };
        }
        var image = await new KernelProvider(cacheDir, stderr).GetAsync(spec, cancellationToken);
        var identity = new NightlyKernel(k.Name, k.BisectWith, $"{image.Origin} {image.Release}", image.Release, image.Origin);
        switch (spec.Source)
        {
            case DebianPackageSource debian:
                // KernelFetcher's origin is "debian <package> <version>".
                var parts = image.Origin.Split(' ');
                identity = identity with { Identity = $"{parts[1]}={parts[2]}", Package = parts[1], Version = parts[2], PackagePattern = debian.PackagePattern };
                break;
            case GitTree git:
                identity = identity with { Identity = commit!, Tree = git.Repository, Commit = commit };
                break;
        }
        var options = await qemuOptions.PrepareAsync(parse, qemuSetup, image, plan.Filesystems, parse.GetValue<string?>("--agent"), imageBytes, cancellationToken);
        return (identity, new QemuMachine(options, stderr), jobs ?? QemuSetup.DefaultJobs(options));
    }

    /// <summary>A step runner for a nightly's bisection: the test's fake when given, else builds or fetches and boots under QEMU.</summary>
    private async Task<IBisectStepRunner> BisectRunnerAsync(NightlyBisectTarget target, NightlyPlan plan, ParseResult parse, QemuCliOptions qemuOptions, QemuSetup qemuSetup,
        string cacheDir, long imageBytes, CancellationToken cancellationToken)
    {
        var k = plan.Kernels.First(x => x.Name == target.Tonight.Name);
        var fs = plan.Filesystems.First(x => x.CellName == target.Cell.Setup);
        var @case = plan.Cases.First(x => x.Name == target.Cell.Case);
        var fsForCase = fs.Setup?.Apply(@case) ?? @case;
        var setup = new BisectSetup(target.Range.Tree, fs, fsForCase, cacheDir, parse) { Series = k.BisectWith == BisectWith.PackageSeries ? k.Spec : null };
        if (runnerFactory is not null) return await runnerFactory(setup, cancellationToken);
        return new QemuBisectRunner(setup, k.Spec!, (image, token) => qemuOptions.PrepareAsync(parse, qemuSetup, image, [fs], parse.GetValue<string?>("--agent"), imageBytes, token), time, stderr);
    }
}
