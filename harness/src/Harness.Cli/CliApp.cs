// The `harness` command tree. Exit codes: 0 all pass, 1 corruption found, 2 usage or input
// error, 3 infrastructure error (machine, mkfs, agent).
using System.CommandLine;
using Harness.Cases;
using Harness.Faults;
using Harness.Filesystems;
using Harness.Machines;
using Harness.Results;
using Harness.Runs;
using Harness.Verdicts;
using Harness.Yaml;

namespace Harness.Cli;

public sealed class CliApp(TextWriter stdout, TextWriter stderr, TimeProvider time)
{
    public const int ExitUsage = 2;
    public const int ExitInfrastructure = 3;

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var root = new RootCommand(
            "Kernel-patch regression harness: concurrent unaligned O_DIRECT AIO writes, checked sector by sector against a golden model.\n" +
            "Exit codes: 0 all pass, 1 corruption found, 2 usage or input error, 3 infrastructure error.");
        root.Subcommands.Add(RunCommand(cancellationToken));
        root.Subcommands.Add(CasesCommand());

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors) stderr.WriteLine($"harness: {error.Message}");
            stderr.WriteLine("Try 'harness --help'.");
            return ExitUsage;
        }
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false }, cancellationToken);
        }
        catch (InputException e)
        {
            stderr.WriteLine($"harness: {e.Message}");
            return ExitUsage;
        }
    }

    private static Option<string> CasesDirOption() => new("--cases-dir")
    {
        Description = "Folder of case files (*.yaml)",
        DefaultValueFactory = _ => "cases",
    };

    private Command RunCommand(CancellationToken cancellationToken)
    {
        var machine = new Option<string>("--machine") { Description = "Where cells run: local (the host kernel)", DefaultValueFactory = _ => "local" };
        var fs = new Option<string[]>("--fs")
        {
            Description = $"Filesystems, comma separated ({string.Join(", ", FilesystemCatalog.All.Select(f => f.Name))})",
            DefaultValueFactory = _ => ["ext4,xfs,btrfs"],
            AllowMultipleArgumentsPerToken = true,
        };
        var cases = new Option<string[]>("--case")
        {
            Description = "Cases by name or path, comma separated (see 'harness cases list')",
            DefaultValueFactory = _ => ["seed"],
            AllowMultipleArgumentsPerToken = true,
        };
        var casesDir = CasesDirOption();
        var repeats = new Option<int?>("--repeats") { Description = "Iterations per cell, overriding each case's own 'repeats'" };
        var dir = new Option<string?>("--dir") { Description = "Run in this directory (a filesystem you mounted) instead of a fresh loop-mounted image per cell" };
        var imageSize = new Option<string>("--image-size") { Description = "Size of each cell's image file", DefaultValueFactory = _ => "512MiB" };
        var results = new Option<string>("--results") { Description = "Results root; each run gets results/<run-id>/", DefaultValueFactory = _ => "results" };
        var cache = new Option<string?>("--cache") { Description = "Cache and scratch folder (default $HARNESS_CACHE or .cache)" };
        var agent = new Option<string?>("--agent") { Description = "Agent binary to use (default: the one built beside harness, or $HARNESS_AGENT)" };
        var fault = new Option<string?>("--fault") { Description = $"Deliberately corrupt the image between write and read-back, to prove detection ({string.Join(", ", FaultCatalog.Names)})" };

        var command = new Command("run", "Run cases on filesystems on a machine; print a table and write results/<run-id>/")
        {
            machine, fs, cases, casesDir, repeats, dir, imageSize, results, cache, agent, fault,
        };
        command.SetAction(async (parse, _) =>
        {
            var machineKind = parse.GetValue(machine)!;
            if (machineKind != "local")
                throw new InputException(new InputProblem("--machine", 0, 0, "--machine", $"unknown machine '{machineKind}'; valid: local"));
            if (parse.GetValue(repeats) is < 1)
                throw new InputException(new InputProblem("--repeats", 0, 0, "--repeats", "must be at least 1"));
            if (!ByteSize.TryParse(parse.GetValue(imageSize), out var imageBytes) || imageBytes < (16L << 20))
                throw new InputException(new InputProblem("--image-size", 0, 0, "--image-size", $"'{parse.GetValue(imageSize)}' is not a size of at least 16MiB"));
            var filesystems = SplitList(parse.GetValue(fs)).Select(FilesystemCatalog.Find).ToArray();
            var catalog = new CaseCatalog(parse.GetValue(casesDir)!);
            var selected = SplitList(parse.GetValue(cases)).Select(catalog.Find).ToArray();
            var faultInjector = parse.GetValue(fault) is { } f ? FaultCatalog.Create(f) : null;
            var cacheDir = Path.GetFullPath(parse.GetValue(cache) ?? Environment.GetEnvironmentVariable("HARNESS_CACHE") ?? ".cache");

            var local = new LocalMachine(new LocalMachineOptions(AgentBinary.Default(parse.GetValue(agent)), imageBytes, parse.GetValue(dir), faultInjector));
            if (await local.CheckAsync(cancellationToken) is { } problem)
            {
                stderr.WriteLine($"harness: local machine: {problem}");
                return ExitInfrastructure;
            }
            var executor = new RunExecutor(local, new ResultStore(parse.GetValue(results)!), time, stderr);
            var summary = await executor.RunAsync(
                new RunRequest(filesystems, selected, parse.GetValue(repeats), Path.Combine(cacheDir, "work"), "harness " + string.Join(' ', parse.Tokens.Select(t => t.Value))),
                cancellationToken);
            stdout.Write(RunTable.Render(summary.Record));
            stdout.WriteLine($"results: {summary.ResultsPath}");
            return Outcomes.ExitCode(summary.Record.Outcome ?? Outcome.Error);
        });
        return command;
    }

    private Command CasesCommand()
    {
        var casesDir = CasesDirOption();
        var list = new Command("list", "List the cases: name, pattern, preparation, IOs, queue depth, description") { casesDir };
        list.SetAction(parse =>
        {
            var all = new CaseCatalog(parse.GetValue(casesDir)!).LoadAll();
            var width = all.Count == 0 ? 4 : all.Max(c => c.Name.Length);
            foreach (var c in all)
                stdout.WriteLine($"{c.Name.PadRight(width)}  {CaseText.Word(c.Workload.Pattern),-16} {CaseText.Word(c.Workload.Preparation),-9} {c.Workload.IoCount,6} IOs  QD {c.Workload.QueueDepth,-3}  {c.Description}");
            return 0;
        });

        var name = new Argument<string>("case") { Description = "Case name or path to a case file" };
        var casesDirShow = CasesDirOption();
        var show = new Command("show", "Validate one case and show every field, defaults filled in") { name, casesDirShow };
        show.SetAction(parse =>
        {
            stdout.Write(CaseText.Render(new CaseCatalog(parse.GetValue(casesDirShow)!).Find(parse.GetValue(name)!)));
            return 0;
        });
        return new Command("cases", "List and inspect case files") { list, show };
    }

    private static IEnumerable<string> SplitList(string[]? values) =>
        (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Distinct();
}
