// `harness validate`: build the kernel without and with the patch under test, run the cases
// on both under QEMU in batches until the statistics decide, print the verdicts.
using System.CommandLine;
using Harness.Cases;
using Harness.Filesystems;
using Harness.Kernels;
using Harness.Machines;
using Harness.Machines.Qemu;
using Harness.Results;
using Harness.Validation;
using Harness.Verdicts;
using Harness.Yaml;

namespace Harness.Cli;

public sealed class ValidateCommand(TextWriter stdout, TextWriter stderr, TimeProvider time)
{
    public Command Create(CancellationToken cancellationToken)
    {
        // Required unless --resume (then it comes from validation.json): checked in the action.
        var kernel = new Option<string?>("--kernel") { Description = "Kernel spec WITHOUT the patch (its own patch series is the baseline); required unless --resume" };
        var patch = new Option<string[]>("--patch")
        {
            Description = "The patch under test, applied on top of --kernel's series; a series: repeat it or give a comma list (applied in order), " +
                          "or an mbox from a mailing list (applied like git am: by [PATCH n/m], the 0/m cover letter skipped)",
        };
        var patchRange = new Option<string[]>("--patch-range") { Description = "A series from a git tree, TREE:A..B (the commits after A up to B, format-patch'd), applied after any --patch" };
        var withKernel = new Option<string?>("--with-kernel") { Description = "Instead of --patch: a kernel spec that has the fix" };
        var control = new Option<string?>("--control") { Description = "A third kernel run alongside (for example stock linux-6.1)" };
        var fs = new Option<string[]>("--fs") { Description = "Filesystems, comma separated", DefaultValueFactory = _ => ["ocfs2"], AllowMultipleArgumentsPerToken = true };
        var cases = new Option<string[]>("--case") { Description = "Cases, comma separated (default seed-quick: the seed pattern at 511 shared blocks, made for validate)", DefaultValueFactory = _ => ["seed-quick"], AllowMultipleArgumentsPerToken = true };
        var batch = new Option<int>("--batch") { Description = "Repeats per kernel per look, split over --guests guests (one boot each)", DefaultValueFactory = _ => 10 };
        var maxResidual = new Option<double>("--max-residual")
        {
            Description = "FIXES needs the patched failure rate's one-sided 95 % Clopper-Pearson upper bound at or below this " +
                          $"(0.05: {Statistics.CleanRunsForUpperBound(0.05)} clean patched runs for one (fs, case) pair, {Statistics.CleanRunsForUpperBound(0.05, 0.975)} each for two; " +
                          $"0.3: {Statistics.CleanRunsForUpperBound(0.3)}). NOT REPRODUCED needs the same bound on the unpatched side",
            DefaultValueFactory = _ => 0.05,
        };
        // Replaced by --max-residual; kept hidden so an old command line gets a clear error, not "unrecognized".
        var minWith = new Option<int?>("--min-with") { Description = "Removed: use --max-residual", Hidden = true };
        var guests = new Option<int>("--guests") { Description = "Guests (boots) per kernel per look, at least 2, so one unlucky boot cannot decide a verdict", DefaultValueFactory = _ => 2 };
        var maxRepeats = new Option<int>("--max-repeats") { Description = "Cap on repeats per kernel, never exceeded (the last look is trimmed)", DefaultValueFactory = _ => 200 };
        var alpha = new Option<double>("--alpha") { Description = "Overall false FIXES (and false REGRESSES) rate, split over the looks and the (fs, case) pairs (Bonferroni)", DefaultValueFactory = _ => 0.01 };
        var confidence = new Option<double>("--confidence") { Description = "Confidence of the printed two-sided Clopper-Pearson intervals (display only)", DefaultValueFactory = _ => 0.95 };
        var sequential = new Option<bool>("--sequential") { Description = "Boot one kernel at a time (default: the kernels of a look run side by side)" };
        var casesDir = CliApp.CasesDirOption();
        var kernelsDir = CliApp.KernelsDirOption();
        var imageSize = new Option<string>("--image-size") { Description = "Size of each test disk", DefaultValueFactory = _ => "512MiB" };
        var results = new Option<string>("--results") { Description = "Results root", DefaultValueFactory = _ => "results" };
        var cache = CliApp.CacheOption("Cache folder");
        var agent = new Option<string?>("--agent") { Description = "NativeAOT agent binary (default .cache/agent/harness-agent)" };
        var qemu = new QemuCliOptions();
        var budget = DurationOption.Optional("--budget", "Stop the looks after this long; a pair not decided by then is INCONCLUSIVE with its partial counts");
        var json = JsonOutput.Option();
        var machine = new Option<string>("--machine") { Description = "Where the guests' QEMU runs: qemu (on the host) or docker (each guest's QEMU in its own container, as `run --machine docker`)", DefaultValueFactory = _ => "qemu" };
        machine.AcceptOnlyFromAmong("qemu", "docker");
        var resume = new Option<string?>("--resume") { Description = "Finish an interrupted validation: results/<run-id>; decided pairs are kept, the pair in progress continues from its recorded looks, with the validation's own options (only --budget may be added)" };

        var command = new Command("validate",
            "Does this patch fix the corruption? Builds the kernel without and with it, runs the cases under QEMU in batches, " +
            "and prints FIXES, REGRESSES, NO CHANGE, NOT REPRODUCED or INCONCLUSIVE with failure rates and bounds. " +
            "Exit codes: 0 FIXES, 1 REGRESSES, 2 usage, 3 infrastructure, 4 INCONCLUSIVE, 5 NO CHANGE, 6 NOT REPRODUCED, 130 interrupted; " +
            "with several (fs, case) pairs the first that applies of 1, 3, 4, 5, 0, 6 (FIXES on some pairs and NOT REPRODUCED on the rest is 0).")
        {
            kernel, patch, patchRange, withKernel, control, fs, cases, batch, maxResidual, minWith, guests, maxRepeats, alpha, confidence, sequential,
            casesDir, kernelsDir, imageSize, results, cache, agent, budget, resume, json, machine,
        };
        foreach (var option in qemu.All) command.Options.Add(option);

        command.SetAction(async (given, _) =>
        {
            // --resume: the validation's own recorded arguments rebuild the same request; PatchValidator checks it is the same.
            var parse = given.GetValue(resume) is { } resumeFrom ? ResumeParse(command, given, resumeFrom, resume, budget) : given;
            if (parse.GetValue(kernel) is null)
                throw new InputException(new InputProblem("--kernel", 0, 0, "--kernel", "--kernel <spec> is required (the kernel without the patch), unless --resume results/<run-id>"));
            var patchFiles = PatchSeriesReader.SplitList(parse.GetValue(patch) ?? []);
            var patchRanges = PatchSeriesReader.SplitList(parse.GetValue(patchRange) ?? []);
            var patched = patchFiles.Count + patchRanges.Count > 0;
            if (patched == (parse.GetValue(withKernel) is not null))
                throw new InputException(new InputProblem("--patch", 0, 0, "--patch", "give exactly one of --patch <file> (or --patch-range) or --with-kernel <spec>"));
            if (patchFiles.FirstOrDefault(f => !File.Exists(f)) is { } p)
                throw new InputException(new InputProblem(p, 0, 0, "--patch", "no such patch file"));
            if (parse.GetValue(minWith) is { } oldMin)
                throw new InputException(new InputProblem("--min-with", 0, 0, "--min-with",
                    $"--min-with {oldMin} was removed: FIXES now needs the patched failure rate's one-sided 95 % upper bound ≤ --max-residual " +
                    $"(default 0.05, {Statistics.CleanRunsForUpperBound(0.05)} clean runs); use --max-residual instead"));
            CliApp.RejectSweptOptions(CliApp.SplitList(parse.GetValue(fs)).Concat(CliApp.SplitList(parse.GetValue(cases))), "validate");
            var filesystems = CliApp.SplitList(parse.GetValue(fs)).Select(FilesystemCatalog.Find).ToArray();
            var caseCatalog = new CaseCatalog(parse.GetValue(casesDir)!);
            var selected = CliApp.SplitList(parse.GetValue(cases)).Select(caseCatalog.Find).ToArray();
            if (filesystems.Length == 0 || selected.Length == 0)
                throw new InputException(new InputProblem(filesystems.Length == 0 ? "--fs" : "--case", 0, 0, filesystems.Length == 0 ? "--fs" : "--case", "nothing to validate: the list is empty"));
            // Two case files with one name would run into the same cell folders (SplitList already drops repeated words).
            if (selected.GroupBy(c => c.Name).FirstOrDefault(g => g.Count() > 1) is { } twiceCase)
                throw new InputException(new InputProblem("--case", 0, 0, "--case", $"'{twiceCase.Key}' is given twice ({string.Join(", ", twiceCase.Select(c => c.SourceFile))})"));
            var policy = new VerdictPolicy(parse.GetValue(alpha), parse.GetValue(confidence), parse.GetValue(batch), parse.GetValue(maxResidual),
                parse.GetValue(maxRepeats), parse.GetValue(guests), Pairs: Math.Max(1, filesystems.Length * selected.Length));
            try { policy.Validate(); }
            catch (ArgumentOutOfRangeException e)
            {
                var option = PolicyOptions.GetValueOrDefault(e.ParamName ?? "", "validate");
                throw new InputException(new InputProblem(option, 0, 0, option, $"{e.Message.Split(" (Parameter")[0]} (got {e.ActualValue})"));
            }
            ResultStore.CheckFolder("--cache", CliApp.CacheDir(parse.GetValue(cache)));
            ResultStore.CheckFolder("--results", parse.GetValue(results)!);
            var imageBytes = CliApp.ImageSize(parse.GetValue(imageSize), Path.Combine(CliApp.CacheDir(parse.GetValue(cache)), "work"));

            var catalog = new KernelCatalog(parse.GetValue(kernelsDir)!);
            var withoutSpec = catalog.Find(parse.GetValue(kernel)!);
            var withSpec = parse.GetValue(withKernel) is { } wk ? catalog.Find(wk) : withoutSpec;
            var controlSpec = parse.GetValue(control) is { } ck ? catalog.Find(ck) : null;
            var cacheDir = CliApp.CacheDir(parse.GetValue(cache));
            // A case that cannot fit the test disk is bad input, before any kernel is built.
            CasePreflight.ThrowIfAny(selected, filesystems, imageBytes);

            // The series is read (mboxes split, ranges format-patch'd) before anything is built: its errors are input errors.
            var series = patched ? await new PatchSeriesReader(Path.Combine(cacheDir, "patches")).ReadAsync(patchFiles, patchRanges, cancellationToken) : null;
            if (series is not null && withoutSpec.Build is null)
                throw new InputException(new InputProblem(withoutSpec.SourceFile, 0, 0, "source", "a patch under test needs a kernel built from source (debian-source or git)"));

            ValidationRecord record;
            string path;
            try
            {
                // Live progress on a terminal (kernel builds, boots, each look's guest cells), plain lines otherwise.
                (record, path) = await Terminal.LiveProgress.RunAsync(stderr, ValidateAsync);
            }
            catch (MachineException e)
            {
                stderr.WriteLine($"harness: validate: {e.Message}");
                return CliApp.ExitInfrastructure;
            }
            if (given.GetValue(json)) JsonOutput.Write(stdout, record);
            else
            {
                stdout.Write(ValidationTable.Render(record));
                stdout.WriteLine($"results: {path}");
            }
            await Reports.ReportWriter.WriteAfterCommandAsync(path, given.GetValue(json) ? stderr : stdout, stderr);
            return ExitCode(record);

            async Task<(ValidationRecord, string)> ValidateAsync(TextWriter progress)
            {
                // Docker first: a missing engine is found in a second (exit 3 with the fix), before any kernel work.
                using var docker = parse.GetValue(machine) == "docker" ? await Machines.Docker.DockerEngine.ConnectAsync(null, cancellationToken) : null;
                var provider = new KernelProvider(cacheDir, progress);
                var without = await provider.GetAsync(withoutSpec, cancellationToken);
                var with = series is not null
                    ? await provider.GetAsync(withoutSpec with { Build = withoutSpec.Build!.WithSeries(series) }, cancellationToken) with { Name = withoutSpec.Name + "+" + series.ShortName }
                    : await provider.GetAsync(withSpec, cancellationToken);
                var controlImage = controlSpec is null ? null : await provider.GetAsync(controlSpec, cancellationToken);

                var setup = qemu.Setup(parse, cacheDir, progress);
                // The same guests either way: only where QEMU starts differs (GuestSession's IQemuRuntime).
                async Task<ValidationSide> Side(string label, KernelImage image)
                {
                    var options = await qemu.PrepareAsync(parse, setup, image, filesystems, parse.GetValue(agent), imageBytes, cancellationToken);
                    var runtime = docker is null ? null : await DockerSetup.RuntimeAsync(docker, cacheDir, options, progress, cancellationToken);
                    var side = new QemuMachine(options, progress, runtime);
                    if (await side.CheckAsync(cancellationToken) is { } problem) throw new MachineException($"{side.Kind} machine: {problem}");
                    return new(label, image, side);
                }
                var request = new ValidationRequest(
                    await Side("without", without), await Side("with", with),
                    controlImage is null ? null : await Side("control", controlImage),
                    filesystems, selected, policy, Path.Combine(cacheDir, "work"),
                    "harness " + string.Join(' ', parse.Tokens.Select(t => t.Value)),
                    Parallel: !parse.GetValue(sequential))
                {
                    Budget = given.GetValue(budget),
                    Arguments = parse.Tokens.SkipWhile(t => t.Type == System.CommandLine.Parsing.TokenType.Command).Select(t => t.Value).ToArray(),
                    PatchSha256 = series?.Sha256,
                    Patches = series?.Patches.Select(sp => new AppliedPatch(sp.Label, sp.Sha256)).ToArray() ?? [],
                    ResumeFrom = given.GetValue(resume),
                };
                // Runs killed earlier left QEMUs, images and work folders: release them first.
                await StaleResources.ReleaseAsync(Path.Combine(cacheDir, "work"), progress, cancellationToken);
                return await new PatchValidator(new ResultStore(parse.GetValue(results)!), time, progress).RunAsync(request, cancellationToken);
            }
        });
        return command;
    }

    /// <summary>
    /// The parse of the validation being resumed: its recorded arguments, from the same working
    /// directory. Any option beside --resume and --budget is refused (it would make the decided
    /// part and the rest two different comparisons); so is a live or finished validation.
    /// </summary>
    private static ParseResult ResumeParse(Command command, ParseResult given, string folder, Option resume, Option budget)
    {
        InputException Problem(string message) => new(new InputProblem(folder, 0, 0, "--resume", message));
        CliApp.RefuseChangedOptions(given, folder, "the validation's options come from its validation.json", resume, budget);
        var recorded = PatchValidator.ReadForResume(folder);
        if (recorded.WorkingDirectory is { } cwd && Path.GetFullPath(cwd) != Path.GetFullPath(Environment.CurrentDirectory))
            throw Problem($"validation {recorded.RunId} was started in {cwd}, and its arguments may be relative to it; cd {cwd} and resume from there");
        var parse = command.Parse(recorded.Arguments.ToArray());
        if (parse.Errors.Count > 0)
            throw Problem($"its recorded arguments no longer parse ({parse.Errors[0].Message}); start a new validation");
        return parse;
    }

    /// <summary>
    /// The exit code of a whole validation: 130 if interrupted (the verdicts are partial), else the
    /// pairs' codes combined by <see cref="PatchVerdicts.CombineExitCodes"/> (a regression anywhere wins).
    /// </summary>
    public static int ExitCode(ValidationRecord record) =>
        record.Interrupted ? Outcomes.InterruptedExitCode
        // A budget that ran out before a pair even started leaves that pair INCONCLUSIVE (4) too.
        : PatchVerdicts.CombineExitCodes(record.Pairs.Select(pair => pair.ExitCode)
            .Concat(record.BudgetReached && record.Pairs.Count < record.Policy.Pairs ? [PatchVerdicts.ExitCode(PatchVerdict.Inconclusive)] : []));

    // VerdictPolicy field → the option a user typed, for error messages.
    private static readonly IReadOnlyDictionary<string, string> PolicyOptions = new Dictionary<string, string>
    {
        [nameof(VerdictPolicy.Alpha)] = "--alpha",
        [nameof(VerdictPolicy.Confidence)] = "--confidence",
        [nameof(VerdictPolicy.BatchSize)] = "--batch",
        [nameof(VerdictPolicy.MaxResidual)] = "--max-residual",
        [nameof(VerdictPolicy.MaxRunsPerSide)] = "--max-repeats",
        [nameof(VerdictPolicy.Guests)] = "--guests",
        [nameof(VerdictPolicy.Pairs)] = "--fs/--case",
    };
}
