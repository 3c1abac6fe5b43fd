// `harness bisect` (flake-aware bisection of a git range: build, boot and run each step, keep a
// posterior over the first bad commit, stop at --probability) and `harness bisect test` (the oracle
// for `git bisect run`: 0 good, 1 bad, 125 skip, 128 abort; its posterior in a --state file).
using System.CommandLine;
using Harness.Bisection;
using Harness.Cases;
using Harness.Filesystems;
using Harness.Kernels;
using Harness.Machines;
using Harness.Machines.Qemu;
using Harness.Results;
using Harness.Runs;
using Harness.Validation;
using Harness.Verdicts;
using Harness.Yaml;

namespace Harness.Cli;

/// <summary>What a step runner is built from: the tree, the case and filesystem, and the parsed options.</summary>
public sealed record BisectSetup(string Tree, FilesystemSpec Filesystem, CaseSpec Case, string CacheDirectory, ParseResult Parse)
{
    /// <summary>--kernel-series: the Debian package spec whose versions are walked (null: a git range).</summary>
    public KernelSpec? Series { get; init; }
}

public sealed class BisectCommand(TextWriter stdout, TextWriter stderr, TimeProvider time, Func<BisectSetup, CancellationToken, Task<IBisectStepRunner>>? runnerFactory = null)
{
    /// <summary>The options both commands share, one instance per command.</summary>
    private sealed class Options
    {
        public Option<string> Tree { get; } = new("--tree") { Description = "The kernel git tree (only read: steps build in a clone the harness owns under the cache)", DefaultValueFactory = _ => "." };
        public Option<string?> Good { get; } = new("--good") { Description = "A commit (ref) without the bug" };
        public Option<string?> Bad { get; } = new("--bad") { Description = "A commit (ref) with the bug; its runs pin the failure rate" };
        public Option<string> Fs { get; } = new("--fs") { Description = "The filesystem the case runs on", DefaultValueFactory = _ => "ext4" };
        public Option<string> Case { get; } = new("--case") { Description = "The case (name or path)", DefaultValueFactory = _ => "seed" };
        public Option<double> Probability { get; } = new("--probability") { Description = "Stop when one commit is the first bad one with at least this posterior probability (above 0.5, below 1)", DefaultValueFactory = _ => 0.95 };
        public Option<string> KernelConfig { get; } = new("--kernel-config") { Description = "Kernel spec whose config (base + fragments) and patches every step is built with", DefaultValueFactory = _ => "linux-6.1" };
        public Option<string> ImageSize { get; } = new("--image-size") { Description = "Size of each test disk", DefaultValueFactory = _ => "512MiB" };
        public Option<string> Results { get; } = new("--results") { Description = "Results root", DefaultValueFactory = _ => "results" };
        public Option<string?> Cache { get; } = new("--cache") { Description = "Cache folder (default $HARNESS_CACHE or .cache)" };
        public Option<string?> Agent { get; } = new("--agent") { Description = "NativeAOT agent binary (default .cache/agent/harness-agent)" };
        public Option<string> CasesDir { get; } = CliApp.CasesDirOption();
        public Option<string> KernelsDir { get; } = CliApp.KernelsDirOption();
        public QemuCliOptions Qemu { get; } = new();
        public PatchCliOptions Patches { get; } = new("Patches on top of every step's build, after --kernel-config's own (a fix or debug series)");

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { Tree, Good, Bad, Fs, Case, Probability, KernelConfig, ImageSize, Results, Cache, Agent, CasesDir, KernelsDir }.Concat(Qemu.All).Concat(Patches.All))
                command.Options.Add(option);
        }
    }

    public Command Create(CancellationToken cancellationToken)
    {
        var options = new Options();
        var maxRuns = new Option<int>("--max-runs") { Description = "Runs in all before stopping undecided", DefaultValueFactory = _ => 500 };
        var series = new Option<string?>("--kernel-series")
        {
            Description = "Bisect package versions instead of commits: a kernel spec whose source is a Debian package pattern (debian-6.1-cloud: prebuilt images) " +
                          "or a Debian source package (linux-6.1: each version of linux-source-6.1 built with the spec's config and patches); " +
                          "--good/--bad then name versions (package=version, a version, or a package; default the oldest and newest apt can download)",
        };
        var command = new Command("bisect",
            "Find the first bad commit of a flaky bug between --good and --bad in a git tree: each step builds, boots and runs the case; a posterior " +
            "over the first bad commit (failure rate estimated from --bad) picks the next commit and its runs, and the bisection stops when one commit " +
            "holds --probability. Writes results/<run-id>/bisect.json. Exit codes: 0 culprit named, 2 usage, 3 infrastructure (--bad cannot be built or booted), " +
            "4 undecided (run cap, or untestable commits between the candidates), 5 --bad did not reproduce, 130 interrupted.")
        { maxRuns, series };
        options.AddTo(command);
        command.Subcommands.Add(TestCommand(cancellationToken));
        command.SetAction(async (parse, _) =>
        {
            var policy = Policy(parse.GetValue(options.Probability)) with { MaxRuns = parse.GetValue(maxRuns) };
            if (policy.MaxRuns < 1) throw new InputException(new InputProblem("--max-runs", 0, 0, "--max-runs", $"{policy.MaxRuns} is out of range (min 1)"));
            var (fs, @case, cacheDir) = Inputs(parse, options);
            GitRange range;
            KernelSpec? seriesSpec = null;
            if (parse.GetValue(series) is { } seriesName)
            {
                seriesSpec = new KernelCatalog(parse.GetValue(options.KernelsDir)!).Find(seriesName);
                // Prebuilt images (debian-package: a glob) or a source package built per version (debian-source: linux-source-6.1).
                var pattern = seriesSpec.Source switch
                {
                    DebianPackageSource debian => debian.PackagePattern,
                    DebianSourceTree source => source.Package,
                    _ => throw new InputException(new InputProblem(seriesSpec.SourceFile, 0, 0, "--kernel-series",
                        $"{seriesSpec.Name} is not a Debian package pattern (debian-package:) or source package (debian-source:); name one such as debian-6.1-cloud or linux-6.1")),
                };
                var versions = await PackageSeries.ResolveAsync(pattern, cancellationToken);
                range = new GitRange("apt", PackageSeries.Slice(versions, parse.GetValue(options.Good), parse.GetValue(options.Bad), pattern));
            }
            else
            {
                if (parse.GetValue(options.Good) is not { } good) throw Missing("--good");
                if (parse.GetValue(options.Bad) is not { } bad) throw Missing("--bad");
                range = await GitRange.ResolveAsync(parse.GetValue(options.Tree)!, good, bad, cancellationToken);
            }
            var runner = await Runner(new BisectSetup(range.Tree, fs, @case, cacheDir, parse) { Series = seriesSpec }, options, cancellationToken);
            var commandLine = "harness " + string.Join(' ', parse.Tokens.Select(t => t.Value));
            var (record, path) = await new BisectDriver(new ResultStore(parse.GetValue(options.Results)!), time, stderr)
                .RunAsync(range, fs.Name, @case.Name, policy, runner, commandLine, cancellationToken);
            RunLock.Drop(Path.GetDirectoryName(path)!);
            DeleteScratch(cacheDir, record.RunId);
            await Reports.ReportWriter.WritePagesAfterCommandAsync(Path.GetDirectoryName(path)!, Reports.BisectReport.WriteAsync, stderr, stderr);
            stdout.Write(BisectTable.Render(record));
            if (seriesSpec is not null && record is { End: BisectionEnd.Culprit, Culprit: { } culprit } && range.IndexOf(culprit.Sha) is > 0 and var at)
                await ChangelogAsync(seriesSpec, range.Commits[at - 1], range.Commits[at], fs.Name, cacheDir, Path.GetDirectoryName(path)!, cancellationToken);
            stdout.WriteLine($"results: {path}");
            return BisectDriver.ExitCode(record.End);
        });
        return command;
    }

    /// <summary>
    /// The changelog entries after the last good version up to the first bad one, from the first bad version's own .deb (downloaded
    /// if the walk did not already): printed (headers, lines mentioning the filesystem) and kept whole in changelog.json.
    /// A changelog that cannot be read is reported, not fatal: the bisection's answer stands without it.
    /// </summary>
    private async Task ChangelogAsync(KernelSpec series, BisectCommit good, BisectCommit bad, string filesystem, string cacheDir, string runFolder, CancellationToken cancellationToken)
    {
        var package = bad.Sha[..bad.Sha.IndexOf('=')];
        try
        {
            var deb = series.Source is DebianSourceTree
                ? (await new KernelBuilder(cacheDir, stderr).SourceDebAsync(package, bad.Subject, cancellationToken)).Deb
                : await new KernelFetcher(Path.Combine(cacheDir, "kernels"), stderr).DownloadDebAsync(package, bad.Subject, cancellationToken);
            var span = await DebianChangelog.ReadSpanAsync(deb, package, good.Subject, bad.Subject, cancellationToken);
            await AtomicFile.WriteJsonAsync(Path.Combine(runFolder, "changelog.json"), span, CancellationToken.None);
            stdout.Write(DebianChangelog.Render(span, filesystem));
        }
        catch (Exception e) when (e is MachineException or IOException or InvalidDataException)
        {
            stderr.WriteLine($"harness: bisect: no changelog for {bad.Sha}: {e.Message.Split('\n')[0]}");
        }
    }

    private Command TestCommand(CancellationToken cancellationToken)
    {
        var options = new Options();
        var state = new Option<string>("--state") { Description = "File keeping the posterior between calls (made on the first call, which needs --good and --bad)", Required = true };
        var command = new Command("test",
            "The oracle for `git bisect run`: tests the commit checked out in --tree (HEAD) and answers 0 good, 1 bad, 125 skip (build, boot or " +
            "infrastructure failure, or not decidable within the call), 128 or more to abort (bad input, --bad does not reproduce). Bad needs a failure; " +
            "good needs the posterior chance of bad below (1 − --probability) / ⌈log2(commits + 1)⌉. " +
            "Usage: git bisect start BAD GOOD && git bisect run harness bisect test --state /tmp/bisect.json --good GOOD --bad BAD --tree .")
        { state };
        options.AddTo(command);
        command.SetAction(async (parse, _) =>
        {
            // git reads every code from 1 to 127 except 125 as "bad": the CLI boundary's 2 and 3 would mark a
            // commit bad. Here input errors abort git (128) and machine trouble skips the commit (125).
            try
            {
                return await TestAsync(parse, options, parse.GetValue(state)!, cancellationToken);
            }
            catch (InputException e)
            {
                stderr.WriteLine($"harness: {e.Message}");
                return OracleExit.Abort;
            }
            catch (RecordFormatException e)
            {
                stderr.WriteLine($"harness: --state {e.Message}");
                return OracleExit.Abort;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                stderr.WriteLine("harness: interrupted");
                return Outcomes.InterruptedExitCode;
            }
            catch (Exception e) when (e is MachineException or IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"harness: bisect test: skipping this commit: {e.Message.Split('\n')[0]}");
                return OracleExit.Skip;
            }
            catch (Exception e)
            {
                // Anything else is a harness bug: abort git rather than let it read a bad commit.
                stderr.WriteLine($"harness: internal error ({e.GetType().Name}): {e.Message.Split('\n')[0]}; git bisect is stopped; rerun with --debug and report it");
                if (parse.GetValue<bool>("--debug")) stderr.WriteLine(e.ToString());
                return OracleExit.Abort;
            }
        });
        return command;
    }

    private async Task<int> TestAsync(ParseResult parse, Options options, string statePath, CancellationToken cancellationToken)
    {
        var policy = Policy(parse.GetValue(options.Probability));
        var (fs, @case, cacheDir) = Inputs(parse, options);
        var tree = Path.GetFullPath(parse.GetValue(options.Tree)!);
        BisectOracleState current;
        if (File.Exists(statePath))
        {
            current = RecordFormat.Read<BisectOracleState>(statePath);
            InputException Differs(string option, string was, string now) => new(new InputProblem(statePath, 0, 0, option,
                $"the state was started with {option} {was}, this call has {now}; one --state file is one bisection (delete it to start another)"));
            if (current.Tree != tree) throw Differs("--tree", current.Tree, tree);
            if (current.Filesystem != fs.Name) throw Differs("--fs", current.Filesystem, fs.Name);
            if (current.Case != @case.Name) throw Differs("--case", current.Case, @case.Name);
            if (current.Probability != policy.Probability) throw Differs("--probability", $"{current.Probability}", $"{policy.Probability}");
            if (parse.GetValue(options.Good) is { } g && await GitRange.ResolveRefAsync(tree, g, "--good", cancellationToken) != current.Commits[0].Sha)
                throw Differs("--good", current.Commits[0].Sha[..12], g);
            if (parse.GetValue(options.Bad) is { } b && await GitRange.ResolveRefAsync(tree, b, "--bad", cancellationToken) != current.Commits[^1].Sha)
                throw Differs("--bad", current.Commits[^1].Sha[..12], b);
        }
        else
        {
            if (parse.GetValue(options.Good) is not { } good) throw Missing("--good", $"no --state file {statePath} yet: the first call needs --good and --bad");
            if (parse.GetValue(options.Bad) is not { } bad) throw Missing("--bad", $"no --state file {statePath} yet: the first call needs --good and --bad");
            var range = await GitRange.ResolveAsync(tree, good, bad, cancellationToken);
            current = BisectOracleState.Start(range, fs.Name, @case.Name, policy.Probability);
            var folderOfState = Path.GetDirectoryName(Path.GetFullPath(statePath))!;
            if (!Directory.Exists(folderOfState))
                throw new InputException(new InputProblem("--state", 0, 0, "--state", $"{folderOfState}: no such directory"));
            await AtomicFile.WriteJsonAsync(statePath, current, CancellationToken.None);
        }
        var head = await GitRange.ResolveRefAsync(tree, "HEAD", "--tree", cancellationToken);
        var runner = await Runner(new BisectSetup(tree, fs, @case, cacheDir, parse), options, cancellationToken);
        var folder = new ResultStore(parse.GetValue(options.Results)!).Create($"{time.GetUtcNow():yyyyMMdd-HHmmss}-bisect-test-{Environment.ProcessId}");
        try
        {
            var (answer, _) = await new BisectOracleSession(policy, runner, stderr)
                .AnswerAsync(current, head, folder, s => AtomicFile.WriteJsonAsync(statePath, s, CancellationToken.None), time.GetUtcNow(), cancellationToken);
            stdout.WriteLine($"harness bisect test: {head[..12]} {answer.Answer} (exit {answer.ExitCode}): {answer.Reason}");
            return answer.ExitCode;
        }
        finally
        {
            RunLock.Drop(folder.Path);
            DeleteScratch(cacheDir, folder.Id);
        }
    }

    // The steps' test disks live in <cache>/work/<run-id>; scratch only (its lock lets a later run release it).
    private static void DeleteScratch(string cacheDir, string runId)
    {
        var work = Path.Combine(cacheDir, "work", runId);
        try { if (Directory.Exists(work)) Directory.Delete(work, recursive: true); }
        catch (IOException) { }
    }

    private static BisectionPolicy Policy(double probability)
    {
        var policy = new BisectionPolicy(Probability: probability);
        if (!(probability > 0.5 && probability < 1))
            throw new InputException(new InputProblem("--probability", 0, 0, "--probability", $"{probability} is out of range: above 0.5 and below 1 (0.95: one commit holds 95 % of the posterior)"));
        return policy;
    }

    private static (FilesystemSpec Fs, CaseSpec Case, string CacheDir) Inputs(ParseResult parse, Options options)
    {
        var fs = FilesystemCatalog.Find(parse.GetValue(options.Fs)!);
        var @case = new CaseCatalog(parse.GetValue(options.CasesDir)!).Find(parse.GetValue(options.Case)!);
        var cacheDir = CliApp.CacheDir(parse.GetValue(options.Cache));
        ResultStore.CheckFolder("--cache", cacheDir);
        ResultStore.CheckFolder("--results", parse.GetValue(options.Results)!);
        return (fs, @case, cacheDir);
    }

    private static InputException Missing(string option, string? why = null) =>
        new(new InputProblem(option, 0, 0, option, why ?? $"{option} <ref> is required"));

    private async Task<IBisectStepRunner> Runner(BisectSetup setup, Options options, CancellationToken cancellationToken)
    {
        if (runnerFactory is not null) return await runnerFactory(setup, cancellationToken);
        var parse = setup.Parse;
        var spec = setup.Series ?? new KernelCatalog(parse.GetValue(options.KernelsDir)!).Find(parse.GetValue(options.KernelConfig)!);
        if (setup.Series is null && spec.Build is null)
            throw new InputException(new InputProblem(spec.SourceFile, 0, 0, "--kernel-config", $"{spec.Name} is not built from source; name a spec with a config: section (linux-6.1)"));
        // The series is read once, before any step: an mbox that is incomplete is an input error, not a skipped step.
        spec = await options.Patches.ApplyAsync(parse, spec, setup.CacheDirectory, cancellationToken);
        var imageBytes = CliApp.ImageSize(parse.GetValue(options.ImageSize), Path.Combine(setup.CacheDirectory, "work"));
        CasePreflight.ThrowIfAny([setup.Case], [setup.Filesystem], imageBytes);
        await StaleResources.ReleaseAsync(Path.Combine(setup.CacheDirectory, "work"), stderr, cancellationToken);
        var qemuSetup = options.Qemu.Setup(parse, setup.CacheDirectory, stderr);
        return new QemuBisectRunner(setup, spec, (image, token) => options.Qemu.PrepareAsync(parse, qemuSetup, image, [setup.Filesystem], parse.GetValue(options.Agent), imageBytes, token), time, stderr);
    }
}

/// <summary>
/// A step on a real machine: the commit built in the harness's clone of the tree (one cold build, then
/// incremental: only files that differ are checked out; ccache when installed; images cached by commit),
/// booted under QEMU, the case run that many times in one boot and judged like validate (FAIL and CRASH
/// are failures; ERROR and SKIP no evidence). A build failure makes the commit untestable.
/// </summary>
public sealed class QemuBisectRunner(BisectSetup setup, KernelSpec configSpec, Func<KernelImage, CancellationToken, Task<QemuOptions>> prepare, TimeProvider time, TextWriter progress)
    : IBisectStepRunner
{
    private readonly HashSet<string> _locked = [];

    public async Task<StepResult> RunAsync(RunFolder folder, BisectCommit commit, int step, int runs, CancellationToken cancellationToken)
    {
        var workRoot = Path.Combine(setup.CacheDirectory, "work", folder.Id);
        // The lock lets a later harness kill this run's QEMU and delete its images if this process is killed.
        if (_locked.Add(folder.Path)) await RunLock.TakeAsync(folder.Id, workRoot, folder.Path, time, CancellationToken.None);
        KernelImage image;
        int builds;
        string buildWord;
        try
        {
            if (setup.Series is { Source: DebianSourceTree source })
            {
                // A source package version ("linux-source-6.1=6.1.187-1"): that version's tarball, built with the spec's config and patches.
                var version = commit.Sha[(commit.Sha.IndexOf('=') + 1)..];
                var spec = configSpec with { Name = $"{configSpec.Name}-{version}", Description = commit.Sha, Source = source with { Version = version } };
                var built = await new KernelBuilder(setup.CacheDirectory, progress).BuildDetailedAsync(spec, cancellationToken);
                image = KernelBuilder.ToImage(spec, built);
                (builds, buildWord) = (built.Cached ? 0 : 1, $"{source.Package} {version} {built.Release}: {(built.Cached ? "cached build" : $"built in {built.BuildSeconds:0} s")}");
            }
            else if (setup.Series is not null)
            {
                // A package version: "package=version", fetched with apt-get download (cached by version).
                var (package, version) = (commit.Sha[..commit.Sha.IndexOf('=')], commit.Sha[(commit.Sha.IndexOf('=') + 1)..]);
                image = await new KernelFetcher(Path.Combine(setup.CacheDirectory, "kernels"), progress).FetchVersionAsync(configSpec, package, version, cancellationToken);
                (builds, buildWord) = (0, $"debian {package} {version}");
            }
            else
            {
                var spec = configSpec with { Name = $"bisect-{commit.Sha[..12]}", Description = commit.Subject, Source = new GitTree(setup.Tree, commit.Sha) };
                var built = await new KernelBuilder(setup.CacheDirectory, progress).BuildDetailedAsync(spec, cancellationToken);
                image = KernelBuilder.ToImage(spec, built);
                (builds, buildWord) = (built.Cached ? 0 : 1, $"{built.Release}: {(built.Cached ? "cached build" : $"built in {built.BuildSeconds:0} s")}");
            }
        }
        catch (Exception e) when (e is MachineException or InputException)
        {
            // A commit that does not build (or where the spec's patches do not apply), or a version that cannot be fetched, is no evidence either way.
            return StepResult.BuildFailed(e.Message.Split('\n')[0]);
        }
        QemuOptions options;
        try
        {
            options = await prepare(image, cancellationToken);
        }
        catch (Exception e) when (e is MachineException or InputException)
        {
            return new StepResult(0, 0, runs, true, $"cannot boot: {e.Message.Split('\n')[0]}") { Builds = builds, Detail = buildWord };
        }
        var cellId = $"step{step:D3}-{(setup.Series is null ? commit.Sha[..12] : commit.Subject.Replace(':', '_').Replace('~', '_'))}";
        var input = new CellInput(cellId, setup.Filesystem.Name, setup.Case.Name, setup.Case.SourceFile, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(setup.Case.SourceFile))), setup.Case.Workload.Seed, runs);
        var (cell, _) = await new CellRunner(new QemuMachine(options, progress), time, progress).RunAsync(folder, input, setup.Filesystem, setup.Case, workRoot, 0, cancellationToken);
        await folder.WriteCellAsync(cell, CancellationToken.None);
        cancellationToken.ThrowIfCancellationRequested();
        var tally = PatchValidator.Tally(cell);
        return new StepResult(tally.Failures, tally.Runs, runs - tally.Runs, Problem: cell.Failure is { } f ? $"[{f.Kind}] {f.Message}" : cell.Error)
        {
            Builds = builds,
            Boots = 1,
            Detail = $"{buildWord}; 1 boot; cells/{cellId}",
        };
    }
}
