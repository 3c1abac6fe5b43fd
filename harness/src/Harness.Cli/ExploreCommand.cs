// `harness explore`: random workloads from the case vocabulary on one kernel and filesystem,
// each failure signature shrunk to a minimal case file. Exit codes: 0 every workload PASS,
// 1 a FAIL or CRASH found, 2 usage or input error, 3 ERROR (machine), 4 nothing decided (SKIP),
// 130 interrupted. A budget that runs out is no interruption: what ran decides.
using System.CommandLine;
using System.Globalization;
using Harness.Explore;
using Harness.Filesystems;
using Harness.Kernels;
using Harness.Machines;
using Harness.Machines.Qemu;
using Harness.Results;
using Harness.Verdicts;
using Harness.Yaml;

namespace Harness.Cli;

public sealed class ExploreCommand(TextWriter stdout, TextWriter stderr, TimeProvider time)
{
    /// <summary>Workloads drawn when neither --workloads nor --budget is given.</summary>
    public const int DefaultWorkloads = 20;

    public Command Create(CancellationToken cancellationToken)
    {
        var machine = new Option<string>("--machine") { Description = "Where workloads run: local (the host kernel) or qemu (a booted --kernel, one boot per workload)", DefaultValueFactory = _ => "local" };
        var kernel = new Option<string>("--kernel") { Description = "qemu: kernel spec by name or path (see 'harness kernels list')", DefaultValueFactory = _ => "debian-6.1-cloud" };
        var fs = new Option<string>("--fs") { Description = $"The filesystem to explore, one of {string.Join(", ", FilesystemCatalog.All.Select(f => f.Name))}", DefaultValueFactory = _ => "ext4" };
        var workloads = new Option<string?>("--workloads") { Description = $"Workloads to draw (1 to 100000; default {DefaultWorkloads} when --budget is not given either)" };
        var budget = DurationOption.Optional("--budget", "Draw workloads until this long has passed (shrinking counts against it; a shrink in progress keeps the smallest case kept so far)");
        var seed = new Option<string?>("--seed") { Description = "Seed of the draws, 0 to 2^64-1 (default: from the clock, printed and recorded); the same seed draws the same workloads" };
        var repeats = new Option<string?>("--repeats") { Description = "Iterations per drawn workload (1 to 100, default 1)" };
        var minRate = new Option<double>("--shrink-min-rate") { Description = "A shrink step is kept only if its failure rate's one-sided lower bound stays above this (0 < r < 1)", DefaultValueFactory = _ => new ShrinkPolicy().MinRate };
        var shrinkRuns = new Option<string?>("--shrink-runs") { Description = $"Most runs of one shrink candidate (5 to 1000, default {new ShrinkPolicy().MaxRuns}, looked at every {new ShrinkPolicy().Batch})" };
        var maxShrinks = new Option<string?>("--max-shrinks") { Description = "Failure signatures to shrink (0 to 100, default 3; 0 records failures without shrinking)" };
        var imageSize = new Option<string>("--image-size") { Description = "Size of each workload's image file", DefaultValueFactory = _ => "512MiB" };
        var results = new Option<string>("--results") { Description = "Results root; the explore gets results/<run-id>/ with explore/ inside", DefaultValueFactory = _ => "results" };
        var cache = CliApp.CacheOption();
        var agent = CliApp.AgentOption();
        var kernelsDir = CliApp.KernelsDirOption();
        var qemu = new QemuCliOptions();

        var command = new Command("explore",
            "Search for corruption: draw random workloads from the case vocabulary (seeded), run each on one kernel and filesystem, " +
            "and shrink each new failure to a minimal case file (results/<run>/explore/reproducers/). " +
            "Exit codes: 0 every workload PASS, 1 a FAIL or CRASH found, 2 usage or input error, 3 ERROR, 4 nothing decided, 130 interrupted.")
        {
            machine, kernel, fs, workloads, budget, seed, repeats, minRate, shrinkRuns, maxShrinks, imageSize, results, cache, agent, kernelsDir,
        };
        foreach (var option in qemu.All) command.Options.Add(option);
        command.SetAction(async (parse, _) =>
        {
            var machineKind = parse.GetValue(machine)!;
            if (machineKind is not ("local" or "qemu"))
                throw new InputException(new InputProblem("--machine", 0, 0, "--machine", $"unknown machine '{machineKind}'; valid: local, qemu"));
            var fsName = parse.GetValue(fs)!.Trim();
            if (fsName.Contains(',', StringComparison.Ordinal))
                throw new InputException(new InputProblem("--fs", 0, 0, "--fs", $"'{fsName}': explore takes one filesystem (run one explore per filesystem)"));
            var filesystem = FilesystemCatalog.Find(fsName);
            var workloadCount = CliApp.Bounded(parse, workloads, 1, 100_000, "each workload keeps its case file and records");
            var budgetValue = parse.GetValue(budget);
            if (workloadCount is null && budgetValue is null) workloadCount = DefaultWorkloads;
            var seedValue = parse.GetValue(seed) is { } seedText ? ParseSeed(seedText) : (ulong)time.GetUtcNow().ToUnixTimeMilliseconds();
            var repeatsValue = CliApp.Bounded(parse, repeats, 1, 100, "iterations per drawn workload") ?? 1;
            var policy = new ShrinkPolicy(MinRate: parse.GetValue(minRate)) { };
            if (!(policy.MinRate > 0 && policy.MinRate < 1))
                throw new InputException(new InputProblem("--shrink-min-rate", 0, 0, "--shrink-min-rate", $"{policy.MinRate} must be strictly between 0 and 1"));
            if (CliApp.Bounded(parse, shrinkRuns, 5, 1000, "runs of one shrink candidate") is { } runs) policy = policy with { MaxRuns = runs };
            var shrinks = CliApp.Bounded(parse, maxShrinks, 0, 100, "failure signatures shrunk") ?? 3;

            var cacheDir = CliApp.CacheDir(parse.GetValue(cache));
            ResultStore.CheckFolder("--cache", cacheDir);
            ResultStore.CheckFolder("--results", parse.GetValue(results)!);
            var agentBinary = AgentBinary.Default(parse.GetValue(agent));
            if (parse.GetValue(agent) is not null && machineKind == "local" && agentBinary.Problem() is { } agentProblem)
                throw new InputException(new InputProblem("--agent", 0, 0, "--agent", agentProblem));
            var imageBytes = CliApp.ImageSize(parse.GetValue(imageSize), Path.Combine(cacheDir, "work"));
            // The drawn workloads fit by construction (WorkloadGenerator.MaxFileSize and the dirt cap); the image must hold the largest.
            var largest = WorkloadGenerator.MaxFileSize + (8L << 20) + Cases.CasePreflight.MetadataAllowance(Math.Max(imageBytes, filesystem.MinImageSize));
            if (largest > Math.Max(imageBytes, filesystem.MinImageSize))
                throw new InputException(new InputProblem("--image-size", 0, 0, "--image-size",
                    $"{parse.GetValue(imageSize)} cannot hold the largest drawn workload on {filesystem.Name} ({ByteSize.Format(largest)} with metadata); use --image-size 128MiB or more"));

            IMachine target;
            string kernelName;
            if (machineKind == "local")
            {
                target = new LocalMachine(new LocalMachineOptions(agentBinary, imageBytes));
                kernelName = $"host {HostInfo.KernelRelease()}";
                if (await LocalMachine.FilesystemProblemAsync([filesystem], cancellationToken) is { } fsProblem)
                {
                    stderr.WriteLine($"harness: local machine: {fsProblem}");
                    return CliApp.ExitInfrastructure;
                }
            }
            else
            {
                var spec = new KernelCatalog(parse.GetValue(kernelsDir)!).Find(parse.GetValue(kernel)!);
                kernelName = spec.Name;
                try
                {
                    var image = await new KernelProvider(cacheDir, stderr).GetAsync(spec, cancellationToken);
                    var setup = qemu.Setup(parse, cacheDir, stderr);
                    target = new QemuMachine(await qemu.PrepareAsync(parse, setup, image, [filesystem], parse.GetValue(agent), imageBytes, cancellationToken), stderr);
                }
                catch (MachineException e)
                {
                    stderr.WriteLine($"harness: qemu machine: {e.Message}");
                    return CliApp.ExitInfrastructure;
                }
            }
            if (await target.CheckAsync(cancellationToken) is { } problem)
            {
                stderr.WriteLine($"harness: {machineKind} machine: {problem}");
                return CliApp.ExitInfrastructure;
            }
            await StaleResources.ReleaseAsync(Path.Combine(cacheDir, "work"), stderr, cancellationToken);
            var commandLine = "harness " + string.Join(' ', parse.Tokens.Select(t => t.Value));
            if (parse.GetValue(seed) is null) commandLine += $" (seed {seedValue.ToString(CultureInfo.InvariantCulture)})";
            var summary = await new Explorer(target, new ResultStore(parse.GetValue(results)!), time, stderr).RunAsync(
                new ExploreRequest(filesystem, seedValue, kernelName, imageBytes, Path.Combine(cacheDir, "work"), commandLine)
                {
                    Workloads = workloadCount, Budget = budgetValue, Repeats = repeatsValue, Shrink = policy, MaxShrinks = shrinks,
                },
                cancellationToken);
            Print(summary.Record);
            stdout.WriteLine($"results: {summary.ResultsPath}");
            // The folder is a run folder (run.json, cells/): the same reports as `run`, every workload and shrink candidate a cell.
            await Reports.ReportWriter.WriteAfterCommandAsync(summary.ResultsPath, stdout, stderr);
            if (summary.Record.Interrupted) return Outcomes.InterruptedExitCode;
            return Outcomes.ExitCode(summary.Outcome);
        });
        return command;
    }

    private static ulong ParseSeed(string text) =>
        ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value
            : throw new InputException(new InputProblem("--seed", 0, 0, "--seed", $"'{text}' is not a whole number from 0 to {ulong.MaxValue}"));

    private void Print(ExploreRecord r)
    {
        stdout.WriteLine($"explore {r.RunId}: seed {r.Seed}, {r.Kernel} / {r.Filesystem}: {r.WorkloadsRun} workload(s), {r.SectorsJudged} sectors judged");
        foreach (var (shape, count) in r.Shapes) stdout.WriteLine($"  {count,5}  {shape}");
        if (r.Failures.Count == 0) stdout.WriteLine("no failure found");
        foreach (var f in r.Failures)
        {
            stdout.WriteLine($"FOUND {f.Signature}: {f.Workloads} workload(s), first workload {f.FirstWorkload}: {f.FirstFinding}");
            if (f.Reproducer is { } p)
                stdout.WriteLine($"  reproducer {p.CaseFile}: {p.Failures}/{p.Runs} failed ({p.RateLower:0.###}..{p.RateUpper:0.###}), {p.IoCount} IO(s), queue depth {p.QueueDepth}" +
                    (p.Reproduced ? "" : " (NOT REPRODUCED: the original workload)") + (p.Interrupted ? " (shrink stopped by the budget)" : ""));
        }
    }
}
