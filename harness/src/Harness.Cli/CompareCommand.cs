// `harness compare`: the same cases on several filesystem setups (cases/setups/setups.yaml), on
// the host kernel or on one or more kernels under QEMU, through the run executor; one table and
// one record (results/<compare-id>/compare.json) summed up from the cells' own records.
using System.CommandLine;
using System.Text.Json;
using Harness.Cases;
using Harness.Compare;
using Harness.Faults;
using Harness.Kernels;
using Harness.Machines;
using Harness.Machines.Qemu;
using Harness.Results;
using Harness.Runs;
using Harness.Setups;
using Harness.Verdicts;
using Harness.Yaml;

namespace Harness.Cli;

public sealed class CompareCommand(TextWriter stdout, TextWriter stderr, TimeProvider time)
{
    public Command Create(CancellationToken cancellationToken)
    {
        var setup = new Option<string[]>("--setup") { Description = "Setups to compare, comma separated, by name in the setups file", Required = true, AllowMultipleArgumentsPerToken = true };
        var setupsFile = new Option<string>("--setups") { Description = "The setups file", DefaultValueFactory = _ => SetupLoader.DefaultFile };
        var cases = new Option<string[]>("--case") { Description = "Cases by name or path, comma separated", DefaultValueFactory = _ => ["seed"], AllowMultipleArgumentsPerToken = true };
        var kernel = new Option<string[]>("--kernel") { Description = "Kernel specs to boot under QEMU, comma separated (implies --machine qemu)", AllowMultipleArgumentsPerToken = true };
        var machine = new Option<string>("--machine") { Description = "local (the host kernel, default without --kernel) or qemu", DefaultValueFactory = _ => "local" };
        var repeats = new Option<string?>("--repeats") { Description = $"Iterations per cell, overriding each case's own 'repeats' (1 to {CliApp.MaxRepeats})" };
        var fault = new Option<string?>("--fault") { Description = $"local: damage every iteration on purpose, to show the table catching it ({string.Join(", ", FaultCatalog.Names)})" };
        var json = new Option<bool>("--json") { Description = "Print the compare record (compare.json) instead of the table" };
        var casesDir = CliApp.CasesDirOption();
        var kernelsDir = CliApp.KernelsDirOption();
        var imageSize = new Option<string>("--image-size") { Description = "Size of each cell's image file", DefaultValueFactory = _ => "512MiB" };
        var results = new Option<string>("--results") { Description = "Results root; each comparison gets results/<compare-id>/ with its runs inside", DefaultValueFactory = _ => "results" };
        var cache = CliApp.CacheOption();
        var agent = CliApp.AgentOption();
        var jobs = new Option<string?>("--jobs") { Description = "Cells at once (qemu default: bounded by cores and memory; local: 1)" };
        var qemuOptions = new QemuCliOptions();

        var command = new Command("compare",
            "Run the same cases on several filesystem setups (mkfs and mount options, block size, disk sectors; see cases/setups/setups.yaml) " +
            "on the host kernel or on kernels under QEMU, and print one table: failure rate with its interval, findings by class, IO errors, IOPS, and what was skipped and why. " +
            "Writes results/<compare-id>/compare.json. Exit codes as 'run': 0 all PASS, 1 some FAIL or CRASH, 2 usage or input error, 3 ERROR, 4 something SKIP, 130 interrupted.")
        {
            setup, setupsFile, cases, kernel, machine, repeats, fault, json, casesDir, kernelsDir, imageSize, results, cache, agent, jobs,
        };
        foreach (var option in qemuOptions.All) command.Options.Add(option);
        command.SetAction(async (parse, _) =>
        {
            var started = time.GetUtcNow();
            var setupNames = CliApp.SplitList(parse.GetValue(setup)).ToArray();
            var caseNames = CliApp.SplitList(parse.GetValue(cases)).ToArray();
            var kernelNames = CliApp.SplitList(parse.GetValue(kernel)).ToArray();
            CliApp.RejectSweptOptions([.. setupNames, .. caseNames, .. kernelNames], "compare");
            var machineKind = kernelNames.Length > 0 ? "qemu" : parse.GetValue(machine)!;
            if (machineKind is not ("local" or "qemu"))
                throw new InputException(new InputProblem("--machine", 0, 0, "--machine", $"unknown machine '{machineKind}'; valid: local, qemu"));
            if (kernelNames.Length > 0 && parse.GetResult(machine) is { Implicit: false } && parse.GetValue(machine) != "qemu")
                throw new InputException(new InputProblem("--machine", 0, 0, "--machine", "--kernel boots kernels under QEMU; drop --machine local or --kernel"));
            if (machineKind == "qemu" && kernelNames.Length == 0) kernelNames = ["debian-6.1-cloud"];
            if (parse.GetValue(fault) is not null && machineKind != "local")
                throw new InputException(new InputProblem("--fault", 0, 0, "--fault", "--fault works with the local machine only"));
            var repeatsValue = CliApp.Bounded(parse, repeats, 1, CliApp.MaxRepeats, "each iteration keeps about 3 MB of reports");
            var jobsValue = CliApp.Bounded(parse, jobs, 1, 256, "cells at once; each needs a machine and an image");
            var setupsPath = parse.GetValue(setupsFile)!;
            var chosen = SetupLoader.Select(SetupLoader.Load(setupsPath), setupNames, setupsPath);
            if (caseNames.Length == 0)
                throw new InputException(new InputProblem("--case", 0, 0, "--case", "names no case; 'harness cases list' shows them"));
            var selected = CliApp.SelectCases(new CaseCatalog(parse.GetValue(casesDir)!), caseNames);
            RunExecutor.CheckUniqueCaseNames(selected);
            var cacheDir = CliApp.CacheDir(parse.GetValue(cache));
            ResultStore.CheckFolder("--cache", cacheDir);
            ResultStore.CheckFolder("--results", parse.GetValue(results)!);
            var imageBytes = CliApp.ImageSize(parse.GetValue(imageSize), Path.Combine(cacheDir, "work"));
            var agentBinary = AgentBinary.Default(parse.GetValue(agent));
            if (parse.GetValue(agent) is not null && machineKind == "local" && agentBinary.Problem() is { } agentProblem)
                throw new InputException(new InputProblem("--agent", 0, 0, "--agent", agentProblem));
            var faultInjector = parse.GetValue(fault) is { } f ? FaultCatalog.Create(f) : null;

            // What a setup cannot take is input: the case's sizes against the setup's block, the image size.
            var problems = (from s in chosen
                            from c in selected
                            let why = s.CaseProblem(c)
                            select why is null
                                ? CasePreflight.Check(s.Apply(c), s.ToFilesystem(), imageBytes)
                                : [new InputProblem(s.SourceFile, s.Line, 0, $"setups.{s.Name}", $"cannot run case {c.Name} ({c.SourceFile}): {why}")]).SelectMany(p => p).ToList();
            if (problems.Count > 0) throw new InputException(problems);

            var store = ResultStore.CheckedCreate(parse.GetValue(results)!, $"{started:yyyyMMdd-HHmmss}-compare-{Environment.ProcessId}", out var compareFolder);
            var commandLine = "harness " + string.Join(' ', parse.Tokens.Select(t => t.Value));
            var record = new CompareRecord(compareFolder.Id, started, null, commandLine, setupsPath, RunExecutorSha(setupsPath), chosen,
                selected.Select(c => c.Name).ToArray(), [], [], null, false);
            await AtomicFile.WriteJsonAsync(Path.Combine(compareFolder.Path, "compare.json"), record, CancellationToken.None);
            // The comparison's own page (report.md, report.html with the rate plot), from the record just written.
            await Reports.ReportWriter.WritePagesAfterCommandAsync(compareFolder.Path, Reports.CompareReport.WriteAsync, stderr, stderr);
            var runStore = new ResultStore(Path.Combine(compareFolder.Path, "runs"));
            var interrupted = false;
            await StaleResources.ReleaseAsync(Path.Combine(cacheDir, "work"), stderr, cancellationToken);

            foreach (var kernelName in machineKind == "local" ? new string?[] { null } : kernelNames)
            {
                if (cancellationToken.IsCancellationRequested) { interrupted = true; break; }
                IMachine target;
                string label;
                int jobCount;
                // Per setup: why this machine cannot give it its filesystem or disk (a SKIP row, not an error).
                var skip = new Dictionary<string, string>();
                if (kernelName is null)
                {
                    target = new LocalMachine(new LocalMachineOptions(agentBinary, imageBytes, null, faultInjector));
                    label = $"host {HostInfo.KernelRelease()}";
                    jobCount = jobsValue ?? 1;
                    foreach (var s in chosen)
                        if (LocalMachine.GeometryProblem(s.Geometry) is { } g) skip[s.Name] = g;
                        else if (await LocalMachine.FilesystemProblemAsync([s.ToFilesystem()], cancellationToken) is { } p) skip[s.Name] = p;
                }
                else
                {
                    var spec = new KernelCatalog(parse.GetValue(kernelsDir)!).Find(kernelName);
                    label = spec.Name;
                    foreach (var s in chosen)
                        if (QemuDisk.Problem(s.Geometry) is { } g) skip[s.Name] = g;
                    var runnable = chosen.Where(s => !skip.ContainsKey(s.Name)).Select(s => s.ToFilesystem()).ToArray();
                    var image = await new KernelProvider(cacheDir, stderr).GetAsync(spec, cancellationToken);
                    var options = await qemuOptions.PrepareAsync(parse, qemuOptions.Setup(parse, cacheDir, stderr), image, runnable.Length > 0 ? runnable : [chosen[0].ToFilesystem()], parse.GetValue(agent), imageBytes, cancellationToken);
                    target = new QemuMachine(options, stderr);
                    jobCount = jobsValue ?? QemuSetup.DefaultJobs(options);
                }
                if (await target.CheckAsync(cancellationToken) is { } problem)
                    throw new MachineException($"{target.Kind} machine: {problem}");

                var rows = new List<CompareRow>();
                var toRun = chosen.Where(s => !skip.ContainsKey(s.Name)).ToArray();
                CompareRun run;
                if (toRun.Length > 0)
                {
                    var summary = await Terminal.LiveProgress.RunAsync(stderr, progress => new RunExecutor(target, runStore, time, progress).RunAsync(
                        new RunRequest(toRun.Select(s => s.ToFilesystem()).ToArray(), selected, repeatsValue, Path.Combine(cacheDir, "work"), commandLine, jobCount),
                        cancellationToken));
                    interrupted |= summary.Record.Interrupted;
                    // Each run folder gets its reports (report.md/html, junit.xml), as after `run`; the line goes with the progress.
                    await Reports.ReportWriter.WriteAfterCommandAsync(summary.ResultsPath, stderr, stderr);
                    run = new CompareRun(label, target.Kind, summary.RunId, Path.GetRelativePath(compareFolder.Path, summary.ResultsPath), summary.Record.Outcome);
                    var folder = new RunFolder(summary.ResultsPath);
                    foreach (var cell in summary.Record.Cells)
                    {
                        var s = toRun.First(x => x.Name == cell.Input.Setup);
                        var c = selected.First(x => x.Name == cell.Input.Case);
                        rows.Add(CompareRows.FromCell(label, s, s.EffectiveBlockSize(c), cell, RunJournal.ReadIterations(folder, cell.Input.CellId)));
                    }
                }
                else run = new CompareRun(label, target.Kind, null, null, null);
                foreach (var s in chosen.Where(s => skip.ContainsKey(s.Name)))
                    foreach (var c in selected)
                        rows.Add(CompareRows.Skipped(label, s, c.Name, s.EffectiveBlockSize(c), repeatsValue ?? c.Repeats, skip[s.Name]));
                // Table order: as the setups and cases were asked for.
                rows.Sort((a, b) => Order(a).CompareTo(Order(b)));
                record = record with { Runs = [.. record.Runs, run], Rows = [.. record.Rows, .. rows] };
                await AtomicFile.WriteJsonAsync(Path.Combine(compareFolder.Path, "compare.json"), record, CancellationToken.None);
            // The comparison's own page (report.md, report.html with the rate plot), from the record just written.
            await Reports.ReportWriter.WritePagesAfterCommandAsync(compareFolder.Path, Reports.CompareReport.WriteAsync, stderr, stderr);
            }

            var planned = chosen.Count * selected.Length * (machineKind == "local" ? 1 : kernelNames.Length);
            record = record with
            {
                Finished = time.GetUtcNow(),
                Interrupted = interrupted || record.Rows.Count < planned,
                // A planned row that never ran leaves the comparison undecided at best: never PASS.
                Outcome = Outcomes.Combine(record.Rows.Select(r => r.Outcome).Concat(record.Rows.Count < planned ? [Outcome.Skip] : [])),
            };
            await AtomicFile.WriteJsonAsync(Path.Combine(compareFolder.Path, "compare.json"), record, CancellationToken.None);
            // The comparison's own page (report.md, report.html with the rate plot), from the record just written.
            await Reports.ReportWriter.WritePagesAfterCommandAsync(compareFolder.Path, Reports.CompareReport.WriteAsync, stderr, stderr);
            if (parse.GetValue(json)) stdout.WriteLine(JsonSerializer.Serialize(record, ResultStore.Json));
            else
            {
                stdout.Write(CompareTable.Render(record));
                stdout.WriteLine($"results: {compareFolder.Path}");
            }
            if (record.Interrupted && cancellationToken.IsCancellationRequested) return Outcomes.InterruptedExitCode;
            return Outcomes.ExitCode(record.Outcome ?? Outcome.Error);

            int Order(CompareRow r) =>
                Array.FindIndex(chosen.ToArray(), s => s.Name == r.Setup) * 10_000 + Array.FindIndex(selected, c => c.Name == r.Case);
        });
        return command;
    }

    private static string RunExecutorSha(string path) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)));
}
