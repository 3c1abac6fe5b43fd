// The cases folder: lists and finds cases by name, so commands take `--case seed`.
using Harness.Yaml;

namespace Harness.Cases;

public sealed class CaseCatalog(string directory)
{
    public string Directory { get; } = directory;

    /// <summary>
    /// Every valid case in the folder. A broken file (a draft) does not hide the others: it is
    /// in <see cref="Scan"/>'s Broken list, and an error only when it is the case asked for.
    /// </summary>
    public IReadOnlyList<CaseSpec> LoadAll() => Scan().Cases;

    /// <summary>The folder's cases, valid and broken, each broken one with its error.</summary>
    public CaseScan Scan()
    {
        if (!System.IO.Directory.Exists(Directory))
            throw new InputException(new InputProblem(Directory, 0, 0, "--cases-dir", "no such directory"));
        var cases = new List<CaseSpec>();
        var broken = new List<BrokenCase>();
        foreach (var path in System.IO.Directory.GetFiles(Directory, "*.yaml").Order(StringComparer.Ordinal))
        {
            try
            {
                cases.Add(CaseLoader.Load(path, Display(path)));
            }
            catch (InputException e)
            {
                broken.Add(new BrokenCase(Display(path), e));
            }
        }
        return new CaseScan(cases, broken);
    }

    /// <summary>Relative to the working directory when inside it (how users typed it), else absolute.</summary>
    private static string Display(string path)
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return relative.StartsWith("..", StringComparison.Ordinal) ? Path.GetFullPath(path) : relative;
    }

    /// <summary>
    /// True when `--case` names a file rather than a case in the folder: a case name is a slug,
    /// so anything with a dot or a slash (seed.yaml, job.fio, job.ini, ./job) is a path.
    /// </summary>
    public static bool IsPath(string nameOrPath) => nameOrPath.Contains('.') || nameOrPath.Contains('/');

    /// <summary>A case by name, or by path to a YAML case or an fio job file.</summary>
    public CaseSpec Find(string nameOrPath)
    {
        if (IsPath(nameOrPath))
            return FioCase.IsJobFile(nameOrPath) ? FioCase.Load(nameOrPath) : CaseLoader.Load(nameOrPath);
        var scan = Scan();
        if (scan.Cases.FirstOrDefault(c => c.Name == nameOrPath) is { } found) return found;
        // The broken file this name most likely meant (its file name) answers with its own errors.
        if (scan.Broken.FirstOrDefault(b => Path.GetFileNameWithoutExtension(b.File) == nameOrPath) is { } meant)
            throw meant.Error;
        var brokenNote = scan.Broken.Count == 0 ? "" :
            $"; broken case files skipped (see 'harness cases list'): {string.Join(", ", scan.Broken.Select(b => b.File))}";
        throw new InputException(new InputProblem(Directory, 0, 0, "--case",
            $"no case named '{nameOrPath}'; known cases: {string.Join(", ", scan.Cases.Select(c => c.Name))}{brokenNote}"));
    }
}

/// <summary>A case file that does not validate, with why.</summary>
public sealed record BrokenCase(string File, InputException Error)
{
    /// <summary>The first problem, on one line, for listings.</summary>
    public string Reason => Error.Problems.Count == 0 ? Error.Message : Error.Problems[0].ToString()
        + (Error.Problems.Count > 1 ? $" (and {Error.Problems.Count - 1} more)" : "");
}

/// <summary>What a cases folder holds.</summary>
public sealed record CaseScan(IReadOnlyList<CaseSpec> Cases, IReadOnlyList<BrokenCase> Broken);
