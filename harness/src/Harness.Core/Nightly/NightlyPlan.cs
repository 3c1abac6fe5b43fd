// A nightly plan (cases/nightly/*.yaml): which kernels, filesystems (or setups) and cases to run
// every night, how many repeats, and how hard a regression must be shown before it is bisected.
// Read with the project's YAML rules (bounded input, one document, every problem at file:line and
// field) and resolved against the kernel, case and setup catalogs, so a bad name is an input error
// at its line before anything runs. The plan's SHA-256 identifies it: only a nightly of the same
// name and content hash is a baseline.
using System.Globalization;
using System.Security.Cryptography;
using Harness.Cases;
using Harness.Filesystems;
using Harness.Kernels;
using Harness.Setups;
using Harness.Verdicts;
using Harness.Yaml;

namespace Harness.Nightly;

/// <summary>How a kernel's two versions are bisected when a cell regresses between them.</summary>
public enum BisectWith
{
    /// <summary>Never bisected (the host kernel, a kernel on disk, a Debian source package).</summary>
    None,
    /// <summary>The versions apt can download between the old and the new package (`bisect --kernel-series`).</summary>
    PackageSeries,
    /// <summary>The commits between the old and the new commit of a git-sourced spec (`bisect --tree`).</summary>
    Git,
}

/// <summary>
/// One kernel of a plan: <see cref="Name"/> labels its cells; <see cref="Spec"/> is null for the host
/// kernel (the local machine), else the kernel spec (a catalog entry or a Debian package pattern given
/// in the plan, resolved to its newest version when the nightly runs).
/// </summary>
public sealed record NightlyKernelPlan(string Name, KernelSpec? Spec, BisectWith BisectWith, int Line)
{
    /// <summary>The reserved kernel name for the host kernel (cells run on the local machine).</summary>
    public const string Host = "host";
}

/// <summary>A validated nightly plan; <see cref="Sha256"/> is the plan file's content hash.</summary>
public sealed record NightlyPlan(
    string Name,
    string SourceFile,
    string Sha256,
    IReadOnlyList<NightlyKernelPlan> Kernels,
    IReadOnlyList<FilesystemSpec> Filesystems,
    IReadOnlyList<CaseSpec> Cases,
    int Repeats,
    int Guests,
    double MaxResidual,
    double Alpha,
    double BisectProbability,
    int BisectMaxRuns)
{
    /// <summary>Compared (kernel, filesystem, case) cells: the Bonferroni count of the comparison.</summary>
    public int Cells => Kernels.Count * Filesystems.Count * Cases.Count;

    /// <summary>
    /// The validate statistics for one comparison of this plan: one look (a nightly runs a fixed number
    /// of repeats) of <see cref="Repeats"/> a side over <see cref="Guests"/> guests, Bonferroni over every cell.
    /// </summary>
    public VerdictPolicy Policy => new(Alpha: Alpha, BatchSize: Repeats, MaxResidual: MaxResidual, MaxRunsPerSide: Repeats, Guests: Guests, Pairs: Math.Max(1, Cells));
}

/// <summary>Reads nightly plans into <see cref="NightlyPlan"/>, resolving kernels, filesystems or setups, and cases by name.</summary>
public static class NightlyPlanLoader
{
    private static readonly string[] BisectWords = ["auto", "none", "package-series", "git"];

    /// <summary>Loads and resolves a plan; every problem is an <see cref="InputException"/> naming file:line and field.</summary>
    public static NightlyPlan Load(string path, string casesDir, string kernelsDir, string setupsFile)
    {
        if (!File.Exists(path))
            throw new InputException(new InputProblem("--plan", 0, 0, "--plan", Directory.Exists(path) ? $"{path} is a folder; pass the plan file (cases/nightly/debian-cloud.yaml)" : $"no such plan file: {path}"));
        var text = YamlFields.ReadBounded(path, path);
        var sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
        return Parse(path, text, sha, casesDir, kernelsDir, setupsFile);
    }

    /// <summary>Parses plan text (shown as <paramref name="file"/> in errors).</summary>
    public static NightlyPlan Parse(string file, string text, string sha256, string casesDir, string kernelsDir, string setupsFile)
    {
        var root = YamlFields.Parse(file, text);
        var name = root.String("name", required: true);
        root.String("description");
        var kernelEntries = root.Entries("kernels", required: true) ?? [];
        var fsNames = root.StringList("filesystems");
        var setupNames = root.StringList("setups");
        var setupsPath = root.String("setups-file") is { } sf ? Path.GetFullPath(sf, Path.GetDirectoryName(Path.GetFullPath(file))!) : setupsFile;
        var caseNames = root.StringList("cases", required: true) ?? [];
        var repeats = root.Int("repeats", 1, 10_000, required: true);
        var guests = root.Int("guests", VerdictPolicy.MinFailingGuests, 64) ?? 2;
        var maxResidual = Fraction(root, "max-residual") ?? 0.05;
        var alpha = Fraction(root, "alpha") ?? 0.01;
        var bisect = root.Map("bisect");
        var probability = bisect is null ? null : Fraction(bisect, "probability");
        var maxRuns = bisect?.Int("max-runs", 1, 100_000) ?? 500;
        bisect?.RejectUnknown();
        root.RejectUnknown();

        if (name is not null && !IsName(name))
            root.Problem("name", $"'{name}' must be lower-case letters, digits, '-' and '_' (it names the nightly and its baseline)");
        if (probability is { } p && !(p > 0.5 && p < 1)) bisect!.Problem("probability", $"{p} is out of range: above 0.5 and below 1");
        if (fsNames is null == setupNames is null)
            root.Problem(fsNames is null ? "filesystems" : "setups", "give exactly one of filesystems: [ext4, xfs, btrfs] or setups: [names in the setups file]");
        if (kernelEntries.Count == 0 && root.Problems.Count == 0) root.Problem("kernels", "names no kernel; add one (debian-6.1-cloud: {})");
        if (caseNames.Count == 0 && root.Problems.Count == 0) root.Problem("cases", "names no case; 'harness cases list' shows them");

        var kernels = new List<NightlyKernelPlan>();
        KernelCatalog? catalog = null;
        foreach (var (kernelName, line, f) in kernelEntries)
        {
            var specName = f.String("spec");
            var package = f.String("debian-package");
            var with = f.OneOf("bisect-with", BisectWords) ?? "auto";
            f.RejectUnknown();
            if (!IsName(kernelName)) { f.Problem("name", $"kernel name '{kernelName}' must be lower-case letters, digits, '-' and '_' (it names cells)"); continue; }
            KernelSpec? spec = null;
            if (kernelName == NightlyKernelPlan.Host)
            {
                if (specName is not null || package is not null) f.Problem("spec", "'host' is the host kernel (the local machine); name the kernel otherwise to give it a spec");
            }
            else if (specName is not null && package is not null) f.Problem("debian-package", "give spec: or debian-package:, not both");
            else if (package is not null)
            {
                if (!package.StartsWith("linux-image-", StringComparison.Ordinal) || !package.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '+' or '.' or '-' or '*' or '?'))
                    f.Problem("debian-package", $"'{package}' must be a Debian package name starting with 'linux-image-', with * or ? as wildcards (linux-image-6.1.0-*-cloud-amd64-unsigned)");
                else spec = new KernelSpec(kernelName, $"{package}, newest version at run time", new DebianPackageSource(package), file);
            }
            else
            {
                try { spec = (catalog ??= new KernelCatalog(kernelsDir)).Find(specName ?? kernelName); }
                catch (InputException e) { f.Problem("spec", e.Problems[0].Message); }
            }
            var bisectWith = (with, spec?.Source) switch
            {
                ("none", _) or (_, null) => BisectWith.None,
                ("auto" or "package-series", DebianPackageSource) => BisectWith.PackageSeries,
                ("auto" or "git", GitTree) => BisectWith.Git,
                ("auto", _) => BisectWith.None,
                _ => Mismatch(f, with, spec!),
            };
            if (with is "package-series" or "git" && spec is null && kernelName == NightlyKernelPlan.Host)
                f.Problem("bisect-with", "the host kernel cannot be bisected; use none");
            kernels.Add(new NightlyKernelPlan(kernelName, spec, bisectWith, line));
        }
        if (kernels.Select(k => k.Name).Distinct().Count() != kernels.Count) root.Problem("kernels", "two kernels share a name");

        var filesystems = new List<FilesystemSpec>();
        foreach (var fs in fsNames ?? [])
        {
            var found = FilesystemCatalog.All.FirstOrDefault(x => x.Name == fs);
            if (found is null) root.Problem("filesystems", $"unknown filesystem '{fs}'; valid: {string.Join(", ", FilesystemCatalog.All.Select(x => x.Name))}");
            else filesystems.Add(found);
        }
        if (setupNames is not null)
        {
            try { filesystems.AddRange(SetupLoader.Select(SetupLoader.Load(setupsPath), setupNames, setupsPath).Select(s => s.ToFilesystem())); }
            catch (InputException e) { root.Problem("setups", string.Join("; ", e.Problems.Select(x => x.ToString()))); }
        }
        if (filesystems.Select(f => f.CellName).Distinct().Count() != filesystems.Count) root.Problem(setupNames is null ? "filesystems" : "setups", "names one twice");

        var cases = new List<CaseSpec>();
        var caseCatalog = new CaseCatalog(casesDir);
        foreach (var c in caseNames)
        {
            try { cases.Add(caseCatalog.Find(c)); }
            catch (InputException e) { root.Problem("cases", e.Problems[0].Message); }
        }
        if (cases.Select(c => c.Name).Distinct().Count() != cases.Count) root.Problem("cases", "names one case twice");

        if (repeats is { } r && r < guests) root.Problem("repeats", $"{r} repeats cannot give each of the {guests} guests one");
        if (root.Problems.Count == 0)
        {
            var plan = new NightlyPlan(name!, file, sha256, kernels, filesystems, cases, repeats!.Value, guests, maxResidual, alpha,
                probability ?? 0.95, maxRuns);
            // The same procedure as validate: SAME on two clean kernels needs the residual bound, so the
            // plan must run enough repeats for it (Bonferroni over the plan's cells).
            var needed = plan.Policy with { MaxRunsPerSide = 100_000, BatchSize = 100_000 };
            if (needed.CleanRunsForBound > plan.Repeats)
                root.Problem("repeats", $"{plan.Repeats} repeats cannot bound a clean kernel's failure rate at max-residual {maxResidual.ToString(CultureInfo.InvariantCulture)} " +
                                        $"over {plan.Cells} cells (one-sided {VerdictRules.ConfidenceWord(needed.ResidualConfidence)}): it needs {needed.CleanRunsForBound}; raise repeats or max-residual");
            else
            {
                try { plan.Policy.Validate(); }
                catch (ArgumentOutOfRangeException e) { root.Problem("repeats", e.Message.Split(" (Parameter")[0]); }
            }
            root.ThrowIfProblems();
            return plan;
        }
        root.ThrowIfProblems();
        throw new InvalidOperationException("unreachable: problems were thrown");
    }

    private static BisectWith Mismatch(YamlFields f, string with, KernelSpec spec)
    {
        f.Problem("bisect-with", $"{with} needs a kernel whose source is {(with == "git" ? "a git tree (git:)" : "a Debian package pattern (debian-package:)")}; {spec.Name} comes from {spec.Source.GetType().Name}");
        return BisectWith.None;
    }

    private static double? Fraction(YamlFields f, string key)
    {
        if (f.String(key) is not { } s) return null;
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0 && v < 1) return v;
        f.Problem(key, $"'{s}' must be a number strictly between 0 and 1");
        return null;
    }

    private static bool IsName(string s) => s.Length is > 0 and <= 64 && s.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.');
}
