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
        source?.RejectUnknown();
        root.RejectUnknown();

        if (name is not null && !IsName(name))
            root.Problem("name", $"'{name}' must be lower-case letters, digits, dots and dashes (it names result folders)");
        if (source is not null)
        {
            if (package is null && bzImage is null)
                root.Problem("source", $"needs one of: {DebianPackage} (a Debian kernel package glob), {BzImage} (a kernel image file)");
            if (package is not null && bzImage is not null)
                source.Problem(BzImage, $"give either {DebianPackage} or {BzImage}, not both");
            if (package is not null && modules is not null)
                source.Problem(Modules, $"only goes with {BzImage}: a Debian package brings its own modules");
            if (package is not null && !IsPackagePattern(package))
                source.Problem(DebianPackage, $"'{package}' must be a Debian package name starting with '{ImagePrefix}', with * or ? as wildcards (example: linux-image-6.1.0-*-cloud-amd64-unsigned)");
        }
        root.ThrowIfProblems();

        var folder = baseDirectory ?? Path.GetDirectoryName(Path.GetFullPath(displayPath))!;
        KernelSource kernelSource = package is not null
            ? new DebianPackageSource(package)
            : new LocalImageSource(Path.GetFullPath(bzImage!, folder), modules is null ? null : Path.GetFullPath(modules, folder));
        return new KernelSpec(name!, description!, kernelSource, displayPath);
    }

    /// <summary>Loads a kernel spec file; errors name it as <paramref name="displayPath"/> (default: <paramref name="path"/>).</summary>
    public static KernelSpec Load(string path, string? displayPath = null)
    {
        if (!File.Exists(path))
            throw new InputException(new InputProblem(displayPath ?? path, 0, 0, "(file)", "no such kernel spec file"));
        return Parse(displayPath ?? path, File.ReadAllText(path), Path.GetDirectoryName(Path.GetFullPath(path)));
    }

    private static bool IsName(string s) =>
        s.Length > 0 && s.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '.');

    // Debian policy: package names are [a-z0-9][a-z0-9+.-]+; * and ? are our wildcards.
    private static bool IsPackagePattern(string s) =>
        s.StartsWith(ImagePrefix, StringComparison.Ordinal)
        && s.Length > ImagePrefix.Length
        && s.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '+' or '.' or '-' or '*' or '?');
}
