// The kernels folder: lists and finds kernel specs by name, so commands take `--kernel debian-6.1-cloud`.
using Harness.Yaml;

namespace Harness.Kernels;

/// <summary>The kernel specs in one folder (kernels/*.yaml).</summary>
public sealed class KernelCatalog(string directory)
{
    public string Directory { get; } = directory;

    /// <summary>Every kernel spec in the folder; the first bad file stops the listing with its error.</summary>
    public IReadOnlyList<KernelSpec> LoadAll()
    {
        if (!System.IO.Directory.Exists(Directory))
            throw new InputException(new InputProblem(Directory, 0, 0, "--kernels-dir", "no such directory"));
        return System.IO.Directory.GetFiles(Directory, "*.yaml")
            .Order(StringComparer.Ordinal)
            .Select(path => KernelSpecLoader.Load(path, Display(path)))
            .ToArray();
    }

    /// <summary>A kernel spec by name, or by path to a YAML file.</summary>
    public KernelSpec Find(string nameOrPath)
    {
        if (nameOrPath.EndsWith(".yaml", StringComparison.Ordinal) || nameOrPath.Contains('/'))
            return KernelSpecLoader.Load(nameOrPath);
        var all = LoadAll();
        return all.FirstOrDefault(k => k.Name == nameOrPath)
            ?? throw new InputException(new InputProblem(Directory, 0, 0, "--kernel",
                $"no kernel named '{nameOrPath}'; known kernels: {string.Join(", ", all.Select(k => k.Name))}"));
    }

    /// <summary>Relative to the working directory when inside it (how users typed it), else absolute.</summary>
    private static string Display(string path)
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return relative.StartsWith("..", StringComparison.Ordinal) ? Path.GetFullPath(path) : relative;
    }
}
