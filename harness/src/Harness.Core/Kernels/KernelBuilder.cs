// Builds kernels from source the way a developer's time demands: one source tree per source
// (a git repository, so switching patch sets with `git reset --hard` + `git apply` rewrites
// only the files a patch touches and kbuild rebuilds only those), ccache, and a cache of
// built images keyed by source, config, patches and toolchain. A one-file patch costs a
// relink, not a rebuild (DESIGN.md: ~12 s versus ~6.5-10 min from scratch).
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CliWrap;
using Harness.Machines;
using Harness.Progress;
using Harness.Yaml;

namespace Harness.Kernels;

/// <summary>What a build produced, as recorded next to the image.</summary>
public sealed record BuiltKernel(string Key, string Release, string BzImage, string Origin, double BuildSeconds, bool Cached, string BuildLog)
{
    /// <summary>The patch series applied, in order: each patch's label (file, mbox message or commit) and SHA-256.</summary>
    public IReadOnlyList<AppliedPatch> Patches { get; init; } = [];
}

/// <summary>A patch as a build record names it.</summary>
public sealed record AppliedPatch(string Name, string Sha256);

/// <summary>Builds <see cref="KernelSpec"/>s that have a <see cref="KernelSpec.Build"/> section. <paramref name="cacheDirectory"/> is the cache root.</summary>
public sealed partial class KernelBuilder(string cacheDirectory, TextWriter progress, int? jobs = null)
{
    private const string Marker = ".harness-complete";
    private string Sources => Path.Combine(cacheDirectory, "src");
    private string Images => Path.Combine(cacheDirectory, "kernels", "built");

    /// <summary>Builds (or takes from the cache) the spec's kernel, with <paramref name="extraPatch"/> on top when given.</summary>
    public async Task<KernelImage> BuildAsync(KernelSpec spec, CancellationToken cancellationToken, string? extraPatch = null) =>
        ToImage(spec, await BuildDetailedAsync(spec, cancellationToken, extraPatch));

    public static KernelImage ToImage(KernelSpec spec, BuiltKernel built) => new(spec.Name, built.Release, built.BzImage, null, built.Origin)
    {
        // The build keeps its .config beside the image (see BuildDetailedAsync).
        ConfigFile = Path.Combine(Path.GetDirectoryName(built.BzImage)!, "config"),
        SpecFile = spec.SourceFile,
    };

    public async Task<BuiltKernel> BuildDetailedAsync(KernelSpec spec, CancellationToken cancellationToken, string? extraPatch = null)
    {
        var build = spec.Build ?? throw new InvalidOperationException($"{spec.SourceFile}: not a kernel built from source");
        if (extraPatch is not null) build = build.WithPatch(Path.GetFullPath(extraPatch));
        // An mbox among the patches becomes its messages in [PATCH n/m] order; a single patch stays the file it is.
        var series = await new PatchSeriesReader(Path.Combine(cacheDirectory, "patches"))
            .ReadAsync(build.Patches, [], cancellationToken, "patches", build.Labels);
        var (tree, sourceId, commit) = await PrepareTreeAsync(spec, cancellationToken);
        var key = await KeyAsync(sourceId, build, series, cancellationToken);
        var folder = Path.Combine(Images, key);
        var origin = $"built {sourceId}; config {build.BaseConfig}+{string.Join("+", build.Fragments.Select(Path.GetFileName))}" +
                     (series.Patches.Count > 0 ? $"; patches {string.Join(", ", series.Patches.Select(p => Path.GetFileName(p.File)))}" : "");
        if (TryCached(folder) is { } cached)
        {
            Cache.LastUse.MarkFolder(folder);
            progress.WriteLine($"kernel {spec.Name}: {cached.Release} (cached build {key[..12]})");
            return cached with { Cached = true };
        }

        // The tree is one per source and shared by every build of it: checkout, reset, apply,
        // configure and make all happen under its lock, so two processes never interleave there.
        using (await CacheLock.AcquireAsync(CacheLock.For(tree), progress, $"building in {tree}", cancellationToken))
        {
            if (TryCached(folder) is { } built) return built with { Cached = true };
            var clock = Stopwatch.StartNew();
            Directory.CreateDirectory(folder);
            var log = Path.Combine(folder, "build.log");
            // checkout only rewrites files that differ between commits: kbuild stays incremental.
            if (commit is not null) await RunAsync("git", ["-C", tree, "checkout", "-q", "-f", commit], tree, cancellationToken);
            await RunAsync("git", ["reset", "-q", "--hard"], tree, cancellationToken);
            await series.ApplyAsync(tree, progress, cancellationToken);
            await ConfigureAsync(tree, build, log, cancellationToken);
            await MakeAsync(tree, spec.Name, log, BuildEstimate.For(tree, Images, sourceId), cancellationToken);
            var release = (await RunAsync("make", ["-s", "kernelrelease"], tree, cancellationToken)).Trim();
            var image = Path.Combine(folder, "bzImage");
            File.Copy(Path.Combine(tree, "arch", "x86", "boot", "bzImage"), image, overwrite: true);
            File.Copy(Path.Combine(tree, ".config"), Path.Combine(folder, "config"), overwrite: true);
            var result = new BuiltKernel(key, release, image, origin, clock.Elapsed.TotalSeconds, false, log)
            {
                Patches = series.Patches.Select(p => new AppliedPatch(p.Label, p.Sha256)).ToArray(),
            };
            await File.WriteAllTextAsync(Path.Combine(folder, "build.json"), JsonSerializer.Serialize(result, Results.ResultStore.Json), cancellationToken);
            // The marker, written last, is what makes the folder a cached build for other processes.
            var marker = Path.Combine(folder, Marker);
            await File.WriteAllTextAsync(marker + ".tmp", "", cancellationToken);
            File.Move(marker + ".tmp", marker, overwrite: true);
            progress.WriteLine($"kernel {spec.Name}: built {release} in {clock.Elapsed.TotalSeconds:F0} s ({image})");
            return result;
        }
    }

    /// <summary>
    /// A complete cached build in <paramref name="folder"/>, its files named where they are now: the record's
    /// own paths are where it was built, and a cache that was moved or copied (another checkout's cache,
    /// another machine) must still boot its images. A record whose image is gone is no build at all.
    /// </summary>
    internal static BuiltKernel? TryCached(string folder)
    {
        if (!File.Exists(Path.Combine(folder, Marker))) return null;
        var image = Path.Combine(folder, "bzImage");
        if (!File.Exists(image)) return null;
        var record = JsonSerializer.Deserialize<BuiltKernel>(File.ReadAllText(Path.Combine(folder, "build.json")), Results.ResultStore.Json);
        return record is null ? null : record with { BzImage = image, BuildLog = Path.Combine(folder, "build.log") };
    }

    // ---- source trees ----------------------------------------------------------------

    /// <summary>The tree, the source's id, and the commit to check out under the build lock (git sources).</summary>
    private async Task<(string Tree, string SourceId, string? Commit)> PrepareTreeAsync(KernelSpec spec, CancellationToken cancellationToken) => spec.Source switch
    {
        DebianSourceTree debian => await DebianTreeAsync(debian, cancellationToken),
        GitTree git => await GitTreeAsync(spec, git, cancellationToken),
        _ => throw new InvalidOperationException($"{spec.SourceFile}: source {spec.Source.GetType().Name} is not built"),
    };

    /// <summary>
    /// The source tree a spec builds in, made if missing (downloaded, unpacked, recorded in git) but not built; for a Debian
    /// source, the version the spec names. Only for reading: builds check out and patch it under its lock.
    /// </summary>
    public async Task<string> SourceTreeAsync(KernelSpec spec, CancellationToken cancellationToken) =>
        (await PrepareTreeAsync(spec, cancellationToken)).Tree;

    /// <summary>
    /// The .deb of a Debian source package, exactly <paramref name="version"/> (null: the version apt would install), downloaded
    /// once into <c>kernels/debs/</c>; returns its path and version. A package walk fetches each step's source with it.
    /// </summary>
    public async Task<(string Deb, string Version)> SourceDebAsync(string package, string? version, CancellationToken cancellationToken)
    {
        // The same apt access as prebuilt kernels: candidate version (or the one asked for), then exactly that .deb.
        var apt = new AptRepository("/var/lib/apt/lists");
        var wanted = version is not null ? new DebianPackage(package, version)
            : (await apt.FindAsync(package, cancellationToken)).FirstOrDefault(p => p.Name == package)
              ?? throw new MachineException($"apt knows no package {package} (apt-get update? Debian's linux-source-* packages are in main)");
        var deb = Path.Combine(cacheDirectory, "kernels", "debs", $"{wanted.Name}_{wanted.Version.Replace(":", "%3a", StringComparison.Ordinal)}.deb");
        Directory.CreateDirectory(Path.GetDirectoryName(deb)!);
        if (!File.Exists(deb))
        {
            progress.WriteLine($"source {package} {wanted.Version}: apt-get download");
            await apt.DownloadAsync(wanted, deb, cancellationToken);
        }
        return (deb, wanted.Version);
    }

    /// <summary>
    /// Debian's source package: apt-get download, unpack the tarball once, make it a git tree. The version apt would install
    /// lives in <c>src/&lt;package&gt;</c>; another version (a package walk's step) in <c>src/&lt;package&gt;_&lt;version&gt;</c>,
    /// unless the first tree already is that version.
    /// </summary>
    private async Task<(string, string, string?)> DebianTreeAsync(DebianSourceTree source, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Sources);
        var tree = Path.Combine(Sources, source.Package);
        if (source.Version is { } asked)
        {
            var defaultId = Path.Combine(tree, ".harness-source");
            if (!(File.Exists(defaultId) && (await File.ReadAllTextAsync(defaultId, cancellationToken)).Trim() == $"{source.Package} {asked}"))
                tree = Path.Combine(Sources, $"{source.Package}_{asked.Replace(':', '%')}");
        }
        var idFile = Path.Combine(tree, ".harness-source");
        if (File.Exists(idFile)) return (tree, (await File.ReadAllTextAsync(idFile, cancellationToken)).Trim(), null);

        using (await CacheLock.AcquireAsync(CacheLock.For(tree), progress, $"unpacking {source.Package}", cancellationToken))
        {
            if (File.Exists(idFile)) return (tree, (await File.ReadAllTextAsync(idFile, cancellationToken)).Trim(), null);
            var (deb, version) = await SourceDebAsync(source.Package, source.Version, cancellationToken);
            var unpack = tree + ".deb-unpacked";
            if (Directory.Exists(unpack)) Directory.Delete(unpack, recursive: true);
            await RunAsync("dpkg-deb", ["-x", deb, unpack], Sources, cancellationToken);
            var tarball = Directory.GetFiles(Path.Combine(unpack, "usr", "src"), "linux-source-*.tar.*").Single();
            if (Directory.Exists(tree)) Directory.Delete(tree, recursive: true);
            Directory.CreateDirectory(tree);
            progress.WriteLine($"source {source.Package} {version}: unpacking {Path.GetFileName(tarball)}");
            await RunAsync("tar", ["-xf", tarball, "-C", tree, "--strip-components=1"], tree, cancellationToken);
            Directory.Delete(unpack, recursive: true);
            await MakeGitTreeAsync(tree, cancellationToken);
            var id = $"{source.Package} {version}";
            await File.WriteAllTextAsync(idFile, id, cancellationToken);
            return (tree, id, null);
        }
    }

    /// <summary>
    /// A local git repository: one shared clone per repository in the cache (cloned under the tree's
    /// lock); the ref's commit is checked out by the build, under the same lock.
    /// </summary>
    private async Task<(string, string, string?)> GitTreeAsync(KernelSpec spec, GitTree source, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(source.Repository))
            throw new InputException(new InputProblem(spec.SourceFile, 0, 0, "source.git", $"{source.Repository} does not exist"));
        var tree = Path.Combine(Sources, "git-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(source.Repository)))[..12]);
        Directory.CreateDirectory(Sources);
        if (!Directory.Exists(Path.Combine(tree, ".git")))
        {
            using (await CacheLock.AcquireAsync(CacheLock.For(tree), progress, $"cloning {source.Repository}", cancellationToken))
            {
                if (!Directory.Exists(Path.Combine(tree, ".git")))
                {
                    // Cloned beside and renamed: a clone interrupted half-way is never taken for the tree.
                    var partial = $"{tree}.{Guid.NewGuid():N}.partial";
                    await RunAsync("git", ["clone", "-q", "--shared", "--no-checkout", source.Repository, partial], Sources, cancellationToken);
                    if (Directory.Exists(tree)) Directory.Delete(tree, recursive: true);
                    Directory.Move(partial, tree);
                }
            }
        }
        var commit = (await RunAsync("git", ["-C", tree, "rev-parse", "--verify", source.Ref + "^{commit}"], tree, cancellationToken)).Trim();
        return (tree, $"git {source.Repository} {source.Ref} ({commit[..12]})", commit);
    }

    private async Task MakeGitTreeAsync(string tree, CancellationToken cancellationToken)
    {
        progress.WriteLine($"source: recording the pristine tree in git (once; lets patch sets switch without a rebuild)");
        await RunAsync("git", ["init", "-q"], tree, cancellationToken);
        // -f: Debian's tarball ships a .gitignore that ignores its whole top level.
        await RunAsync("git", ["add", "-A", "-f"], tree, cancellationToken);
        await RunAsync("git", ["-c", "user.name=harness", "-c", "user.email=harness@localhost", "commit", "-q", "-m", "pristine"], tree, cancellationToken);
    }

    // ---- patches, config, build ----------------------------------------------------------

    /// <summary>git apply's complaints ("error: patch failed: fs/direct-io.c:316") as located problems.</summary>
    internal static IReadOnlyList<InputProblem> PatchProblems(string patch, string gitOutput)
    {
        var problems = new List<InputProblem>();
        var errors = gitOutput.Split('\n', StringSplitOptions.TrimEntries)
            .Where(l => l.StartsWith("error: ", StringComparison.Ordinal)).Select(l => l["error: ".Length..]).ToList();
        var used = new HashSet<int>();
        for (var i = 0; i < errors.Count; i++)
        {
            var m = PatchFailed().Match("error: " + errors[i]);
            if (!m.Success) continue;
            used.Add(i);
            // git follows "patch failed: F:N" with "F: <reason>".
            var reasonAt = errors.FindIndex(i + 1, e => e.StartsWith(m.Groups[1].Value + ":", StringComparison.Ordinal));
            var reason = reasonAt < 0 ? "patch does not apply" : errors[reasonAt];
            if (reasonAt >= 0) used.Add(reasonAt);
            problems.Add(new InputProblem(patch, 0, 0, $"hunk at {m.Groups[1].Value}:{m.Groups[2].Value}", $"does not apply: {reason}"));
        }
        for (var i = 0; i < errors.Count; i++)
            if (!used.Contains(i) && errors[i] != "while searching for:")
                problems.Add(new InputProblem(patch, 0, 0, "(patch)", errors[i]));
        if (problems.Count == 0) problems.Add(new InputProblem(patch, 0, 0, "(patch)", gitOutput.Trim()));
        return problems;
    }

    [GeneratedRegex(@"^error: patch failed: (.+):(\d+)$")]
    private static partial Regex PatchFailed();

    private async Task ConfigureAsync(string tree, KernelBuildSpec build, string log, CancellationToken cancellationToken)
    {
        var config = Path.Combine(tree, ".config");
        var before = File.Exists(config) ? await File.ReadAllTextAsync(config, cancellationToken) : null;
        var stamp = File.Exists(config) ? File.GetLastWriteTimeUtc(config) : default;
        await RunAsync("make", [build.BaseConfig], tree, cancellationToken, log);
        if (build.Fragments.Count > 0)
        {
            await RunAsync(Path.Combine(tree, "scripts", "kconfig", "merge_config.sh"), ["-m", ".config", .. build.Fragments], tree, cancellationToken, log);
            await RunAsync("make", ["olddefconfig"], tree, cancellationToken, log);
        }
        var after = await File.ReadAllTextAsync(config, cancellationToken);
        // Same config as last build: keep its timestamp so nothing is rebuilt for it.
        if (before == after) File.SetLastWriteTimeUtc(config, stamp);
        var missing = MissingSymbols(after, build.Fragments);
        if (missing.Count > 0)
            progress.WriteLine($"  warning: config fragment symbols not set as asked (missing dependencies?): {string.Join(", ", missing.Take(12))}");
    }

    /// <summary>CONFIG_X=y|m|value lines of the fragments that the final .config does not have.</summary>
    internal static IReadOnlyList<string> MissingSymbols(string config, IReadOnlyList<string> fragments)
    {
        var have = config.Split('\n').Select(l => l.Trim()).ToHashSet(StringComparer.Ordinal);
        return fragments.SelectMany(File.ReadAllLines).Select(l => l.Trim())
            .Where(l => l.StartsWith("CONFIG_", StringComparison.Ordinal) && !have.Contains(l))
            .Select(l => l.Split('=')[0]).ToArray();
    }

    private async Task MakeAsync(string tree, string name, string log, BuildEstimate estimate, CancellationToken cancellationToken)
    {
        var cores = jobs ?? Environment.ProcessorCount;
        var args = new List<string> { $"-j{cores}", "bzImage", "KBUILD_BUILD_TIMESTAMP=harness", "KBUILD_BUILD_USER=harness", "KBUILD_BUILD_HOST=harness" };
        var env = new Dictionary<string, string?>();
        if (HostCommand.FindOnPath("ccache") is not null)
        {
            args.Add("CC=ccache gcc");
            env["CCACHE_DIR"] = Path.Combine(cacheDirectory, "ccache");
            env["CCACHE_BASEDIR"] = tree;
        }
        var compiled = 0;
        var clock = Stopwatch.StartNew();
        WorkProgress Report(int files, TimeSpan elapsed) =>
            new($"  building {name}", "files compiled", files, estimate.Files is { } n ? Math.Max(n, files) : null, elapsed) { Estimate = estimate.Source };
        var lastReport = TimeSpan.Zero;
        await using var logStream = new StreamWriter(log, append: true);
        var tail = new Queue<string>();
        void Line(string line)
        {
            lock (tail)
            {
                logStream.WriteLine(line);
                tail.Enqueue(line);
                if (tail.Count > 40) tail.Dequeue();
                if (line.StartsWith("  CC", StringComparison.Ordinal)) compiled++;
                // Live: a few redraws a second; plain: a line every 15 s, so a CI log stays readable.
                var live = WorkProgressWriter.IsLive(progress);
                if (clock.Elapsed - lastReport > (live ? TimeSpan.FromMilliseconds(250) : TimeSpan.FromSeconds(15)))
                {
                    lastReport = clock.Elapsed;
                    WorkProgressWriter.Report(progress, Report(compiled, clock.Elapsed));
                }
            }
        }
        progress.WriteLine($"  make -j{cores} bzImage in {tree} (log: {log}; expected: {estimate.Source})");
        var result = await Cli.Wrap("make").WithArguments(args).WithWorkingDirectory(tree).WithEnvironmentVariables(env)
            .WithStandardOutputPipe(PipeTarget.ToDelegate(Line)).WithStandardErrorPipe(PipeTarget.ToDelegate(Line))
            .WithValidation(CommandResultValidation.None).ExecuteAsync(cancellationToken);
        if (result.ExitCode != 0)
            throw new MachineException($"kernel build of {name} failed (make exited {result.ExitCode}); log: {log}\n{string.Join('\n', tail)}");
        if (WorkProgressWriter.IsLive(progress)) WorkProgressWriter.Report(progress, Report(compiled, clock.Elapsed) with { Finished = true });
        progress.WriteLine($"  built {name}: {compiled} files compiled in {clock.Elapsed.TotalSeconds:F0} s");
    }

    // ---- cache key ------------------------------------------------------------------

    // The applied series' text, in order (not the given files: an mbox counts as the messages it applies).
    private static async Task<string> KeyAsync(string sourceId, KernelBuildSpec build, PatchSeries series, CancellationToken cancellationToken)
    {
        var sb = new StringBuilder().AppendLine(sourceId).AppendLine(build.BaseConfig);
        foreach (var f in build.Fragments) sb.AppendLine("fragment").AppendLine(await File.ReadAllTextAsync(f, cancellationToken));
        foreach (var p in series.Patches) sb.AppendLine("patch").AppendLine(await File.ReadAllTextAsync(p.File, cancellationToken));
        sb.AppendLine(await RunAsync("gcc", ["--version"], Environment.CurrentDirectory, cancellationToken));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    private static Task<string> RunAsync(string program, IReadOnlyList<string> args, string directory, CancellationToken cancellationToken, string? log = null) =>
        HostCommand.RunAsync(program, args, cancellationToken, directory, log);
}
