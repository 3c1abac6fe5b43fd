// This machine's Debian mirror, read from apt's own configuration, so the runner image comes from
// the same archive (and proxy, snapshot or lab mirror) the host's packages come from.
using System.Security.Cryptography;

namespace Harness.Machines.Docker;

public static class AptSources
{
    /// <summary>
    /// The first mirror serving <paramref name="suite"/> main: deb822 files (sources.list.d/*.sources,
    /// "URIs:" with "Suites:" naming the suite) or one-line "deb URI suite main" entries.
    /// </summary>
    public static string? DebianMirror(string root, string suite)
    {
        var etc = Path.Combine(root, "etc/apt");
        var files = new List<string>();
        if (File.Exists(Path.Combine(etc, "sources.list"))) files.Add(Path.Combine(etc, "sources.list"));
        if (Directory.Exists(Path.Combine(etc, "sources.list.d")))
            files.AddRange(Directory.GetFiles(Path.Combine(etc, "sources.list.d")).Where(f => f.EndsWith(".list", StringComparison.Ordinal) || f.EndsWith(".sources", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            var found = file.EndsWith(".sources", StringComparison.Ordinal) ? FromDeb822(text, suite) : FromOneLine(text, suite);
            if (found is not null) return found.TrimEnd('/');
        }
        return null;
    }

    private static string? FromOneLine(string text, string suite)
    {
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Split('#')[0].Trim();
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => !w.StartsWith('[')).ToArray();
            if (words is ["deb", var uri, var s, .. var components] && s == suite && components.Contains("main")) return uri;
        }
        return null;
    }

    private static string? FromDeb822(string text, string suite)
    {
        foreach (var stanza in text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = stanza.Split('\n').Where(l => !l.TrimStart().StartsWith('#') && l.Contains(':'))
                .Select(l => (Key: l[..l.IndexOf(':')].Trim(), Value: l[(l.IndexOf(':') + 1)..].Trim()))
                .GroupBy(f => f.Key, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.First().Value, StringComparer.OrdinalIgnoreCase);
            if (fields.TryGetValue("Enabled", out var enabled) && enabled == "no") continue;
            if (!fields.TryGetValue("Types", out var types) || !types.Split(' ').Contains("deb")) continue;
            if (!fields.TryGetValue("Suites", out var suites) || !suites.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(suite)) continue;
            if (!fields.TryGetValue("Components", out var components) || !components.Split(' ').Contains("main")) continue;
            if (fields.TryGetValue("URIs", out var uris) && uris.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() is { } uri) return uri;
        }
        return null;
    }

    /// <summary>The version `apt-cache madison` lists for <paramref name="mirror"/> <paramref name="suite"/>/main, or null.</summary>
    public static string? VersionIn(string madison, string mirror, string suite)
    {
        foreach (var line in madison.Split('\n'))
        {
            var parts = line.Split('|', StringSplitOptions.TrimEntries);
            if (parts.Length == 3 && parts[2].StartsWith($"{mirror.TrimEnd('/')} {suite}/main ", StringComparison.Ordinal)) return parts[1];
        }
        return null;
    }

    /// <summary>
    /// The identity of apt's index of <paramref name="suite"/> at <paramref name="mirror"/>: the SHA-256 of
    /// its InRelease (or Release) file in /var/lib/apt/lists; "none" when apt has not fetched it.
    /// </summary>
    public static string IndexId(string root, string mirror, string suite)
    {
        var name = mirror.Contains("://", StringComparison.Ordinal) ? mirror[(mirror.IndexOf("://", StringComparison.Ordinal) + 3)..] : mirror;
        var stem = Path.Combine(root, "var/lib/apt/lists", $"{name.TrimEnd('/').Replace('/', '_')}_dists_{suite}_");
        foreach (var file in new[] { stem + "InRelease", stem + "Release" })
            if (File.Exists(file)) return Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)))[..16];
        return "none";
    }
}
