// What `harness cache gc` deletes, decided from a CacheReport, and the deleting. Never a source
// tree, the agent or ccache; never anything a live process holds (lock, open file, mount,
// alive run); never a folder it does not recognise as a run or cache entry. Each decision
// carries its reason, so --dry-run prints exactly what a real gc would do and why.
using Harness.Kernels;

namespace Harness.Cache;

/// <summary>
/// Which runs and cache entries may go. <paramref name="KeepLast"/> and <paramref name="OlderThan"/> are
/// about runs under the results root: a run goes only when every rule given allows it (outside the
/// newest N, and older than the age). <paramref name="UnusedFor"/> is about kernels (fetched, built,
/// their .debs) and initramfs archives not used for that long. Work folders of runs that are gone and
/// half-written leftovers older than an hour always go. Nothing else.
/// </summary>
public sealed record GcPolicy(int? KeepLast, TimeSpan? OlderThan, TimeSpan? UnusedFor)
{
    /// <summary>How old a half-written file must be before it is taken for a leftover rather than a write in progress.</summary>
    public static readonly TimeSpan LeftoverAge = TimeSpan.FromHours(1);
}

/// <summary>One decision: delete <paramref name="Path"/> (or keep it, with <paramref name="Kept"/> saying why).</summary>
public sealed record GcAction(string What, string Path, long Bytes, string Reason, string? Kept = null);

public static class CacheGc
{
    /// <summary>What the policy deletes (<see cref="GcAction.Kept"/> null) and what it would but may not (in use).</summary>
    public static IReadOnlyList<GcAction> Plan(CacheReport report, GcPolicy policy, DateTimeOffset now)
    {
        var actions = new List<GcAction>();
        for (var i = 0; i < report.Runs.Count; i++)
        {
            var run = report.Runs[i];
            if (policy.KeepLast is null && policy.OlderThan is null) break;
            var beyond = policy.KeepLast is not { } keep || i >= keep;
            var old = policy.OlderThan is not { } age || now - run.Started > age;
            if (!beyond || !old) continue;
            var reason = string.Join(" and ", new[]
            {
                policy.KeepLast is { } k ? $"not among the last {k} runs" : null,
                policy.OlderThan is { } a ? $"started {Age(now - run.Started)} ago (older than {Age(a)})" : null,
            }.OfType<string>());
            actions.Add(new GcAction("run", run.Path, run.Bytes, reason, run.InUse));
        }

        foreach (var entry in report.Entries.Where(e => e.Prunable))
        {
            string? reason = entry.Kind switch
            {
                CacheEntryKind.Work when entry.Abandoned => $"work folder nothing will use again ({entry.Detail})",
                CacheEntryKind.Leftover when entry.LastUse is { } at && now - at > GcPolicy.LeftoverAge => $"half-written leftover, {Age(now - at)} old",
                CacheEntryKind.FetchedKernel or CacheEntryKind.BuiltKernel or CacheEntryKind.KernelPackage or CacheEntryKind.Initramfs
                    when policy.UnusedFor is { } unused && entry.LastUse is { } last && now - last > unused
                    => $"not used for {Age(now - last)} (more than {Age(unused)})",
                _ => null,
            };
            if (reason is not null) actions.Add(new GcAction(Word(entry.Kind), entry.Path, entry.Bytes, reason, entry.InUse));
        }
        return actions;
    }

    /// <summary>
    /// Deletes each action not kept, under the entry's own lock where it has one (so a fetch or pack
    /// starting now waits, then finds the entry gone and makes it again). Returns the failures.
    /// </summary>
    public static IReadOnlyList<string> Apply(IReadOnlyList<GcAction> actions)
    {
        var failures = new List<string>();
        foreach (var action in actions.Where(a => a.Kept is null))
        {
            var lockFile = action.What is "kernel" or "initramfs" ? CacheLock.For(action.Path) : null;
            using var held = lockFile is null ? null : CacheLock.TryAcquire(lockFile);
            if (lockFile is not null && held is null)
            {
                failures.Add($"{action.Path}: locked by another process since the scan; kept");
                continue;
            }
            try
            {
                if (Directory.Exists(action.Path)) Directory.Delete(action.Path, recursive: true);
                else File.Delete(action.Path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                failures.Add($"{action.Path}: {e.Message}");
            }
        }
        return failures;
    }

    public static string Word(CacheEntryKind kind) => kind switch
    {
        CacheEntryKind.FetchedKernel => "kernel",
        CacheEntryKind.BuiltKernel => "built kernel",
        CacheEntryKind.KernelPackage => "kernel .deb",
        CacheEntryKind.SourceTree => "source tree",
        CacheEntryKind.Initramfs => "initramfs",
        CacheEntryKind.Agent => "agent",
        CacheEntryKind.Ccache => "ccache",
        CacheEntryKind.Work => "work",
        _ => "leftover",
    };

    public static string Age(TimeSpan age) => age switch
    {
        { TotalDays: >= 1 } => $"{(int)age.TotalDays}d",
        { TotalHours: >= 1 } => $"{(int)age.TotalHours}h",
        { TotalMinutes: >= 1 } => $"{(int)age.TotalMinutes}m",
        _ => $"{(int)Math.Max(0, age.TotalSeconds)}s",
    };
}
