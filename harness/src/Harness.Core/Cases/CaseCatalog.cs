// The cases folder: lists and finds cases by name, so commands take `--case seed`.
using Harness.Yaml;

namespace Harness.Cases;

public sealed class CaseCatalog(string directory)
{
    public string Directory { get; } = directory;

    /// <summary>Every case in the folder; the first bad file stops the listing with its error.</summary>
    public IReadOnlyList<CaseSpec> LoadAll()
    {
        if (!System.IO.Directory.Exists(Directory))
            throw new InputException(new InputProblem(Directory, 0, 0, "--cases-dir", "no such directory"));
        return System.IO.Directory.GetFiles(Directory, "*.yaml")
            .Order(StringComparer.Ordinal)
            .Select(path => CaseLoader.Load(path, Display(path)))
            .ToArray();
    }

    /// <summary>Relative to the working directory when inside it (how users typed it), else absolute.</summary>
    private static string Display(string path)
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return relative.StartsWith("..", StringComparison.Ordinal) ? Path.GetFullPath(path) : relative;
    }

    /// <summary>A case by name, or by path to a YAML file.</summary>
    public CaseSpec Find(string nameOrPath)
    {
        if (nameOrPath.EndsWith(".yaml", StringComparison.Ordinal) || nameOrPath.Contains('/'))
            return CaseLoader.Load(nameOrPath);
        var all = LoadAll();
        return all.FirstOrDefault(c => c.Name == nameOrPath)
            ?? throw new InputException(new InputProblem(Directory, 0, 0, "--case",
                $"no case named '{nameOrPath}'; known cases: {string.Join(", ", all.Select(c => c.Name))}"));
    }
}
