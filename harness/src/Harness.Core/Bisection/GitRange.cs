// The commits a bisection walks, read from the user's tree with read-only git commands (rev-parse,
// merge-base, rev-list, log): the user's checkout, index and refs are never touched. Builds happen in
// the harness's own clone under the cache (KernelBuilder), which shares the tree's objects.
using Harness.Machines;
using Harness.Yaml;

namespace Harness.Bisection;

/// <summary>One commit of the range: its index (0 = --good … N = --bad), full id and subject line.</summary>
public sealed record BisectCommit(int Index, string Sha, string Subject);

/// <summary>The linear range --good … --bad of a git tree, oldest first.</summary>
public sealed record GitRange(string Tree, IReadOnlyList<BisectCommit> Commits)
{
    public BisectCommit Good => Commits[0];
    public BisectCommit Bad => Commits[^1];

    /// <summary>Index of the commit with this full id, or -1.</summary>
    public int IndexOf(string sha) => Commits.FirstOrDefault(c => c.Sha == sha)?.Index ?? -1;

    /// <summary>
    /// Resolves --good and --bad in <paramref name="tree"/> and lists the commits between them in
    /// topological order (<c>git rev-list --reverse --topo-order --ancestry-path good..bad</c>). The model
    /// is linear: a history with merges is walked in that order, which is exact for the first-parent line
    /// and an approximation across merged branches (said in the README). Bad input names the option.
    /// </summary>
    public static async Task<GitRange> ResolveAsync(string tree, string good, string bad, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(tree))
            throw new InputException(new InputProblem("--tree", 0, 0, "--tree", $"{tree}: no such directory"));
        var full = Path.GetFullPath(tree);
        var (inside, _) = await HostCommand.TryRunAsync("git", ["-C", full, "rev-parse", "--git-dir"], full, cancellationToken);
        if (inside != 0)
            throw new InputException(new InputProblem("--tree", 0, 0, "--tree", $"{full} is not a git repository"));
        var goodSha = await ResolveRefAsync(full, good, "--good", cancellationToken);
        var badSha = await ResolveRefAsync(full, bad, "--bad", cancellationToken);
        if (goodSha == badSha)
            throw new InputException(new InputProblem("--good", 0, 0, "--good", $"--good and --bad are the same commit ({goodSha[..12]}): nothing to bisect"));
        var (ancestor, _) = await HostCommand.TryRunAsync("git", ["-C", full, "merge-base", "--is-ancestor", goodSha, badSha], full, cancellationToken);
        if (ancestor != 0)
            throw new InputException(new InputProblem("--good", 0, 0, "--good", $"--good {good} ({goodSha[..12]}) is not an ancestor of --bad {bad} ({badSha[..12]}); bisection needs good before bad"));
        var log = await HostCommand.RunAsync("git", ["-C", full, "log", "--reverse", "--topo-order", "--ancestry-path", "--format=%H%x09%s", $"{goodSha}..{badSha}"], cancellationToken, full);
        var commits = new List<BisectCommit> { new(0, goodSha, await SubjectAsync(full, goodSha, cancellationToken)) };
        foreach (var line in log.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var tab = line.IndexOf('\t');
            commits.Add(new BisectCommit(commits.Count, tab < 0 ? line : line[..tab], tab < 0 ? "" : line[(tab + 1)..]));
        }
        if (commits[^1].Sha != badSha)
            throw new InputException(new InputProblem("--bad", 0, 0, "--bad", $"the ancestry path {goodSha[..12]}..{badSha[..12]} does not end at --bad; give refs of one line of history"));
        return new GitRange(full, commits);
    }

    /// <summary>The full id of the commit <paramref name="reference"/> names in the tree (HEAD, a tag, a branch, an abbreviation).</summary>
    public static async Task<string> ResolveRefAsync(string tree, string reference, string option, CancellationToken cancellationToken)
    {
        if (reference.StartsWith('-'))
            throw new InputException(new InputProblem(option, 0, 0, option, $"'{reference}' is not a git ref"));
        var (code, output) = await HostCommand.TryRunAsync("git", ["-C", tree, "rev-parse", "--verify", "--quiet", reference + "^{commit}"], tree, cancellationToken);
        if (code != 0)
            throw new InputException(new InputProblem(option, 0, 0, option, $"'{reference}' names no commit in {tree}"));
        return output.Trim();
    }

    private static async Task<string> SubjectAsync(string tree, string sha, CancellationToken cancellationToken) =>
        (await HostCommand.RunAsync("git", ["-C", tree, "log", "-1", "--format=%s", sha], cancellationToken, tree)).Trim();
}
