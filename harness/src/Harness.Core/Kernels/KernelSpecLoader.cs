// Reads kernels/*.yaml into validated KernelSpec records. Every problem names file, line, field.
using Harness.Yaml;

namespace Harness.Kernels;

/// <summary>Parses and validates kernel spec files.</summary>
public static class KernelSpecLoader
{
    private const string DebianPackage = "debian-package";
    private const string BzImage = "bzimage";
    private const string Modules = "modules";
    private const string ImagePrefix = "linux-image-";
    private const string DebianSource = "debian-source";
    private const string Git = "git";
    private const string Ref = "ref";
    private static readonly string[] BaseConfigs = ["tinyconfig", "defconfig", "allnoconfig", "kvm_guest.config"];

    /// <summary>
    /// Loads one kernel spec. <paramref name="displayPath"/> is how errors name it; relative paths in
    /// the spec are taken from <paramref name="baseDirectory"/> (default: the folder of <paramref name="displayPath"/>).
    /// </summary>
    public static KernelSpec Parse(string displayPath, string text, string? baseDirectory = null)
    {
        var root = YamlFields.Parse(displayPath, text);
        var name = root.String("name", required: true);
        var description = root.String("description", required: true);
        var source = root.Map("source", required: true);
        var package = source?.String(DebianPackage);
        var bzImage = source?.String(BzImage);
        var modules = source?.String(Modules);
        var debianSource = source?.String(DebianSource);
        var git = source?.String(Git);
        var gitRef = source?.String(Ref);
        source?.RejectUnknown();
        var folder = baseDirectory ?? Path.GetDirectoryName(Path.GetFullPath(displayPath))!;
        var config = root.Map("config");
        var baseConfig = config?.OneOf("base", BaseConfigs) ?? "tinyconfig";
        var fragments = Files(config, "fragments", folder);
        config?.RejectUnknown();
        var patches = Files(root, "patches", folder);
        root.RejectUnknown();
        var builds = debianSource is not null || git is not null;

        if (name is not null && !IsName(name))
            root.Problem("name", $"'{name}' must be lower-case letters, digits, dots and dashes (it names result folders)");
        if (source is not null)
        {
            var kinds = new[] { package, bzImage, debianSource, git }.Count(k => k is not null);
            if (kinds == 0)
                root.Problem("source", $"needs one of: {DebianPackage} (a Debian kernel package glob), {BzImage} (a kernel image file), {DebianSource} (a Debian kernel source package to build), {Git} (a git tree to build, with {Ref})");
            if (kinds > 1)
                root.Problem("source", $"give exactly one of {DebianPackage}, {BzImage}, {DebianSource}, {Git}");
            if (git is not null && gitRef is null)
                source.Problem(Git, $"needs '{Ref}': the commit, tag or branch to build");
            if (gitRef is not null && git is null)
                source.Problem(Ref, $"only goes with {Git}");
            if (debianSource is not null && !debianSource.StartsWith("linux-source-", StringComparison.Ordinal))
                source.Problem(DebianSource, $"'{debianSource}' must be a Debian kernel source package such as linux-source-6.1");
            if (!builds && (config is not null || patches.Count > 0))
                root.Problem(config is not null ? "config" : "patches", $"config and patches need a source that is built ({DebianSource} or {Git})");
            if (package is not null && modules is not null)
                source.Problem(Modules, $"only goes with {BzImage}: a Debian package brings its own modules");
            if (package is not null && !IsPackagePattern(package))
                source.Problem(DebianPackage, $"'{package}' must be a Debian package name starting with '{ImagePrefix}', with * or ? as wildcards (example: linux-image-6.1.0-*-cloud-amd64-unsigned)");
        }
        root.ThrowIfProblems();

        KernelSource kernelSource =
            package is not null ? new DebianPackageSource(package)
            : debianSource is not null ? new DebianSourceTree(debianSource)
            : git is not null ? new GitTree(Path.GetFullPath(git, folder), gitRef!)
            : new LocalImageSource(Path.GetFullPath(bzImage!, folder), modules is null ? null : Path.GetFullPath(modules, folder));
        return new KernelSpec(name!, description!, kernelSource, displayPath)
        {
            Build = builds ? new KernelBuildSpec(baseConfig, fragments, patches) : null,
        };
    }

    /// <summary>A list of files relative to the spec's folder; each must exist.</summary>
    private static IReadOnlyList<string> Files(YamlFields? fields, string key, string folder)
    {
        var names = fields?.StringList(key) ?? [];
        var paths = new List<string>();
        foreach (var name in names)
        {
            var path = Path.GetFullPath(name, folder);
            if (!File.Exists(path)) fields!.Problem(key, $"'{name}' does not exist (looked for {path})");
            paths.Add(path);
        }
        return paths;
    }

    /// <summary>Loads a kernel spec file; errors name it as <paramref name="displayPath"/> (default: <paramref name="path"/>).</summary>
    public static KernelSpec Load(string path, string? displayPath = null)
    {
        if (!File.Exists(path))
            throw new InputException(new InputProblem(displayPath ?? path, 0, 0, "(file)", "no such kernel spec file"));
        return Parse(displayPath ?? path, YamlFields.ReadBounded(path, displayPath ?? path), Path.GetDirectoryName(Path.GetFullPath(path)));
    }

    private static bool IsName(string s) =>
        s.Length > 0 && s.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '.');

    // Debian policy: package names are [a-z0-9][a-z0-9+.-]+; * and ? are our wildcards.
    private static bool IsPackagePattern(string s) =>
        s.StartsWith(ImagePrefix, StringComparison.Ordinal)
        && s.Length > ImagePrefix.Length
        && s.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '+' or '.' or '-' or '*' or '?');
}
