// Patch series as reviewers have them in hand: several files in order, an mbox from a mailing list
// (applied like `git am`: ordered by the [PATCH n/m] numbers, the 0/m cover letter and replies
// skipped), or a range of commits of a git tree (format-patch'd). Every series becomes an ordered
// list of single-patch files that `git apply` takes one by one, each with a label that says where it
// came from ("fix.mbox message 2 of 3 \"[PATCH 2/2] ext4: ...\""), so a hunk that does not apply
// names the message, not a scratch file. A single-patch file is used as is, so its digest (and the
// kernel build cache key that hashes it) is what it was before series existed.
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using CliWrap;
using CliWrap.Buffered;
using Harness.Machines;
using Harness.Yaml;

namespace Harness.Kernels;

/// <summary>One patch of a series: the file <c>git apply</c> reads, how errors and records name it, and its SHA-256.</summary>
public sealed record SeriesPatch(string File, string Label, string Sha256);

/// <summary>A patch series in the order it is applied.</summary>
public sealed record PatchSeries(IReadOnlyList<SeriesPatch> Patches)
{
    /// <summary>
    /// The series' digest: for one patch, that file's SHA-256 (what validation records held before series
    /// existed, so a resumed validation of one file still matches); else the SHA-256 of the patches' digests, in order.
    /// </summary>
    public string Sha256 => Patches.Count == 1
        ? Patches[0].Sha256
        : Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(string.Join('\n', Patches.Select(p => p.Sha256)))));

    /// <summary>A short name for kernel names and tables: the patch's file name, or the first one's and how many follow.</summary>
    public string ShortName => Patches.Count switch
    {
        0 => "no-patches",
        1 => Path.GetFileNameWithoutExtension(Patches[0].File),
        _ => $"{Path.GetFileNameWithoutExtension(Patches[0].File)}+{Patches.Count - 1}",
    };

    /// <summary>
    /// Applies the series in order on a clean checkout of <paramref name="tree"/> (a git work tree): each patch is
    /// checked first, and the first one that does not apply is an <see cref="InputException"/> naming its label.
    /// </summary>
    public async Task ApplyAsync(string tree, TextWriter progress, CancellationToken cancellationToken)
    {
        foreach (var patch in Patches)
        {
            var check = await HostCommand.TryRunAsync("git", ["apply", "--check", "--verbose", patch.File], tree, cancellationToken);
            if (check.ExitCode != 0)
                throw new InputException(KernelBuilder.PatchProblems(patch.Label, check.Output));
            await HostCommand.RunAsync("git", ["apply", patch.File], cancellationToken, tree);
            progress.WriteLine($"  applied {patch.Label}");
        }
    }

    /// <summary>SHA-256 of a file's bytes, lower-case hex.</summary>
    public static string FileSha256(string path) => Convert.ToHexStringLower(SHA256.HashData(System.IO.File.ReadAllBytes(path)));
}

/// <summary>
/// Turns what users give (<c>--patch</c> files or mboxes, <c>--patch-range TREE:A..B</c>) into a <see cref="PatchSeries"/>.
/// Messages and commits are written as single-patch files under <paramref name="scratchDirectory"/>, one folder per
/// source content (an mbox's digest, a range's two commit ids), written whole and renamed, so reading again is free.
/// </summary>
public sealed partial class PatchSeriesReader(string scratchDirectory)
{
    /// <summary>
    /// The series: <paramref name="files"/> in order (each may be a comma list), then the commits of each range in
    /// <paramref name="ranges"/>. <paramref name="option"/> is what errors name for a missing file.
    /// </summary>
    public async Task<PatchSeries> ReadAsync(IReadOnlyList<string> files, IReadOnlyList<string> ranges, CancellationToken cancellationToken,
        string option = "--patch", IReadOnlyDictionary<string, string>? labels = null)
    {
        var patches = new List<SeriesPatch>();
        foreach (var file in SplitList(files))
        {
            if (!File.Exists(file))
                throw new InputException(new InputProblem(file, 0, 0, option, "no such patch file"));
            patches.AddRange(await ReadFileAsync(Path.GetFullPath(file), labels?.GetValueOrDefault(file) ?? file, cancellationToken));
        }
        foreach (var range in SplitList(ranges))
            patches.AddRange(await ReadRangeAsync(range, cancellationToken));
        return new PatchSeries(patches);
    }

    /// <summary>Comma lists and repeated options, in order; empty entries dropped.</summary>
    public static IReadOnlyList<string> SplitList(IEnumerable<string> values) =>
        values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();

    // ---- files and mboxes --------------------------------------------------------------

    private async Task<IReadOnlyList<SeriesPatch>> ReadFileAsync(string path, string label, CancellationToken cancellationToken)
    {
        var digest = PatchSeries.FileSha256(path);
        // An mbox starts with a "From " separator line (git format-patch's does too); anything else is one patch.
        if (!StartsWithFromLine(path)) return [new SeriesPatch(path, label, digest)];
        var folder = Path.Combine(scratchDirectory, "mbox-" + digest[..16]);
        var messages = await SplitAsync(path, folder, cancellationToken);
        // One message: the file is the patch (git apply skips the mail header), so its digest stays the file's.
        if (messages.Count == 1 && !IsCoverLetter(messages[0].Subject)) return [new SeriesPatch(path, label, digest)];
        return Order(messages, label).Select(m => new SeriesPatch(m.Patch, $"{label} message {m.Number} of {messages.Count} \"{m.Subject}\"", PatchSeries.FileSha256(m.Patch))).ToArray();
    }

    private static bool StartsWithFromLine(string path)
    {
        using var reader = new StreamReader(path);
        return reader.ReadLine() is { } first && first.StartsWith("From ", StringComparison.Ordinal);
    }

    /// <summary>A message of an mbox: its place in the file (1-based), subject, and the patch file made from it (empty when it has no diff).</summary>
    internal sealed record MboxMessage(int Number, string Subject, string Patch, bool HasDiff);

    /// <summary>git mailsplit, then git mailinfo per message (it decodes MIME and quoted-printable like git am).</summary>
    private async Task<IReadOnlyList<MboxMessage>> SplitAsync(string mbox, string folder, CancellationToken cancellationToken)
    {
        var index = Path.Combine(folder, "messages.tsv");
        if (!File.Exists(index))
        {
            Directory.CreateDirectory(scratchDirectory);
            var partial = $"{folder}.{Guid.NewGuid():N}.partial";
            Directory.CreateDirectory(partial);
            try
            {
                var split = Path.Combine(partial, "split");
                Directory.CreateDirectory(split);
                await HostCommand.RunAsync("git", ["mailsplit", "-o" + split, mbox], cancellationToken, partial);
                var lines = new List<string>();
                var mails = Directory.GetFiles(split).Order(StringComparer.Ordinal).ToArray();
                for (var i = 0; i < mails.Length; i++)
                {
                    var message = Path.Combine(partial, $"{i + 1:D4}.msg");
                    var diff = Path.Combine(partial, $"{i + 1:D4}.diff");
                    var info = await Cli.Wrap("git").WithArguments(["mailinfo", "-k", message, diff]).WithWorkingDirectory(partial)
                        .WithStandardInputPipe(PipeSource.FromFile(mails[i])).WithValidation(CommandResultValidation.None)
                        .ExecuteBufferedAsync(cancellationToken);
                    if (info.ExitCode != 0)
                        throw new InputException(new InputProblem(mbox, 0, 0, $"message {i + 1}", $"git mailinfo cannot read it: {info.StandardError.Trim()}"));
                    var headers = info.StandardOutput.Split('\n');
                    string Header(string name) => headers.FirstOrDefault(h => h.StartsWith(name + ": ", StringComparison.Ordinal))?[(name.Length + 2)..].Trim() ?? "";
                    var subject = Header("Subject").Replace('\t', ' ');
                    var hasDiff = new FileInfo(diff).Length > 0;
                    // The patch file keeps who and what (git apply skips text before the diff), so a reader of the cache knows it.
                    var patch = Path.Combine(partial, $"{i + 1:D4}-{Slug(subject)}.patch");
                    await File.WriteAllTextAsync(patch,
                        $"From: {Header("Author")} <{Header("Email")}>\nSubject: {subject}\n\n{await File.ReadAllTextAsync(message, cancellationToken)}\n{await File.ReadAllTextAsync(diff, cancellationToken)}",
                        cancellationToken);
                    File.Delete(message);
                    File.Delete(diff);
                    lines.Add($"{i + 1}\t{(hasDiff ? 1 : 0)}\t{Path.GetFileName(patch)}\t{subject}");
                }
                Directory.Delete(split, recursive: true);
                await File.WriteAllLinesAsync(Path.Combine(partial, "messages.tsv"), lines, cancellationToken);
                // Another process may have made the same folder meanwhile: its content is the same.
                if (Directory.Exists(folder)) Directory.Delete(partial, recursive: true);
                else Directory.Move(partial, folder);
            }
            finally
            {
                if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
            }
        }
        return (await File.ReadAllLinesAsync(index, cancellationToken)).Select(line => line.Split('\t', 4))
            .Select(f => new MboxMessage(int.Parse(f[0], System.Globalization.CultureInfo.InvariantCulture), f[3], Path.Combine(folder, f[2]), f[1] == "1"))
            .ToArray();
    }

    /// <summary>
    /// The messages to apply, in order, as git am would take a series off a list: a 0/m cover letter and replies
    /// ("Re:") are skipped; when the patches carry [PATCH n/m] numbers they are applied by n, and every n from 1 to m
    /// must be there once; without numbers, in mbox order. A patch message without a diff is an error naming it.
    /// </summary>
    internal static IReadOnlyList<MboxMessage> Order(IReadOnlyList<MboxMessage> messages, string mbox)
    {
        InputException Problem(MboxMessage? m, string message) =>
            new(new InputProblem(mbox, 0, 0, m is null ? "(mbox)" : $"message {m.Number} \"{m.Subject}\"", message));
        var patches = messages.Where(m => !IsReply(m.Subject) && !IsCoverLetter(m.Subject)).ToList();
        if (patches.Count == 0)
            throw Problem(null, $"none of its {messages.Count} messages is a patch (only cover letters or replies)");
        if (patches.FirstOrDefault(m => !m.HasDiff) is { } empty)
            throw Problem(empty, "has no diff (a patch message needs one; a cover letter is numbered 0/m)");
        var numbered = patches.Select(m => (Message: m, Number: Numbering(m.Subject))).ToArray();
        if (numbered.All(n => n.Number is null)) return patches;
        if (numbered.FirstOrDefault(n => n.Number is null).Message is { } plain)
            throw Problem(plain, "has no [PATCH n/m] number while other messages have one; give one series at a time");
        var total = numbered[0].Number!.Value.Of;
        if (numbered.FirstOrDefault(n => n.Number!.Value.Of != total).Message is { } other)
            throw Problem(other, $"is numbered out of {Numbering(other.Subject)!.Value.Of}, the first patch out of {total}: two series (or two versions) in one mbox; give one");
        foreach (var group in numbered.GroupBy(n => n.Number!.Value.N).Where(g => g.Count() > 1))
            throw Problem(group.Skip(1).First().Message, $"is the second patch numbered {group.Key}/{total} (messages {string.Join(", ", group.Select(g => g.Message.Number))}); give one version of the series");
        var missing = Enumerable.Range(1, total).Where(n => numbered.All(m => m.Number!.Value.N != n)).ToArray();
        if (missing.Length > 0)
            throw Problem(null, $"the series has {total} patches but {string.Join(", ", missing.Select(n => $"{n}/{total}"))} {(missing.Length == 1 ? "is" : "are")} missing");
        return numbered.OrderBy(n => n.Number!.Value.N).Select(n => n.Message).ToArray();
    }

    private static bool IsReply(string subject) => ReplyPrefix().IsMatch(subject);

    private static bool IsCoverLetter(string subject) => Numbering(subject) is { N: 0 };

    /// <summary>n and m of "[PATCH n/m]", "[PATCH v2 03/10]", "[RFC PATCH 1/2]", "[PATCH net-next 1/3]"; null without.</summary>
    internal static (int N, int Of)? Numbering(string subject)
    {
        var m = PatchNumber().Match(subject);
        return m.Success ? (int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)) : null;
    }

    [GeneratedRegex(@"^\s*\[[^\]]*?\bPATCH\b[^\]]*?\b0*(\d+)/0*(\d+)\s*\]", RegexOptions.IgnoreCase)]
    private static partial Regex PatchNumber();

    [GeneratedRegex(@"^\s*(re|aw|sv)\s*:", RegexOptions.IgnoreCase)]
    private static partial Regex ReplyPrefix();

    private static string Slug(string subject)
    {
        var bare = PatchPrefix().Replace(subject, "");
        var slug = new string(bare.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-').ToArray()).Trim('-');
        while (slug.Contains("--", StringComparison.Ordinal)) slug = slug.Replace("--", "-", StringComparison.Ordinal);
        return slug.Length == 0 ? "patch" : slug[..Math.Min(slug.Length, 52)].TrimEnd('-');
    }

    [GeneratedRegex(@"^\s*\[[^\]]*\]\s*")]
    private static partial Regex PatchPrefix();

    // ---- git ranges ------------------------------------------------------------------

    /// <summary>
    /// <c>TREE:A..B</c>: the commits after A up to B of the git tree, oldest first, one patch each (git format-patch;
    /// the tree is only read). A range with merges is refused: format-patch leaves merges out, so it would not give B's tree.
    /// </summary>
    private async Task<IReadOnlyList<SeriesPatch>> ReadRangeAsync(string range, CancellationToken cancellationToken)
    {
        const string option = "--patch-range";
        InputException Problem(string message) => new(new InputProblem(option, 0, 0, option, $"'{range}': {message}"));
        var colon = range.LastIndexOf(':');
        var spec = colon < 0 ? "" : range[(colon + 1)..];
        var dots = spec.IndexOf("..", StringComparison.Ordinal);
        if (colon <= 0 || dots <= 0 || dots + 2 >= spec.Length || spec.Contains("...", StringComparison.Ordinal))
            throw Problem("give TREE:A..B (a git tree, then two commits: the patches are the commits after A up to B)");
        var tree = Path.GetFullPath(range[..colon]);
        var (from, to) = (spec[..dots], spec[(dots + 2)..]);
        if (!Directory.Exists(tree)) throw Problem($"{tree}: no such directory");
        if ((await HostCommand.TryRunAsync("git", ["-C", tree, "rev-parse", "--git-dir"], tree, cancellationToken)).ExitCode != 0)
            throw Problem($"{tree} is not a git repository");
        async Task<string> Resolve(string reference)
        {
            if (reference.StartsWith('-')) throw Problem($"'{reference}' is not a git ref");
            var (code, output) = await HostCommand.TryRunAsync("git", ["-C", tree, "rev-parse", "--verify", "--quiet", reference + "^{commit}"], tree, cancellationToken);
            return code == 0 ? output.Trim() : throw Problem($"'{reference}' names no commit in {tree}");
        }
        var (a, b) = (await Resolve(from), await Resolve(to));
        if ((await HostCommand.TryRunAsync("git", ["-C", tree, "merge-base", "--is-ancestor", a, b], tree, cancellationToken)).ExitCode != 0)
            throw Problem($"{from} ({a[..12]}) is not an ancestor of {to} ({b[..12]})");
        var commits = (await HostCommand.RunAsync("git", ["-C", tree, "rev-list", "--reverse", "--topo-order", $"{a}..{b}"], cancellationToken, tree))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (commits.Length == 0) throw Problem("the range has no commits");
        var merges = (await HostCommand.RunAsync("git", ["-C", tree, "rev-list", "--merges", $"{a}..{b}"], cancellationToken, tree)).Trim();
        if (merges.Length > 0)
            throw Problem($"has merge commits ({string.Join(", ", merges.Split('\n').Select(s => s[..12]))}); format-patch leaves merges out, so give a range of one line of history");

        var folder = Path.Combine(scratchDirectory, $"range-{a[..16]}-{b[..16]}");
        if (!File.Exists(Path.Combine(folder, ".complete")))
        {
            Directory.CreateDirectory(scratchDirectory);
            var partial = $"{folder}.{Guid.NewGuid():N}.partial";
            try
            {
                // Fixed prefixes and no signature: the patch text (and so the build key) does not follow the user's git config or version.
                await HostCommand.RunAsync("git",
                    ["-C", tree, "-c", "diff.noprefix=false", "-c", "diff.mnemonicPrefix=false", "format-patch", "-q", "--no-signature", "--zero-commit",
                     "--topo-order", "--no-renames", "-o", partial, $"{a}..{b}"], cancellationToken, tree);
                await File.WriteAllTextAsync(Path.Combine(partial, ".complete"), $"{tree} {a}..{b}\n", cancellationToken);
                if (Directory.Exists(folder)) Directory.Delete(partial, recursive: true);
                else Directory.Move(partial, folder);
            }
            finally
            {
                if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
            }
        }
        var files = Directory.GetFiles(folder, "*.patch").Order(StringComparer.Ordinal).ToArray();
        if (files.Length != commits.Length)
            throw new MachineException($"git format-patch {a[..12]}..{b[..12]} made {files.Length} patches for {commits.Length} commits in {folder}");
        var subjects = (await HostCommand.RunAsync("git", ["-C", tree, "log", "--reverse", "--topo-order", "--format=%s", $"{a}..{b}"], cancellationToken, tree))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return files.Select((f, i) => new SeriesPatch(f,
            $"{range[..colon]}:{from}..{to} commit {i + 1} of {files.Length} {commits[i][..12]} \"{(i < subjects.Length ? subjects[i] : "")}\"",
            PatchSeries.FileSha256(f))).ToArray();
    }
}
