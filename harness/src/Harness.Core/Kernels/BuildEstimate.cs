// How many files a kernel build will compile, guessed before make starts, so its progress can
// show a total and an ETA. Kbuild cannot say up front what an incremental build will redo, so the
// guess comes from earlier builds of the same source: their build.log lists each compiled file
// ("  CC  path"). A tree with no object files builds from scratch: the largest earlier build of
// that source is the total. A tree with objects builds incrementally: the most recent earlier build
// that compiled fewer files than that (an earlier incremental one) is the guess. The estimate says
// which it used; with no earlier build there is no total, only a count.
namespace Harness.Kernels;

/// <summary>The expected number of compiled files (null: unknown) and where the number came from.</summary>
public sealed record BuildEstimate(int? Files, string Source)
{
    /// <summary>Files compiled according to a build log: its "  CC" lines.</summary>
    public static int CompiledIn(string buildLog) =>
        File.ReadLines(buildLog).Count(l => l.StartsWith("  CC", StringComparison.Ordinal));

    /// <summary>
    /// The estimate for building in <paramref name="tree"/> from the logs of earlier builds of the same
    /// source (<paramref name="builtRoot"/>/*/build.json whose origin starts with "built <paramref name="sourceId"/>;", or any
    /// commit of the same git tree).
    /// </summary>
    public static BuildEstimate For(string tree, string builtRoot, string sourceId)
    {
        // A git source's id names the commit ("git <tree> <sha> (<short>)"); every commit of that tree counts.
        var family = sourceId.StartsWith("git ", StringComparison.Ordinal) ? string.Join(' ', sourceId.Split(' ').Take(2)) + " " : sourceId + ";";
        var earlier = new List<(int Files, DateTime When)>();
        if (Directory.Exists(builtRoot))
            foreach (var folder in Directory.GetDirectories(builtRoot))
            {
                var json = Path.Combine(folder, "build.json");
                var log = Path.Combine(folder, "build.log");
                if (!File.Exists(json) || !File.Exists(log)) continue;
                if (!File.ReadAllText(json).Contains($"\"built {family}", StringComparison.Ordinal)) continue;
                var files = CompiledIn(log);
                if (files > 0) earlier.Add((files, File.GetLastWriteTimeUtc(log)));
            }
        if (earlier.Count == 0) return new BuildEstimate(null, $"no earlier build of {family.TrimEnd(' ', ';')} to count from");
        var full = earlier.Max(e => e.Files);
        if (!HasObjects(tree))
            return new BuildEstimate(full, $"{full} files: the largest earlier build of {family.TrimEnd(' ', ';')} (this tree builds from scratch)");
        var incremental = earlier.Where(e => e.Files < full).OrderByDescending(e => e.When).FirstOrDefault();
        return incremental.Files > 0
            ? new BuildEstimate(incremental.Files, $"{incremental.Files} files: the latest earlier incremental build of {family.TrimEnd(' ', ';')} (a rough guess: what a build redoes depends on what changed)")
            : new BuildEstimate(full, $"{full} files: an earlier full build of {family.TrimEnd(' ', ';')} (an upper bound: this tree has objects, so the build is incremental)");
    }

    // Kbuild leaves init/main.o in any tree that got as far as building; checking one known object avoids walking the tree.
    private static bool HasObjects(string tree) =>
        File.Exists(Path.Combine(tree, "init", "main.o")) || File.Exists(Path.Combine(tree, "vmlinux.o"));
}
