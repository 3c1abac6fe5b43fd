// The versions of a Debian kernel package series that apt can download, oldest first: the range a
// package bisection walks (the same BisectionLoop as a git range, one "commit" per version). Each
// cloud-kernel ABI is its own package name (linux-image-6.1.0-50-cloud-amd64-unsigned), a source
// package has several versions of one name (linux-source-6.1 6.1.170 … 6.1.192): both are listed.
// Only apt's local index is read (apt-cache); nothing is downloaded here.
using Harness.Kernels;
using Harness.Machines;
using Harness.Yaml;

namespace Harness.Bisection;

public static class PackageSeries
{
    /// <summary>
    /// Every (package, version) apt knows whose name matches <paramref name="pattern"/> (a glob, as kernel
    /// specs write it), oldest first by Debian version order, as range entries: <c>Sha</c> is
    /// "package=version" (what apt-get download takes), <c>Subject</c> the version.
    /// </summary>
    public static async Task<IReadOnlyList<BisectCommit>> ResolveAsync(string pattern, CancellationToken cancellationToken)
    {
        var glob = PackageGlob.ToRegex(pattern);
        var names = (await HostCommand.RunAsync("apt-cache", ["pkgnames", PackageGlob.Prefix(pattern)], cancellationToken))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(name => glob.IsMatch(name)).Distinct(StringComparer.Ordinal).ToArray();
        if (names.Length == 0) return [];
        // Without --no-all-versions: every version of every name that some configured source serves.
        var show = await HostCommand.RunAsync("apt-cache", ["show", .. names], cancellationToken);
        return Parse(show)
            .Distinct()
            .OrderBy(p => p.Version, Comparer<string>.Create(DebianVersion.Compare))
            .ThenBy(p => p.Name, StringComparer.Ordinal)
            .Select((p, i) => new BisectCommit(i, $"{p.Name}={p.Version}", p.Version))
            .ToArray();
    }

    /// <summary>
    /// The part of <paramref name="series"/> from <paramref name="good"/> to <paramref name="bad"/> (each a
    /// "package=version", a version, or a package name; null: the oldest and the newest), renumbered from 0.
    /// </summary>
    public static IReadOnlyList<BisectCommit> Slice(IReadOnlyList<BisectCommit> series, string? good, string? bad, string pattern)
    {
        if (series.Count < 2)
            throw new InputException(new InputProblem("--kernel-series", 0, 0, "--kernel-series",
                $"apt knows {series.Count} version(s) of '{pattern}': nothing to bisect (apt-get update? `apt-cache policy` shows the sources)"));
        int Find(string? given, string option, int fallback)
        {
            if (given is null) return fallback;
            var matches = series.Where(v => v.Sha == given || v.Subject == given || v.Sha.StartsWith(given + "=", StringComparison.Ordinal)).ToArray();
            if (matches.Length != 1)
                throw new InputException(new InputProblem(option, 0, 0, option,
                    $"'{given}' names {matches.Length} of the {series.Count} versions of '{pattern}'; give one of: {string.Join(", ", series.Select(v => v.Sha))}"));
            return matches[0].Index;
        }
        var from = Find(good, "--good", 0);
        var to = Find(bad, "--bad", series.Count - 1);
        if (from >= to)
            throw new InputException(new InputProblem("--good", 0, 0, "--good", $"--good {series[from].Sha} is not older than --bad {series[to].Sha}"));
        return series.Skip(from).Take(to - from + 1).Select((v, i) => v with { Index = i }).ToArray();
    }

    private static IEnumerable<(string Name, string Version)> Parse(string text)
    {
        string? name = null;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("Package: ", StringComparison.Ordinal)) name = line["Package: ".Length..].Trim();
            else if (line.StartsWith("Version: ", StringComparison.Ordinal) && name is not null)
            {
                yield return (name, line["Version: ".Length..].Trim());
                name = null;
            }
        }
    }
}
