// What changed between two versions of a Debian kernel package, from the changelog the package itself
// carries (/usr/share/doc/<package>/changelog.Debian.gz; dpkg-deb --fsys-tarfile, that one member).
// Debian's linux-image-*-unsigned and linux-source-* packages carry the whole changelog of the `linux`
// source package (every stable update's upstream commit list); a package that carries only a link (or
// no changelog) says so, naming the link's target, instead of pretending there were no changes.
// Format: https://www.debian.org/doc/debian-policy/ch-source.html#debian-changelog-debian-changelog
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using CliWrap;
using Harness.Machines;

namespace Harness.Kernels;

/// <summary>One changelog entry: "linux (6.1.192-2) bookworm-security; urgency=high", its lines, and the " -- who  date" trailer.</summary>
public sealed record ChangelogEntry(string Source, string Version, string Distribution, string Header, IReadOnlyList<string> Lines, string Trailer);

/// <summary>The entries a package walk prints for its first bad version: those after the last good version, up to the first bad one.</summary>
public sealed record ChangelogSpan(string Package, string Good, string Bad, string Member, IReadOnlyList<ChangelogEntry> Entries)
{
    /// <summary>Why there are no entries when there are none (a link, no changelog in the package), else null.</summary>
    public string? Note { get; init; }

    /// <summary>Shape of this record (<see cref="Results.RecordFormat"/>).</summary>
    public int FormatVersion { get; init; } = Results.RecordFormat.Current;
}

public static partial class DebianChangelog
{
    /// <summary>Entries in file order (newest first), each with its lines (without the blank lines around them).</summary>
    public static IReadOnlyList<ChangelogEntry> Parse(string text)
    {
        var entries = new List<ChangelogEntry>();
        Match? header = null;
        var lines = new List<string>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (header is null)
            {
                if (Header().Match(line) is { Success: true } first) header = first;
                continue;
            }
            if (line.StartsWith(" -- ", StringComparison.Ordinal))
            {
                while (lines.Count > 0 && lines[0].Trim().Length == 0) lines.RemoveAt(0);
                while (lines.Count > 0 && lines[^1].Trim().Length == 0) lines.RemoveAt(lines.Count - 1);
                entries.Add(new ChangelogEntry(header.Groups["source"].Value, header.Groups["version"].Value, header.Groups["dist"].Value.Trim(), header.Value, lines.ToArray(), line));
                header = null;
                lines.Clear();
                continue;
            }
            lines.Add(line);
        }
        return entries;
    }

    /// <summary>The entries with a version after <paramref name="good"/> and up to <paramref name="bad"/> (Debian version order), newest first.</summary>
    public static IReadOnlyList<ChangelogEntry> Between(IReadOnlyList<ChangelogEntry> entries, string good, string bad) =>
        entries.Where(e => DebianVersion.Compare(e.Version, good) > 0 && DebianVersion.Compare(e.Version, bad) <= 0).ToArray();

    /// <summary>
    /// The changelog entries between <paramref name="good"/> and <paramref name="bad"/>, read from the .deb of the bad version of
    /// <paramref name="package"/>. A package whose changelog is a link or missing gives no entries and a note saying where to look.
    /// </summary>
    public static async Task<ChangelogSpan> ReadSpanAsync(string deb, string package, string good, string bad, CancellationToken cancellationToken)
    {
        var scratch = Directory.CreateTempSubdirectory("harness-changelog-").FullName;
        try
        {
            // The listing says whether the member is a file, a link (and to what), or absent. Debian's signed kernel images
            // (linux-signed-amd64) name it changelog.gz: their own entry ("Sign kernel from linux 6.1.192-2") over linux's.
            var listing = (await HostCommand.RunAsync("dpkg-deb", ["--contents", deb], cancellationToken)).Split('\n');
            string? entry = null;
            var member = $"./usr/share/doc/{package}/changelog.Debian.gz";
            foreach (var candidate in new[] { member, $"./usr/share/doc/{package}/changelog.gz" })
            {
                entry = listing.FirstOrDefault(l => l.Contains(" " + candidate, StringComparison.Ordinal) || l.Contains($" ./usr/share/doc/{package} ->", StringComparison.Ordinal));
                member = candidate;
                if (entry is not null) break;
            }
            if (entry is null)
                return new ChangelogSpan(package, good, bad, member, []) { Note = $"{Path.GetFileName(deb)} has no /usr/share/doc/{package}/changelog.Debian.gz or changelog.gz" };
            if (entry.StartsWith('l'))
                return new ChangelogSpan(package, good, bad, member, [])
                {
                    Note = $"{Path.GetFileName(deb)} carries only a link ({entry[(entry.IndexOf(" ./", StringComparison.Ordinal) + 1)..].Trim()}); " +
                           "the entries are in the package it points to (for Debian's kernels: the linux-image-*-unsigned or linux-source-* package of the same version)",
                };
            var result = await (Cli.Wrap("dpkg-deb").WithArguments(["--fsys-tarfile", deb])
                    | Cli.Wrap("tar").WithArguments(["-x", "-f", "-", "-C", scratch, member]))
                .WithValidation(CommandResultValidation.None).ExecuteAsync(cancellationToken);
            var file = Path.Combine(scratch, member);
            if (result.ExitCode != 0 || !File.Exists(file))
                throw new MachineException($"could not extract {member} from {deb} (tar exited {result.ExitCode})");
            await using var gz = new GZipStream(File.OpenRead(file), CompressionMode.Decompress);
            using var reader = new StreamReader(gz, Encoding.UTF8);
            var entries = Parse(await reader.ReadToEndAsync(cancellationToken));
            var span = Between(entries, good, bad);
            return new ChangelogSpan(package, good, bad, member, span)
            {
                Note = span.Count > 0 ? null : $"{member[1..]} of {Path.GetFileName(deb)} has no entry after {good} up to {bad} (its newest is {entries.FirstOrDefault()?.Version ?? "none"})",
            };
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    /// <summary>
    /// For the terminal: each entry's header and line count, then the lines that mention <paramref name="focus"/>
    /// (the filesystem under test, e.g. "ext4"), at most <paramref name="maxLines"/> of them; the full text is in the record.
    /// </summary>
    public static string Render(ChangelogSpan span, string focus, int maxLines = 20)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"changelog of {span.Package} after {span.Good} up to {span.Bad}: {span.Entries.Count} entr{(span.Entries.Count == 1 ? "y" : "ies")}, {span.Entries.Sum(e => e.Lines.Count)} lines");
        if (span.Note is { } note) sb.AppendLine($"  {note}");
        foreach (var entry in span.Entries)
            sb.AppendLine($"  {entry.Source} ({entry.Version}) {entry.Distribution}: {entry.Lines.Count} lines{entry.Trailer[3..].Split("  ").Skip(1).Select(d => ", " + d.Trim()).FirstOrDefault()}");
        var mentions = span.Entries.SelectMany(e => e.Lines).Where(l => l.Contains(focus, StringComparison.OrdinalIgnoreCase)).ToArray();
        if (span.Entries.Count > 0)
        {
            sb.AppendLine($"  lines mentioning {focus}: {mentions.Length}");
            foreach (var line in mentions.Take(maxLines)) sb.AppendLine("    " + line.Trim());
            if (mentions.Length > maxLines) sb.AppendLine($"    … {mentions.Length - maxLines} more (all entries in changelog.json)");
        }
        return sb.ToString();
    }

    // "linux (6.1.192-2) bookworm-security; urgency=high"
    [GeneratedRegex(@"^(?<source>[a-z0-9][a-z0-9+.-]+) \((?<version>[^)\s]+)\)(?<dist>[^;]*);")]
    private static partial Regex Header();
}
