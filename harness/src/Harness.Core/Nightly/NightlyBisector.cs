// When a cell REGRESSES and its kernel changed since the baseline, the nightly bisects between the
// baseline's kernel and tonight's with `harness bisect`'s own driver (same posterior, steps and log):
// the package versions apt can download between the two (as `bisect --kernel-series` walks them), or
// the commits between the two commits of a git-sourced kernel. Each bisection's bisect.json lands in
// the nightly's folder, results/<nightly-id>/bisect/<bisect-id>/.
using Harness.Bisection;
using Harness.Results;
using Harness.Yaml;

namespace Harness.Nightly;

/// <summary>What a bisection of one regressed cell needs: the kernels of both nights, the cell, and the range.</summary>
public sealed record NightlyBisectTarget(NightlyKernel Baseline, NightlyKernel Tonight, NightlyCell Cell, GitRange Range);

/// <summary>Starts a bisection for every regressed cell whose kernel changed, through <see cref="BisectDriver"/>.</summary>
public sealed class NightlyBisector(
    ResultStore store,
    BisectionPolicy policy,
    Func<NightlyBisectTarget, CancellationToken, Task<IBisectStepRunner>> runnerFactory,
    TimeProvider time,
    TextWriter progress)
{
    /// <summary>The range between two nights' kernels; <see cref="DefaultRangeAsync"/> unless a test plants one.</summary>
    public Func<NightlyKernel, NightlyKernel, CancellationToken, Task<GitRange>> ResolveRange { get; init; } = DefaultRangeAsync;

    /// <summary>Bisects every regressed cell whose kernel changed; records why a regressed cell was not bisected.</summary>
    public async Task<IReadOnlyList<NightlyBisection>> RunAsync(NightlyRecord baseline, IReadOnlyList<NightlyKernel> tonight, IReadOnlyList<NightlyCell> cells,
        IReadOnlyList<NightlyComparison> comparisons, string commandLine, CancellationToken cancellationToken)
    {
        var done = new List<NightlyBisection>();
        foreach (var c in comparisons.Where(c => c.Word == NightlyWord.Regresses))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var cell = cells.First(x => x.Kernel == c.Kernel && x.Setup == c.Setup && x.Case == c.Case);
            var now = tonight.First(k => k.Name == c.Kernel);
            var was = baseline.Kernels.FirstOrDefault(k => k.Name == c.Kernel);
            NightlyBisection NotStarted(string why)
            {
                progress.WriteLine($"nightly: {cell.Key} regressed; no bisection: {why}");
                return new NightlyBisection(c.Kernel, c.Setup, c.Case, c.BaselineKernel ?? "", c.TonightKernel, null, null, null, null, why);
            }
            if (!c.KernelChanged || was is null) { done.Add(NotStarted($"the kernel is unchanged ({now.Identity}): the regression is not a kernel update's (host, case or harness)")); continue; }
            if (now.BisectWith == BisectWith.None) { done.Add(NotStarted($"kernel {now.Name} cannot be bisected (bisect-with none: {now.Origin})")); continue; }
            GitRange range;
            try { range = await ResolveRange(was, now, cancellationToken); }
            catch (Exception e) when (e is InputException or Machines.MachineException)
            {
                done.Add(NotStarted($"no range between {was.Identity} and {now.Identity}: {e.Message.Split('\n')[0]}"));
                continue;
            }
            if (range.Commits.Count < 2) { done.Add(NotStarted($"nothing between {was.Identity} and {now.Identity}")); continue; }
            progress.WriteLine($"nightly: {cell.Key} regressed between {was.Identity} and {now.Identity}: bisecting {range.Commits.Count - 1} step(s) of history");
            var runner = await runnerFactory(new NightlyBisectTarget(was, now, cell, range), cancellationToken);
            var (record, path) = await new BisectDriver(store, time, progress).RunAsync(range, c.Setup, c.Case, policy, runner, commandLine, cancellationToken);
            Runs.RunLock.Drop(System.IO.Path.GetDirectoryName(path)!);
            done.Add(new NightlyBisection(c.Kernel, c.Setup, c.Case, was.Identity, now.Identity,
                System.IO.Path.GetRelativePath(System.IO.Path.GetDirectoryName(store.Root)!, path), record.End, record.Culprit, record.Summary, null));
        }
        return done;
    }

    /// <summary>Package versions (apt's index) or commits (the kernel's git tree) from the baseline's kernel to tonight's.</summary>
    public static async Task<GitRange> DefaultRangeAsync(NightlyKernel baseline, NightlyKernel tonight, CancellationToken cancellationToken)
    {
        switch (tonight.BisectWith)
        {
            case BisectWith.PackageSeries:
                var pattern = tonight.PackagePattern ?? throw new InvalidOperationException($"{tonight.Name}: a package kernel without its pattern");
                var versions = await PackageSeries.ResolveAsync(pattern, cancellationToken);
                return new GitRange("apt", PackageSeries.Slice(versions, baseline.Identity, tonight.Identity, pattern));
            case BisectWith.Git:
                if (baseline.Tree != tonight.Tree)
                    throw new InputException(new InputProblem(tonight.Name, 0, 0, "git", $"the tree moved ({baseline.Tree} -> {tonight.Tree}); bisect by hand with harness bisect --tree"));
                return await GitRange.ResolveAsync(tonight.Tree!, baseline.Commit!, tonight.Commit!, cancellationToken);
            default:
                throw new InvalidOperationException($"{tonight.Name}: not bisectable");
        }
    }
}
