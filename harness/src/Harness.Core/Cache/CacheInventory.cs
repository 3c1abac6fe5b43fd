// What is in a cache folder and a results folder, and what of it is in use: the facts
// `harness cache status` prints and `harness cache gc` decides on. Nothing here deletes.
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Harness.Kernels;

namespace Harness.Cache;

/// <summary>Kinds of cache entry, as printed.</summary>
public enum CacheEntryKind { FetchedKernel, BuiltKernel, KernelPackage, SourceTree, Initramfs, Agent, Ccache, Work, Leftover }

/// <summary>
/// One entry of the cache. <paramref name="InUse"/> says why it must not be deleted now (a live
/// process holds it), or is null. <paramref name="LastUse"/> is null where the harness does not track it.
/// </summary>
public sealed record CacheEntry(CacheEntryKind Kind, string Path, long Bytes, DateTimeOffset? LastUse, string Detail, string? InUse)
{
    /// <summary>A work folder whose run (or probe) is gone: nothing will ever use or remove it.</summary>
    public bool Abandoned { get; init; }

    /// <summary>Source trees, the agent and ccache are never pruned: they are what makes the next build or run fast.</summary>
    public bool Prunable => Kind is not (CacheEntryKind.SourceTree or CacheEntryKind.Agent or CacheEntryKind.Ccache);
}

/// <summary>One run folder under the results root.</summary>
public sealed record RunEntry(string Id, string Path, DateTimeOffset Started, long Bytes, string Outcome, string? InUse);

/// <summary>Everything found, newest runs first.</summary>
public sealed record CacheReport(string CacheRoot, string? ResultsRoot, IReadOnlyList<CacheEntry> Entries, IReadOnlyList<RunEntry> Runs);

public static partial class CacheInventory
{
    /// <summary>Scans <paramref name="cacheRoot"/> and, when given and present, <paramref name="resultsRoot"/>.</summary>
    public static CacheReport Scan(string cacheRoot, string? resultsRoot, LiveProcesses live, IReadOnlyList<(string Path, string What)> attachments)
    {
        var entries = new List<CacheEntry>();
        var kernels = Path.Combine(cacheRoot, "kernels");
        var sources = Path.Combine(cacheRoot, "src");
        var buildRunning = Directory.Exists(sources) && Directory.EnumerateFiles(sources, "*.lock").Any(Locked);

        foreach (var dir in Dirs(kernels).Where(d => Path.GetFileName(d) is not ("built" or "debs" or "resolved")))
        {
            var marker = Path.Combine(dir, ".harness-complete");
            var complete = File.Exists(marker);
            entries.Add(new CacheEntry(CacheEntryKind.FetchedKernel, dir, Size(dir), complete ? LastUse.OfFolder(dir, marker) : Directory.GetLastWriteTimeUtc(dir),
                complete ? File.ReadAllText(marker).Trim() : "incomplete (an interrupted or running fetch)",
                InUse(dir, live, attachments, lockFile: CacheLock.For(dir))));
        }
        foreach (var dir in Dirs(Path.Combine(kernels, "built")))
        {
            var marker = Path.Combine(dir, ".harness-complete");
            var complete = File.Exists(marker);
            entries.Add(new CacheEntry(CacheEntryKind.BuiltKernel, dir, Size(dir), complete ? LastUse.OfFolder(dir, marker) : Directory.GetLastWriteTimeUtc(dir),
                complete ? BuiltDetail(dir) : "incomplete (a failed or running build)",
                InUse(dir, live, attachments) ?? (buildRunning ? "a kernel build is running (a source tree is locked)" : null)));
        }
        foreach (var deb in Files(Path.Combine(kernels, "debs"), "*.deb"))
            entries.Add(new CacheEntry(CacheEntryKind.KernelPackage, deb, new FileInfo(deb).Length, LastUse.OfFile(deb), "downloaded .deb", InUse(deb, live, attachments)));
        foreach (var dir in Dirs(sources).Where(d => !d.EndsWith(".deb-unpacked", StringComparison.Ordinal) && !d.EndsWith(".partial", StringComparison.Ordinal)))
            entries.Add(new CacheEntry(CacheEntryKind.SourceTree, dir, Size(dir), null,
                File.Exists(Path.Combine(dir, ".harness-source")) ? File.ReadAllText(Path.Combine(dir, ".harness-source")).Trim() : "git clone",
                InUse(dir, live, attachments, lockFile: CacheLock.For(dir))));
        foreach (var archive in Files(Path.Combine(cacheRoot, "initramfs"), "base-*.cpio"))
            entries.Add(new CacheEntry(CacheEntryKind.Initramfs, archive, new FileInfo(archive).Length, LastUse.OfFile(archive), "guest base archive",
                InUse(archive, live, attachments, lockFile: CacheLock.For(archive))));
        var agent = Path.Combine(cacheRoot, "agent");
        if (Directory.Exists(agent))
            entries.Add(new CacheEntry(CacheEntryKind.Agent, agent, Size(agent), Directory.GetLastWriteTimeUtc(agent), "NativeAOT agent (make agent-aot)", null));
        var ccache = Path.Combine(cacheRoot, "ccache");
        if (Directory.Exists(ccache))
            entries.Add(new CacheEntry(CacheEntryKind.Ccache, ccache, Size(ccache), null, "compiler cache of kernel builds", null));
        foreach (var dir in Dirs(Path.Combine(cacheRoot, "work")))
            entries.Add(WorkEntry(dir, live, attachments));
        // Half-written files of an interrupted write (temp + rename never finished).
        foreach (var leftover in Leftovers(cacheRoot))
            entries.Add(new CacheEntry(CacheEntryKind.Leftover, leftover, SizeOf(leftover), File.GetLastWriteTimeUtc(leftover), "half-written (interrupted)", InUse(leftover, live, attachments)));

        var runs = resultsRoot is not null && Directory.Exists(resultsRoot)
            ? Dirs(resultsRoot).Select(d => RunOf(d, live)).OfType<RunEntry>().OrderByDescending(r => r.Started).ThenByDescending(r => r.Id, StringComparer.Ordinal).ToArray()
            : [];
        return new CacheReport(cacheRoot, resultsRoot, entries, runs);
    }

    /// <summary>
    /// What holds files in place: mount points (/proc/mounts, "mounted at ...") and the backing files of
    /// loop devices (/sys/block/loop*/loop/backing_file, what `losetup -a` lists: "attached to /dev/loopN").
    /// </summary>
    public static IReadOnlyList<(string Path, string What)> Attachments()
    {
        var found = File.ReadAllLines("/proc/mounts").Select(l => l.Split(' ')).Where(f => f.Length > 1)
            .Select(f => f[1].Replace("\\040", " ", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal))
            .Select(m => (m, $"a filesystem is mounted at {m}")).ToList();
        foreach (var loop in Directory.Exists("/sys/block") ? Directory.EnumerateDirectories("/sys/block", "loop*") : [])
        {
            var backing = Path.Combine(loop, "loop", "backing_file");
            try
            {
                if (File.Exists(backing)) found.Add((File.ReadAllText(backing).Trim(), $"attached to /dev/{Path.GetFileName(loop)}"));
            }
            catch (IOException) { }
        }
        return found;
    }

    /// <summary>A work folder: a run's scratch (cache/work/&lt;run-id&gt;) or a KVM probe's (probe-&lt;pid&gt;-&lt;id&gt;).</summary>
    private static CacheEntry WorkEntry(string dir, LiveProcesses live, IReadOnlyList<(string Path, string What)> attachments)
    {
        var name = Path.GetFileName(dir);
        string detail;
        string? inUse = null;
        var abandoned = false;
        if (RunOwner(name) is { } owner)
        {
            var alive = live.IsAlive(owner.Pid, owner.Started);
            detail = alive ? $"run alive (pid {owner.Pid})" : $"run gone (pid {owner.Pid} not running)";
            if (alive) inUse = $"its run is alive (pid {owner.Pid})";
            abandoned = !alive;
        }
        else if (name == "probe")
        {
            // Earlier versions shared one KVM probe folder and never removed it.
            detail = "KVM probe scratch of an earlier harness version";
            abandoned = true;
        }
        else
        {
            detail = "not a run's folder (never pruned)";
        }
        inUse ??= InUse(dir, live, attachments);
        return new CacheEntry(CacheEntryKind.Work, dir, Size(dir), Directory.GetLastWriteTimeUtc(dir), detail, inUse) { Abandoned = abandoned };
    }

    /// <summary>The harness process a run id or probe folder names, and when it started (the id's second).</summary>
    public static (int Pid, DateTimeOffset Started)? RunOwner(string name)
    {
        var run = RunId().Match(name);
        if (run.Success && DateTimeOffset.TryParseExact(run.Groups[1].Value, "yyyyMMdd-HHmmss", CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var started))
            return (int.Parse(run.Groups[2].Value, CultureInfo.InvariantCulture), started);
        var probe = ProbeFolder().Match(name);
        if (probe.Success) return (int.Parse(probe.Groups[1].Value, CultureInfo.InvariantCulture), DateTimeOffset.MaxValue.AddDays(-1));
        return null;
    }

    // RunExecutor's ids: <yyyyMMdd-HHmmss>-<machine>-<pid>, "-2".. for a second run of one process in one second.
    [GeneratedRegex(@"^(\d{8}-\d{6})-[a-z0-9]+-(\d+)(?:-\d+)?$")]
    private static partial Regex RunId();

    [GeneratedRegex(@"^probe-(\d+)-[0-9a-f]{32}$")]
    private static partial Regex ProbeFolder();

    private static RunEntry? RunOf(string dir, LiveProcesses live)
    {
        var name = Path.GetFileName(dir);
        var owner = RunOwner(name);
        var file = Path.Combine(dir, "run.json");
        var started = owner?.Started ?? Directory.GetCreationTimeUtc(dir);
        var outcome = "?";
        if (File.Exists(file))
        {
            try
            {
                using var json = JsonDocument.Parse(File.ReadAllBytes(file));
                if (json.RootElement.TryGetProperty("started", out var s) && s.TryGetDateTimeOffset(out var at)) started = at;
                outcome = json.RootElement.TryGetProperty("outcome", out var o) && o.ValueKind == JsonValueKind.String ? o.GetString()!.ToUpperInvariant()
                    : json.RootElement.TryGetProperty("verdicts", out _) ? "validation" : "unfinished";
            }
            catch (Exception e) when (e is JsonException or IOException) { outcome = "unreadable run.json"; }
        }
        else if (!File.Exists(Path.Combine(dir, "validation.json")))
        {
            return null; // not a run folder of ours: never listed, never pruned
        }
        else
        {
            outcome = "validation";
        }
        var alive = owner is { } o2 && live.IsAlive(o2.Pid, o2.Started);
        return new RunEntry(name, dir, started, Size(dir), outcome, alive ? $"its run is alive (pid {owner!.Value.Pid})" : null);
    }

    private static string? InUse(string path, LiveProcesses live, IReadOnlyList<(string Path, string What)> attachments, string? lockFile = null)
    {
        if (lockFile is not null && Locked(lockFile)) return $"locked by a live process ({lockFile})";
        var held = attachments.FirstOrDefault(m => m.Path == path || m.Path.StartsWith(path + "/", StringComparison.Ordinal));
        if (held.What is not null) return held.What;
        var users = live.Users(path);
        return users.Count > 0 ? $"open by {string.Join(", ", users)}" : null;
    }

    /// <summary>True when another process holds the lock file (a missing file is held by nobody).</summary>
    private static bool Locked(string lockFile)
    {
        if (!File.Exists(lockFile)) return false;
        using var held = CacheLock.TryAcquire(lockFile);
        return held is null;
    }

    private static string BuiltDetail(string dir)
    {
        try
        {
            using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "build.json")));
            return $"{json.RootElement.GetProperty("release").GetString()}: {json.RootElement.GetProperty("origin").GetString()}";
        }
        catch (Exception e) when (e is JsonException or IOException or KeyNotFoundException) { return "built kernel (no readable build.json)"; }
    }

    private static IEnumerable<string> Leftovers(string cacheRoot)
    {
        foreach (var folder in new[] { cacheRoot, Path.Combine(cacheRoot, "kernels"), Path.Combine(cacheRoot, "kernels", "debs"), Path.Combine(cacheRoot, "kernels", "resolved"), Path.Combine(cacheRoot, "initramfs"), Path.Combine(cacheRoot, "src"), Path.Combine(cacheRoot, "patches") })
        {
            if (!Directory.Exists(folder)) continue;
            foreach (var entry in Directory.EnumerateFileSystemEntries(folder))
            {
                var name = Path.GetFileName(entry);
                if (name.EndsWith(".tmp", StringComparison.Ordinal) || name.StartsWith(".download-", StringComparison.Ordinal)
                    || name.StartsWith(".module-", StringComparison.Ordinal) || name.EndsWith(".partial", StringComparison.Ordinal)
                    || name.EndsWith(".deb-unpacked", StringComparison.Ordinal))
                    yield return entry;
            }
        }
    }

    private static IEnumerable<string> Dirs(string folder) =>
        Directory.Exists(folder) ? Directory.EnumerateDirectories(folder).Order(StringComparer.Ordinal) : [];

    private static IEnumerable<string> Files(string folder, string pattern) =>
        Directory.Exists(folder) ? Directory.EnumerateFiles(folder, pattern).Order(StringComparer.Ordinal) : [];

    private static long SizeOf(string path) => Directory.Exists(path) ? Size(path) : new FileInfo(path).Length;

    /// <summary>Bytes of the regular files under <paramref name="dir"/>, not following symlinks; unreadable parts count as 0.</summary>
    public static long Size(string dir)
    {
        long total = 0;
        try
        {
            var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
            foreach (var file in new DirectoryInfo(dir).EnumerateFiles("*", options)) total += file.Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return total;
    }
}
