// The `harness` command tree. Exit codes of `run`: 0 every planned cell ran and passed, 1 some
// FAIL or CRASH, 2 usage or input error, 3 ERROR (machine, mkfs, agent), 4 nothing decided
// (SKIP), 130 interrupted (SIGINT, SIGTERM, SIGHUP). README "Exit codes" has every command's.
using System.CommandLine;
using Harness.Cases;
using Harness.Faults;
using Harness.Filesystems;
using Harness.Guest;
using Harness.Kernels;
using Harness.Machines;
using Harness.Machines.Docker;
using Harness.Machines.Qemu;
using Harness.Machines.Swarm;
using Harness.Results;
using Harness.Runs;
using Harness.Verdicts;
using Harness.Yaml;

namespace Harness.Cli;

public sealed class CliApp(TextWriter stdout, TextWriter stderr, TimeProvider time)
{
    public const int ExitUsage = 2;
    public const int ExitInfrastructure = 3;

    /// <summary>The step runner `bisect` and `bisect test` use instead of building and booting (tests; null: the real one).</summary>
    public Func<BisectSetup, CancellationToken, Task<Harness.Bisection.IBisectStepRunner>>? BisectRunnerFactory { get; init; }

    /// <summary>Most iterations one cell may plan: each keeps about 3 MB of reports in the results folder.</summary>
    public const int MaxRepeats = 10_000;

    /// <summary>
    /// The one error boundary: every failure leaves as one line (or one line per input problem)
    /// naming the option, file or field, with exit 2 for bad input and 3 for the machine or disk;
    /// `--debug` adds the stack. Nothing else prints an exception.
    /// </summary>
    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var debug = args.Contains("--debug");
        try
        {
            return await RunUnguardedAsync(args, cancellationToken);
        }
        catch (InputException e)
        {
            stderr.WriteLine($"harness: {e.Message}");
            Stack(e);
            return ExitUsage;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Interrupted before a run record existed (fetching, building, booting the probe).
            stderr.WriteLine("harness: interrupted");
            return Outcomes.InterruptedExitCode;
        }
        catch (MachineException e)
        {
            stderr.WriteLine($"harness: {OneLine(e.Message)}");
            Stack(e);
            return ExitInfrastructure;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"harness: {OneLine(e.Message)}; check that path's disk (free space: df -h, inodes: df -i) and permissions");
            Stack(e);
            return ExitInfrastructure;
        }
        catch (Exception e)
        {
            stderr.WriteLine($"harness: internal error ({e.GetType().Name}): {OneLine(e.Message)}; rerun with --debug for the stack and report it");
            Stack(e);
            return ExitInfrastructure;
        }

        void Stack(Exception e)
        {
            if (debug) stderr.WriteLine(e.ToString());
        }
    }

    private static string OneLine(string text) => string.Join(" | ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private async Task<int> RunUnguardedAsync(string[] args, CancellationToken cancellationToken)
    {
        var root = new RootCommand(
            "Kernel-patch regression harness: concurrent unaligned O_DIRECT AIO writes, checked sector by sector against a golden model.\n" +
            "Exit codes (run): 0 all PASS, 1 some FAIL or CRASH, 2 usage or input error, 3 ERROR, 4 nothing decided (SKIP), 130 interrupted.");
        root.Subcommands.Add(RunCommand(cancellationToken));
        root.Subcommands.Add(CasesCommand());
        root.Subcommands.Add(KernelsCommand(cancellationToken));
        root.Subcommands.Add(new ValidateCommand(stdout, stderr, time).Create(cancellationToken));
        root.Subcommands.Add(new CacheCommand(stdout, stderr, time).Create(cancellationToken));
        root.Subcommands.Add(new CompareCommand(stdout, stderr, time).Create(cancellationToken));
        root.Subcommands.Add(new BenchCommand(stdout, time).Create(cancellationToken));
        root.Subcommands.Add(new DockerCommand(stdout, stderr).Create(cancellationToken));
        root.Subcommands.Add(new DockerCommand(stdout, stderr).Doctor(cancellationToken));
        root.Subcommands.Add(new SwarmCommand(stdout, stderr).Task(cancellationToken));
        root.Subcommands.Add(new ExploreCommand(stdout, stderr, time).Create(cancellationToken));
        var reports = new ReportCommand(stdout, stderr);
        root.Subcommands.Add(reports.CreateReport(cancellationToken));
        root.Subcommands.Add(reports.CreateRerun(rerunArgs => RunUnguardedAsync(["run", .. rerunArgs], cancellationToken)));
        root.Subcommands.Add(new BisectCommand(stdout, stderr, time, BisectRunnerFactory).Create(cancellationToken));
        root.Subcommands.Add(new NightlyCommand(stdout, stderr, time, BisectRunnerFactory).Create(cancellationToken));
        root.Options.Add(new Option<bool>("--debug") { Description = "On an error, also print the stack trace", Recursive = true });

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors) stderr.WriteLine($"harness: {ParseErrorText(error.Message)}");
            stderr.WriteLine("Try 'harness --help'.");
            // git bisect run reads 2 as "bad": the oracle's usage errors must abort git instead.
            return args.Length >= 2 && args[0] == "bisect" && args[1] == "test" ? Harness.Bisection.OracleExit.Abort : ExitUsage;
        }
        // ProcessTerminationTimeout = null: Program owns SIGINT/SIGTERM/SIGHUP. System.CommandLine's
        // own handler would return 130/143 after 2 s while machines are still being stopped and
        // unmounted, and the process would exit under them.
        return await parse.InvokeAsync(new InvocationConfiguration
        {
            Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null,
        }, cancellationToken);
    }

    /// <summary>System.CommandLine names .NET types ("System.Nullable`1[System.Int32]"); users need words.</summary>
    public static string ParseErrorText(string message)
    {
        var m = System.Text.RegularExpressions.Regex.Match(message, @"^Cannot parse argument '(?<value>.*)' for option '(?<option>[^']*)' as expected type '(?<type>[^']*)'");
        if (!m.Success) return message;
        var (value, option, type) = (m.Groups["value"].Value, m.Groups["option"].Value, m.Groups["type"].Value);
        if (type.Contains("Int32", StringComparison.Ordinal))
            return value.TrimStart('-').All(char.IsAsciiDigit) && value.TrimStart('-').Length > 0
                ? $"{option}: {value} is out of range (max {int.MaxValue})"
                : $"{option}: '{value}' is not a whole number";
        if (type.Contains("Double", StringComparison.Ordinal)) return $"{option}: '{value}' is not a number";
        if (type.Contains("Boolean", StringComparison.Ordinal)) return $"{option}: '{value}' is not true or false";
        return $"{option}: '{value}' is not valid here";
    }

    /// <summary>A whole-number option within bounds, or null when not given; the error says the range and why.</summary>
    internal static int? Bounded(ParseResult parse, Option<string?> option, int min, int max, string why)
    {
        if (parse.GetValue(option) is not { } text) return null;
        if (!System.Numerics.BigInteger.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var value))
            throw new InputException(new InputProblem(option.Name, 0, 0, option.Name, $"'{text}' is not a whole number"));
        if (value < min || value > max)
            throw new InputException(new InputProblem(option.Name, 0, 0, option.Name, $"{text} is out of range (min {min}, max {max}: {why})"));
        return (int)value;
    }

    /// <summary>--image-size: units, a floor, and the free space of the folder the images go to.</summary>
    internal static long ImageSize(string? text, string workFolder)
    {
        if (!ByteSize.TryParse(text, out var bytes, out var error))
            throw new InputException(new InputProblem("--image-size", 0, 0, "--image-size", error));
        if (bytes < (16L << 20))
            throw new InputException(new InputProblem("--image-size", 0, 0, "--image-size", $"{text} is below the least image size, 16MiB"));
        var existing = Path.GetFullPath(workFolder);
        while (!Directory.Exists(existing) && Path.GetDirectoryName(existing) is { } parent) existing = parent;
        var free = new DriveInfo(existing).AvailableFreeSpace;
        // The image is sparse, but a case may fill it: a size the disk cannot hold fails part-way.
        if (bytes > free)
            throw new InputException(new InputProblem("--image-size", 0, 0, "--image-size",
                $"{text} is more than the {ByteSize.Format(free >> 30 << 30)} free where images are made ({existing}); lower --image-size or free space (or point --cache elsewhere)"));
        return bytes;
    }

    /// <summary>
    /// Values of a list option that start with '-' are options the parser did not know, swept
    /// into the list (`--fs ext4 --bogus-opt 3`): name them as unknown options.
    /// </summary>
    internal static void RejectSweptOptions(IEnumerable<string> values, string command)
    {
        if (values.FirstOrDefault(v => v.StartsWith('-')) is { } unknown)
            throw new InputException(new InputProblem(unknown, 0, 0, unknown, $"unknown option; 'harness {command} --help' lists the options"));
    }

    /// <summary>
    /// Cases by name or path, each file once. A name two files in the cases folder share is an
    /// error naming both: a run must never pick one silently.
    /// </summary>
    internal static CaseSpec[] SelectCases(CaseCatalog catalog, IReadOnlyList<string> namesOrPaths)
    {
        var selected = new List<CaseSpec>();
        foreach (var item in namesOrPaths)
        {
            var found = catalog.Find(item);
            if (!CaseCatalog.IsPath(item))
                RunExecutor.CheckUniqueCaseNames(catalog.LoadAll().Where(c => c.Name == found.Name).ToArray());
            if (!selected.Any(c => Path.GetFullPath(c.SourceFile) == Path.GetFullPath(found.SourceFile))) selected.Add(found);
        }
        return selected.ToArray();
    }

    internal static Option<string> CasesDirOption() => new("--cases-dir")
    {
        Description = "Folder of case files (*.yaml); an fio job file is given by path (--case job.fio)",
        DefaultValueFactory = _ => "cases",
    };

    private Command RunCommand(CancellationToken cancellationToken)
    {
        var machine = new Option<string>("--machine") { Description = "Where cells run: local (the host kernel), qemu (a booted --kernel), docker (that QEMU in a container per cell), docker-host (a container per cell on the Docker host's own kernel) or swarm (cells as shards of a Docker Swarm ReplicatedJob)", DefaultValueFactory = _ => "local" };
        var fs = new Option<string[]>("--fs")
        {
            Description = $"Filesystems, comma separated ({string.Join(", ", FilesystemCatalog.All.Select(f => f.Name))})",
            DefaultValueFactory = _ => ["ext4,xfs,btrfs"],
            AllowMultipleArgumentsPerToken = true,
        };
        var cases = new Option<string[]>("--case")
        {
            Description = "Cases by name or path (a YAML case or an fio job file, *.fio), comma separated (see 'harness cases list')",
            DefaultValueFactory = _ => ["seed"],
            AllowMultipleArgumentsPerToken = true,
        };
        var casesDir = CasesDirOption();
        var repeats = new Option<string?>("--repeats") { Description = $"Iterations per cell, overriding each case's own 'repeats' (1 to {MaxRepeats})" };
        var dir = new Option<string?>("--dir") { Description = "Run in this directory (a filesystem you mounted) instead of a fresh loop-mounted image per cell" };
        var imageSize = new Option<string>("--image-size") { Description = "Size of each cell's image file", DefaultValueFactory = _ => "512MiB" };
        var results = new Option<string>("--results") { Description = "Results root; each run gets results/<run-id>/", DefaultValueFactory = _ => "results" };
        var cache = CacheOption();
        var agent = AgentOption();
        var patch = new PatchCliOptions("qemu: patches on top of --kernel's series (built like 'validate --patch'; what 'rerun' uses for a validate cell with the patch)");
        var fault = new Option<string?>("--fault") { Description = $"Deliberately damage the data or the device around the write phase, to prove detection; each fault must produce its own finding class ({string.Join(", ", FaultCatalog.Names)})" };

        var kernel = new Option<string>("--kernel") { Description = "qemu: kernel spec by name or path (see 'harness kernels list')", DefaultValueFactory = _ => "debian-6.1-cloud" };
        var kernelsDir = KernelsDirOption();
        var jobs = new Option<string?>("--jobs") { Description = "Cells at once (qemu default: bounded by cores and memory; local: 1)" };
        var qemuOptions = new QemuCliOptions();
        var swarmOptions = new SwarmCliOptions();
        var resume = new Option<string?>("--resume") { Description = "Finish an interrupted run: results/<run-id>; runs only its missing cells and iterations, with the run's own options (only --budget may be added)" };
        var budget = DurationOption.Optional("--budget", "Stop cleanly after this long: no new cell starts, running cells stop between iterations; the outcome is what finished");
        var json = JsonOutput.Option();

        var command = new Command("run", "Run cases on filesystems on a machine; print a table and write results/<run-id>/")
        {
            machine, fs, cases, casesDir, repeats, dir, imageSize, results, cache, agent, fault,
            kernel, kernelsDir, jobs, resume, budget, json,
        };
        foreach (var option in qemuOptions.All.Concat(patch.All).Concat(swarmOptions.All)) command.Options.Add(option);
        command.SetAction(async (given, _) =>
        {
            // --resume: the run's own recorded arguments rebuild the same matrix; RunExecutor checks it is the same.
            var parse = given.GetValue(resume) is { } resumeFrom ? ResumeParse(command, given, resumeFrom, resume, budget) : given;
            var machineKind = parse.GetValue(machine)!;
            if (machineKind is not ("local" or "qemu" or "docker" or "docker-host" or "swarm"))
                throw new InputException(new InputProblem("--machine", 0, 0, "--machine", $"unknown machine '{machineKind}'; valid: local, qemu, docker, docker-host, swarm"));
            var jobsValue = Bounded(parse, jobs, 1, 256, "cells at once; each needs a machine and an image");
            swarmOptions.RefuseUnlessSwarm(parse, machineKind);
            var nodeSpecs = swarmOptions.Specs(parse);
            var repeatsValue = Bounded(parse, repeats, 1, MaxRepeats, "each iteration keeps about 3 MB of reports");
            RejectSweptOptions(SplitList(parse.GetValue(fs)).Concat(SplitList(parse.GetValue(cases))), "run");
            if (machineKind is "local" or "docker-host" && patch.Given(parse))
                throw new InputException(new InputProblem("--patch", 0, 0, "--patch", $"works with --machine qemu only (the {machineKind} machine runs the host kernel)"));
            if (machineKind == "docker-host" && parse.GetValue(dir) is not null)
                throw new InputException(new InputProblem("--dir", 0, 0, "--dir", "works with --machine local only (docker-host formats a loop image per cell inside its container)"));
            if (parse.GetValue(dir) is { } d0 && (parse.GetValue(fault) is not null || machineKind != "local"))
                throw new InputException(new InputProblem("--dir", 0, 0, "--dir", machineKind != "local"
                    ? "--dir and --fault work with --machine local only"
                    : "--fault needs an image (it corrupts the image between write and read-back); drop --dir"));
            if (machineKind == "local" && parse.GetValue(dir) is { } d1 && !Directory.Exists(d1))
                throw new InputException(new InputProblem("--dir", 0, 0, "--dir", File.Exists(d1) ? $"{d1} is a file; pass a folder on the filesystem to test" : $"{d1}: no such directory"));
            var cacheDir = CacheDir(parse.GetValue(cache));
            ResultStore.CheckFolder("--cache", cacheDir);
            ResultStore.CheckFolder("--results", parse.GetValue(results)!);
            var agentBinary = AgentBinary.Default(parse.GetValue(agent));
            if (parse.GetValue(agent) is not null && machineKind == "local" && agentBinary.Problem() is { } agentProblem)
                throw new InputException(new InputProblem("--agent", 0, 0, "--agent", agentProblem));
            // Only an image the harness makes needs room; --dir uses the user's filesystem as it is.
            var imageBytes = parse.GetValue(dir) is null
                ? ImageSize(parse.GetValue(imageSize), Path.Combine(cacheDir, "work"))
                : ByteSize.TryParse(parse.GetValue(imageSize), out var unused) ? unused : 0;
            // An empty matrix ran nothing: never an exit 0.
            var fsNames = SplitList(parse.GetValue(fs)).ToArray();
            if (fsNames.Length == 0)
                throw new InputException(new InputProblem("--fs", 0, 0, "--fs", $"names no filesystem; valid: {string.Join(", ", FilesystemCatalog.All.Select(f => f.Name))}"));
            var caseNames = SplitList(parse.GetValue(cases)).ToArray();
            if (caseNames.Length == 0)
                throw new InputException(new InputProblem("--case", 0, 0, "--case", "names no case; 'harness cases list' shows them"));
            var catalog = new CaseCatalog(parse.GetValue(casesDir)!);
            var selected = SelectCases(catalog, caseNames);
            RunExecutor.CheckUniqueCaseNames(selected);
            string? mounted = null;
            FilesystemSpec[] filesystems;
            if (machineKind == "local" && parse.GetValue(dir) is { } directory)
            {
                // Cells are named after what is mounted there, never after --fs taken on trust.
                mounted = await MountedFilesystem.DetectAsync(directory, cancellationToken);
                if (parse.GetResult(fs) is { Implicit: false } && (fsNames.Length != 1 || fsNames[0] != mounted))
                    throw new InputException(new InputProblem("--fs", 0, 0, "--fs",
                        $"--dir {directory} is on {mounted} (findmnt), not {string.Join(",", fsNames)}; drop --fs (the mounted type is used) or pass --fs {mounted}"));
                filesystems = [MountedFilesystem.SpecFor(mounted)];
            }
            else
            {
                filesystems = fsNames.Select(FilesystemCatalog.Find).ToArray();
            }
            var faultInjector = parse.GetValue(fault) is { } f ? FaultCatalog.Create(f) : null;
            // Images the harness makes: a case that cannot fit is bad input, before anything runs.
            if (parse.GetValue(dir) is null) CasePreflight.ThrowIfAny(selected, filesystems, imageBytes);
            var shardCount = machineKind == "swarm" ? swarmOptions.ShardCount(parse, filesystems.Length * selected.Length) : 0;

            if (machineKind == "docker-host" && faultInjector is Harness.Faults.IArmedFault armed)
                throw new InputException(new InputProblem("--fault", 0, 0, "--fault", $"{armed.Name} keeps the journal on a second loop device and fails the data image's writes on the host; not built for docker-host: use --machine local"));
            // Docker first: a missing engine is found in a second (exit 3 with the fix), before any kernel work.
            using var docker = machineKind is "docker" or "docker-host" or "swarm" ? await DockerEngine.ConnectAsync(null, cancellationToken) : null;
            if (machineKind == "swarm" && await Harness.Machines.Swarm.SwarmMachine.SwarmProblemAsync(docker!, cancellationToken) is { } swarmProblem)
            {
                stderr.WriteLine($"harness: swarm machine: {swarmProblem}");
                return ExitInfrastructure;
            }
            // The other nodes' engines, checked before any kernel work (an unknown node: exit 2; no answer: exit 3).
            using var swarmNodes = machineKind == "swarm" ? await SwarmNodes.ResolveAsync(docker!, nodeSpecs, cancellationToken) : new SwarmNodeSet([]);
            IMachine target;
            int jobCount;
            if (machineKind == "local")
            {
                target = new LocalMachine(new LocalMachineOptions(agentBinary, imageBytes, parse.GetValue(dir), faultInjector));
                jobCount = jobsValue ?? 1;
                // The host kernel must be able to mount each filesystem, before any cell starts.
                if (parse.GetValue(dir) is null && await LocalMachine.FilesystemProblemAsync(filesystems, cancellationToken) is { } fsProblem)
                {
                    stderr.WriteLine($"harness: local machine: {fsProblem}");
                    return ExitInfrastructure;
                }
            }
            else if (machineKind == "docker-host")
            {
                try
                {
                    target = await DockerSetup.HostMachineAsync(docker!, cacheDir, parse.GetValue(agent), imageBytes, faultInjector, stderr, cancellationToken);
                }
                catch (MachineException e)
                {
                    stderr.WriteLine($"harness: docker-host machine: {e.Message}");
                    return ExitInfrastructure;
                }
                jobCount = jobsValue ?? 1;
            }
            else
            {
                if (parse.GetValue(dir) is not null || faultInjector is not null)
                    throw new InputException(new InputProblem("--machine", 0, 0, "--machine", "--dir and --fault work with --machine local and docker-host only"));
                var spec = await patch.ApplyAsync(parse, new KernelCatalog(parse.GetValue(kernelsDir)!).Find(parse.GetValue(kernel)!), cacheDir, cancellationToken);
                var setup = qemuOptions.Setup(parse, cacheDir, stderr);
                try
                {
                    var image = await new KernelProvider(cacheDir, stderr).GetAsync(spec, cancellationToken);
                    var options = await qemuOptions.PrepareAsync(parse, setup, image, filesystems, parse.GetValue(agent), imageBytes, cancellationToken);
                    if (machineKind == "swarm")
                    {
                        // Every cell asks at once: the swarm machine launches them as one job; --jobs is the job's MaxConcurrent.
                        var cellCount = filesystems.Length * selected.Length;
                        target = await SwarmSetup.MachineAsync(docker!, cacheDir, options, cellCount, shardCount,
                            jobsValue ?? QemuSetup.DefaultJobs(options), swarmNodes.Nodes, stderr, cancellationToken);
                        jobCount = cellCount;
                    }
                    else
                    {
                        var runtime = docker is null ? null : await DockerSetup.RuntimeAsync(docker, cacheDir, options, stderr, cancellationToken);
                        target = new QemuMachine(options, stderr, runtime);
                        jobCount = jobsValue ?? QemuSetup.DefaultJobs(options);
                    }
                }
                catch (MachineException e)
                {
                    stderr.WriteLine($"harness: {machineKind} machine: {e.Message}");
                    return ExitInfrastructure;
                }
            }
            if (await target.CheckAsync(cancellationToken) is { } problem)
            {
                stderr.WriteLine($"harness: {machineKind} machine: {problem}");
                return ExitInfrastructure;
            }
            // Runs killed earlier (kill -9, a crash) left mounts, loop devices and images: release them first.
            await StaleResources.ReleaseAsync(Path.Combine(cacheDir, "work"), stderr, cancellationToken);
            // Live progress on a terminal, plain lines otherwise (Terminal/LiveProgress.cs).
            var summary = await Terminal.LiveProgress.RunAsync(stderr, progress => new RunExecutor(target, new ResultStore(parse.GetValue(results)!), time, progress).RunAsync(
                new RunRequest(filesystems, selected, repeatsValue, Path.Combine(cacheDir, "work"),
                    "harness " + string.Join(' ', parse.Tokens.Select(t => t.Value)), jobCount)
                {
                    MountedFilesystem = mounted,
                    Arguments = RunArguments(parse),
                    Budget = given.GetValue(budget),
                    ResumeFrom = given.GetValue(resume),
                },
                cancellationToken));
            // The swarm machine removes its service and image after the last cell's records: wait for it.
            if (target is IAsyncDisposable disposable) await disposable.DisposeAsync();
            if (given.GetValue(json)) JsonOutput.Write(stdout, summary.Record);
            else
            {
                stdout.Write(RunTable.Render(summary.Record));
                stdout.WriteLine($"results: {summary.ResultsPath}");
            }
            // Also after an interruption: the reports show what finished.
            // With --json stdout holds the record alone: the reports line goes to stderr.
            await Reports.ReportWriter.WriteAfterCommandAsync(summary.ResultsPath, given.GetValue(json) ? stderr : stdout, stderr);
            // 0 only when every planned cell ran and passed; an interrupted run has its own code. A
            // budget that ran out is no interruption: the outcome of what finished decides (4 when nothing did).
            if (summary.Record.Interrupted && !summary.Record.BudgetReached) return Outcomes.InterruptedExitCode;
            return Outcomes.ExitCode(summary.Record.Outcome ?? Outcome.Error);
        });
        return command;
    }

    /// <summary>The `run` arguments as typed, without the command word: what --resume parses again.</summary>
    private static string[] RunArguments(ParseResult parse) =>
        parse.Tokens.SkipWhile(t => t.Type == System.CommandLine.Parsing.TokenType.Command).Select(t => t.Value).ToArray();

    /// <summary>
    /// A resumed run or validation keeps its recorded options: any option given beside --resume and
    /// --budget would make the finished part and the rest two different experiments.
    /// </summary>
    internal static void RefuseChangedOptions(ParseResult given, string folder, string why, Option resume, Option budget)
    {
        var extra = given.CommandResult.Children.OfType<System.CommandLine.Parsing.OptionResult>()
            .Where(o => !o.Implicit && o.Option != resume && o.Option != budget && o.Option.Name != "--json").Select(o => o.Option.Name).ToArray();
        if (extra.Length > 0)
            throw new InputException(new InputProblem(folder, 0, 0, "--resume",
                $"{string.Join(", ", extra)} cannot be changed when resuming: {why}; only --budget may be added"));
    }

    /// <summary>
    /// The parse of the run being resumed: its recorded arguments, from the same working directory
    /// (they may hold relative paths). Any other option beside --resume and --budget is refused,
    /// since it would make the finished part and the rest two different runs.
    /// </summary>
    private static ParseResult ResumeParse(Command command, ParseResult given, string folder, Option resume, Option budget)
    {
        InputException Problem(string message) => new(new InputProblem(folder, 0, 0, "--resume", message));
        RefuseChangedOptions(given, folder, "the run's options come from its run.json", resume, budget);
        if (!File.Exists(Path.Combine(folder, "run.json")))
            throw Problem("no run.json here; pass a run folder, results/<run-id>");
        RunRecord recorded;
        try { recorded = RunJournal.ReadRun(folder); }
        catch (RecordFormatException e) { throw new InputException(new InputProblem(e.RecordPath, 0, 0, "--resume", e.Message[(e.RecordPath.Length + 2)..])); }
        if (recorded.Arguments.Count == 0)
            throw Problem($"run {recorded.RunId} was recorded without its arguments (format version 0, before --resume existed); it cannot be resumed, start a new run");
        if (recorded.WorkingDirectory is { } cwd && Path.GetFullPath(cwd) != Path.GetFullPath(Environment.CurrentDirectory))
            throw Problem($"run {recorded.RunId} was started in {cwd}, and its arguments may be relative to it; cd {cwd} and resume from there");
        var parse = command.Parse(recorded.Arguments.ToArray());
        if (parse.Errors.Count > 0)
            throw Problem($"its recorded arguments no longer parse ({parse.Errors[0].Message}); start a new run");
        return parse;
    }

    private Command CasesCommand()
    {
        var casesDir = CasesDirOption();
        var listJson = JsonOutput.Option();
        var list = new Command("list", "List the cases: name, pattern, preparation, IOs, queue depth, description") { casesDir, listJson };
        list.SetAction(parse =>
        {
            var scan = new CaseCatalog(parse.GetValue(casesDir)!).Scan();
            var all = scan.Cases;
            if (parse.GetValue(listJson))
            {
                JsonOutput.Write(stdout, new { cases = all, broken = scan.Broken.Select(b => new { file = b.File, reason = b.Reason }) });
                return 0;
            }
            var width = all.Count == 0 ? 4 : all.Max(c => c.Name.Length);
            foreach (var c in all)
                stdout.WriteLine($"{c.Name.PadRight(width)}  {CaseText.Word(c.Workload.Pattern),-16} {CaseText.Word(c.Workload.Preparation),-9} {c.Workload.IoCount,6} IOs  QD {c.Workload.QueueDepth,-3}  {c.Description}");
            // A draft that does not validate is listed, not fatal: the other cases still run.
            foreach (var b in scan.Broken)
                stdout.WriteLine($"{Path.GetFileNameWithoutExtension(b.File).PadRight(width)}  BROKEN: {b.Reason}");
            return 0;
        });

        var name = new Argument<string>("case") { Description = "Case name or path to a case file" };
        var casesDirShow = CasesDirOption();
        var showJson = JsonOutput.Option();
        var show = new Command("show", "Validate one case and show every field, defaults filled in; for an fio job file (*.fio), the case YAML it becomes") { name, casesDirShow, showJson };
        show.SetAction(parse =>
        {
            var wanted = parse.GetValue(name)!;
            if (CaseCatalog.IsPath(wanted) && FioCase.IsJobFile(wanted))
            {
                if (!File.Exists(wanted)) throw new InputException(new InputProblem(wanted, 0, 0, "(file)", "no such fio job file"));
                var mapped = FioCase.Map(FioJobParser.Parse(wanted, YamlFields.ReadBounded(wanted, wanted)));
                if (parse.GetValue(showJson)) JsonOutput.Write(stdout, mapped.Case);
                else stdout.Write(mapped.Yaml);
                return 0;
            }
            var found = new CaseCatalog(parse.GetValue(casesDirShow)!).Find(wanted);
            if (parse.GetValue(showJson)) JsonOutput.Write(stdout, found);
            else stdout.Write(CaseText.Render(found));
            return 0;
        });
        return new Command("cases", "List and inspect case files") { list, show };
    }

    /// <summary>--cache, as every command that runs or builds things takes it.</summary>
    internal static Option<string?> CacheOption(string what = "Cache and scratch folder") =>
        new("--cache") { Description = $"{what} (default $HARNESS_CACHE or .cache)" };

    /// <summary>--agent, for the commands that run workloads.</summary>
    internal static Option<string?> AgentOption() =>
        new("--agent") { Description = "Agent binary to use (default: the one built beside harness, or $HARNESS_AGENT)" };

    internal static Option<string> KernelsDirOption() => new("--kernels-dir")
    {
        Description = "Folder of kernel specs (*.yaml)",
        DefaultValueFactory = _ => "kernels",
    };

    private Command KernelsCommand(CancellationToken cancellationToken)
    {
        var dirList = KernelsDirOption();
        var available = new Option<bool>("--available") { Description = "Also ask apt which package versions each Debian spec could fetch" };
        var kernelsJson = JsonOutput.Option();
        var list = new Command("list", "List kernel specs: name, source, description") { dirList, available, kernelsJson };
        list.SetAction(async (parse, _) =>
        {
            var specs = new KernelCatalog(parse.GetValue(dirList)!).LoadAll();
            var fetcher = new KernelFetcher(Path.Combine(CacheDir(null), "kernels"), stderr);
            var listed = new List<object>();
            foreach (var k in specs)
            {
                var source = k.Source switch
                {
                    DebianPackageSource d => $"debian {d.PackagePattern}",
                    DebianSourceTree t => $"build {t.Package}{Patches(k)}",
                    GitTree g => $"build git {g.Repository} {g.Ref}{Patches(k)}",
                    LocalImageSource l => $"image {l.BzImage}",
                    _ => k.Source.ToString(),
                };
                var versions = parse.GetValue(available) ? await fetcher.ListAvailableAsync(k, cancellationToken) : null;
                // The source is a family of types: its own runtime type, not the base, goes to JSON.
                listed.Add(new { name = k.Name, description = k.Description, file = k.SourceFile, source, sourceDetail = (object)k.Source, available = versions });
                if (parse.GetValue(kernelsJson)) continue;
                stdout.WriteLine($"{k.Name,-22} {source}  {k.Description}");
                foreach (var v in versions ?? []) stdout.WriteLine($"{"",-22}   {v}");
            }
            if (parse.GetValue(kernelsJson)) JsonOutput.Write(stdout, listed);
            return 0;
        });

        var name = new Argument<string>("kernel") { Description = "Kernel spec name or path" };
        var dirFetch = KernelsDirOption();
        var cacheOption = CacheOption("Cache folder");
        var fetch = new Command("fetch", "Fetch (apt-get download + unpack + depmod) a kernel into the cache; print what was fetched") { name, dirFetch, cacheOption };
        fetch.SetAction(async (parse, _) =>
        {
            var spec = new KernelCatalog(parse.GetValue(dirFetch)!).Find(parse.GetValue(name)!);
            try
            {
                var image = await new KernelFetcher(Path.Combine(CacheDir(parse.GetValue(cacheOption)), "kernels"), stderr).FetchAsync(spec, cancellationToken);
                stdout.WriteLine($"{image.Name}: {image.Release} ({image.Origin})");
                stdout.WriteLine($"  image:   {image.BzImage}");
                stdout.WriteLine($"  modules: {image.ModulesDirectory ?? "(none)"}");
                return 0;
            }
            catch (MachineException e)
            {
                stderr.WriteLine($"harness: kernels fetch: {e.Message}");
                return ExitInfrastructure;
            }
        });
        var buildName = new Argument<string>("kernel") { Description = "Kernel spec name or path (a spec with a built source: debian-source or git)" };
        var dirBuild = KernelsDirOption();
        var cacheBuild = CacheOption("Cache folder");
        var patch = new PatchCliOptions("Patches on top of the spec's series");
        var build = new Command("build", "Build a kernel from source (patches, config, incremental, cached); print the image") { buildName, dirBuild, cacheBuild };
        foreach (var option in patch.All) build.Options.Add(option);
        build.SetAction(async (parse, _) =>
        {
            var spec = new KernelCatalog(parse.GetValue(dirBuild)!).Find(parse.GetValue(buildName)!);
            if (spec.Build is null)
                throw new InputException(new InputProblem(spec.SourceFile, 0, 0, "source", "not built from source; use 'harness kernels fetch'"));
            spec = await patch.ApplyAsync(parse, spec, CacheDir(parse.GetValue(cacheBuild)), cancellationToken);
            try
            {
                // Live progress (files compiled of the estimate, ETA) on a terminal, plain lines otherwise.
                var built = await Terminal.LiveProgress.RunAsync(stderr, progress => new KernelBuilder(CacheDir(parse.GetValue(cacheBuild)), progress).BuildDetailedAsync(spec, cancellationToken));
                stdout.WriteLine($"{spec.Name}: {built.Release} ({built.Origin})");
                stdout.WriteLine($"  image: {built.BzImage}");
                stdout.WriteLine($"  {(built.Cached ? "cached" : $"built in {built.BuildSeconds:F0} s")}; log: {built.BuildLog}");
                foreach (var applied in built.Patches) stdout.WriteLine($"  patch {applied.Sha256[..12]} {applied.Name}");
                return 0;
            }
            catch (MachineException e)
            {
                stderr.WriteLine($"harness: kernels build: {e.Message}");
                return ExitInfrastructure;
            }
        });
        return new Command("kernels", "List, fetch and build kernels to boot under QEMU") { list, fetch, build };
    }

    private static string Patches(KernelSpec k) =>
        k.Build is { Patches.Count: > 0 } b ? " + " + string.Join(" + ", b.Patches.Select(Path.GetFileNameWithoutExtension)) : "";

    internal static string CacheDir(string? option) =>
        Path.GetFullPath(option ?? Environment.GetEnvironmentVariable("HARNESS_CACHE") ?? ".cache");

    internal static IEnumerable<string> SplitList(string[]? values) =>
        (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Distinct();
}
