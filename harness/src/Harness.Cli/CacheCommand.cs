// `harness cache status | gc | release`: what the cache and the results folder hold, and pruning them.
// status lists kernels (fetched, built, .debs) with size and last use, source trees, initramfs
// archives, the agent, ccache, work folders (and whether their run is alive) and run folders;
// gc deletes by the rules in Cache/CacheGc.cs, and --dry-run prints the same lines without deleting;
// release frees what killed runs left (mounts, loop devices, work folders: Machines/StaleResources.cs).
using System.CommandLine;
using System.Globalization;
using System.Text;
using Harness.Cache;
using Harness.Results;
using Harness.Yaml;

namespace Harness.Cli;

public sealed class CacheCommand(TextWriter stdout, TextWriter stderr, TimeProvider time)
{
    public Command Create(CancellationToken cancellationToken)
    {
        var statusCache = CacheOption();
        var statusResults = ResultsOption();
        var statusJson = JsonOutput.Option();
        var status = new Command("status", "Show what the cache and the results folder hold: size, last use, and what is in use by a live process")
        {
            statusCache, statusResults, statusJson,
        };
        status.SetAction(parse =>
        {
            var report = Scan(parse.GetValue(statusCache), parse.GetValue(statusResults)!);
            if (parse.GetValue(statusJson)) JsonOutput.Write(stdout, report);
            else stdout.Write(RenderStatus(report, time.GetUtcNow()));
            return 0;
        });

        var gcCache = CacheOption();
        var gcResults = ResultsOption();
        var keepLast = new Option<int?>("--keep-last") { Description = "Runs: keep the newest N run folders under --results (with --older-than, a run goes only when both allow it)" };
        var olderThan = new Option<string?>("--older-than") { Description = "Runs: delete run folders started longer ago than this (30d, 12h, 90m, 600)" };
        var unusedFor = new Option<string?>("--unused-for") { Description = "Kernels (fetched, built, .debs) and initramfs archives not used for this long (30d, 12h, ...)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print what would be deleted, and why, without deleting" };
        var gc = new Command("gc",
            "Delete old run folders, unused kernels and initramfs archives, work folders of runs that are gone and half-written leftovers. " +
            "Never a source tree, the agent, ccache, or anything a live process holds (lock, open file, mount, loop device, alive run).")
        {
            gcCache, gcResults, keepLast, olderThan, unusedFor, dryRun,
        };
        gc.SetAction(parse =>
        {
            if (parse.GetValue(keepLast) is < 0)
                throw new InputException(new InputProblem("--keep-last", 0, 0, "--keep-last", "must be 0 or more"));
            var policy = new GcPolicy(parse.GetValue(keepLast), Duration(parse.GetValue(olderThan), "--older-than"), Duration(parse.GetValue(unusedFor), "--unused-for"));
            var report = Scan(parse.GetValue(gcCache), parse.GetValue(gcResults)!);
            var actions = CacheGc.Plan(report, policy, time.GetUtcNow());
            var dry = parse.GetValue(dryRun);
            foreach (var a in actions)
                stdout.WriteLine(a.Kept is null
                    ? $"{(dry ? "would delete" : "delete")} {a.What} {a.Path} ({Size(a.Bytes)}): {a.Reason}"
                    : $"keep {a.What} {a.Path}: {a.Reason}, but {a.Kept}");
            var failures = dry ? [] : CacheGc.Apply(actions);
            foreach (var f in failures) stderr.WriteLine($"harness: cache gc: {f}");
            var deleted = actions.Where(a => a.Kept is null && !failures.Any(f => f.StartsWith(a.Path + ":", StringComparison.Ordinal))).ToArray();
            stdout.WriteLine($"{(dry ? "would free" : "freed")} {Size(deleted.Sum(a => a.Bytes))} in {deleted.Length} entr{(deleted.Length == 1 ? "y" : "ies")}" +
                             (policy is { KeepLast: null, OlderThan: null, UnusedFor: null } ? " (only leftovers: give --keep-last, --older-than or --unused-for to prune runs and kernels)" : ""));
            return failures.Count == 0 ? 0 : CliApp.ExitInfrastructure;
        });
        var releaseCache = CacheOption();
        var release = new Command("release", "Release what killed runs left: their mounts and loop devices under the cache's work folder, their work folders; mark their run.json interrupted") { releaseCache };
        release.SetAction(async (parse, _) =>
        {
            var released = await Machines.StaleResources.ReleaseAsync(Path.Combine(CliApp.CacheDir(parse.GetValue(releaseCache)), "work"), stdout, cancellationToken);
            if (released.Count == 0) stdout.WriteLine("nothing to release: no work folder of a run whose process is gone");
            // 3 when something could not be released: the lines above say what and how.
            return released.All(r => r.Released) ? 0 : CliApp.ExitInfrastructure;
        });
        return new Command("cache", "Show, prune and release the cache (kernels, initramfs, work folders) and old run folders") { status, gc, release };
    }

    private static Option<string?> CacheOption() => new("--cache") { Description = "Cache folder (default $HARNESS_CACHE or .cache)" };

    private static Option<string> ResultsOption() => new("--results") { Description = "Results root whose run folders are listed and pruned", DefaultValueFactory = _ => "results" };

    private static CacheReport Scan(string? cacheOption, string results)
    {
        var cache = CliApp.CacheDir(cacheOption);
        if (File.Exists(cache))
            throw new InputException(new InputProblem("--cache", 0, 0, "--cache", $"{cache} is a file, not a cache folder"));
        if (File.Exists(results))
            throw new InputException(new InputProblem("--results", 0, 0, "--results", $"{results} is a file, not a results folder"));
        return CacheInventory.Scan(cache, Path.GetFullPath(results), LiveProcesses.Snapshot(), CacheInventory.Attachments());
    }

    private static TimeSpan? Duration(string? text, string option)
    {
        if (text is null) return null;
        // The one duration syntax of every time option (Yaml/Duration.cs).
        if (!Yaml.Duration.TryParse(text, out var duration))
            throw new InputException(new InputProblem(option, 0, 0, option, $"'{text}' is not an age; use {Yaml.Duration.Expected}, at most {Yaml.Duration.Format(Yaml.Duration.Max)}"));
        return duration;
    }

    /// <summary>The status tables: cache entries by kind, then run folders, each with size, last use and state.</summary>
    public static string RenderStatus(CacheReport report, DateTimeOffset now)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"cache {report.CacheRoot}: {Size(report.Entries.Sum(e => e.Bytes))} in {report.Entries.Count} entries");
        if (report.Entries.Count > 0)
        {
            var rows = new List<IReadOnlyList<string>> { new[] { "kind", "entry", "size", "last use", "state", "what" } };
            foreach (var e in report.Entries)
                rows.Add([CacheGc.Word(e.Kind), Path.GetRelativePath(report.CacheRoot, e.Path), Size(e.Bytes),
                          e.LastUse is { } at ? $"{CacheGc.Age(now - at)} ago" : "-",
                          e.InUse is not null ? "in use" : e.Prunable ? "" : "kept", e.InUse ?? e.Detail]);
            TextTable.AppendTo(sb, rows);
        }
        sb.AppendLine();
        sb.AppendLine($"runs {report.ResultsRoot}: {report.Runs.Count} run folder(s), {Size(report.Runs.Sum(r => r.Bytes))}");
        if (report.Runs.Count > 0)
        {
            var rows = new List<IReadOnlyList<string>> { new[] { "run", "started", "size", "outcome", "state" } };
            foreach (var r in report.Runs)
                rows.Add([r.Id, $"{CacheGc.Age(now - r.Started)} ago", Size(r.Bytes), r.Outcome, r.InUse ?? ""]);
            TextTable.AppendTo(sb, rows);
        }
        return sb.ToString();
    }

    private static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("F1", CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("F1", CultureInfo.InvariantCulture) + " MiB",
        >= 1L << 10 => (bytes / (double)(1L << 10)).ToString("F1", CultureInfo.InvariantCulture) + " KiB",
        _ => $"{bytes} B",
    };
}
