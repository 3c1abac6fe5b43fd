// harness.lock: who owns a run's work folder and results folder while it runs. It names the
// process by pid AND its start time (/proc/<pid>/stat field 22), so a recycled pid never makes a
// dead run look alive. A later harness that finds a lock whose process is gone releases the
// run's leftovers (Machines/StaleResources.cs).
using System.Globalization;
using System.Text.Json;
using Harness.Results;

namespace Harness.Runs;

/// <summary>The contents of a harness.lock file.</summary>
public sealed record RunLockInfo(string RunId, int Pid, long ProcessStart, string WorkFolder, string ResultsFolder, DateTimeOffset Taken)
{
    /// <summary>Shape of this record (<see cref="RecordFormat"/>).</summary>
    public int FormatVersion { get; init; } = RecordFormat.Current;
}

/// <summary>Writes, reads and judges run locks.</summary>
public static class RunLock
{
    public const string FileName = "harness.lock";

    /// <summary>Writes the lock of this process into both folders (durably: recovery trusts it).</summary>
    public static async Task<RunLockInfo> TakeAsync(string runId, string workFolder, string resultsFolder, TimeProvider time, CancellationToken cancellationToken)
    {
        var info = new RunLockInfo(runId, Environment.ProcessId, ProcessStart(Environment.ProcessId) ?? 0,
            Path.GetFullPath(workFolder), Path.GetFullPath(resultsFolder), time.GetUtcNow());
        Directory.CreateDirectory(workFolder);
        await AtomicFile.WriteJsonAsync(Path.Combine(workFolder, FileName), info, cancellationToken);
        await AtomicFile.WriteJsonAsync(Path.Combine(resultsFolder, FileName), info, cancellationToken);
        return info;
    }

    /// <summary>Removes the lock from the results folder (the work folder goes away whole).</summary>
    public static void Drop(string resultsFolder)
    {
        try { File.Delete(Path.Combine(resultsFolder, FileName)); }
        catch (IOException) { /* a stale lock is judged by its process, never trusted blindly */ }
    }

    /// <summary>The lock in a folder, or null when there is none or it cannot be read (said in <paramref name="problem"/>).</summary>
    public static RunLockInfo? Read(string folder, out string? problem)
    {
        problem = null;
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) return null;
        try { return RecordFormat.Read<RunLockInfo>(path); }
        catch (RecordFormatException e) { problem = e.Message; return null; }
    }

    /// <summary>True while the process that took the lock runs: same pid and same start time.</summary>
    public static bool IsAlive(RunLockInfo info) =>
        ProcessStart(info.Pid) is { } start && (info.ProcessStart == 0 || start == info.ProcessStart);

    /// <summary>A process's start time in clock ticks since boot, or null when there is no such process.</summary>
    public static long? ProcessStart(int pid)
    {
        string stat;
        try { stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        // The command name (field 2) may hold spaces and ')': fields count from the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // Zombies are gone for our purpose: they hold no mounts and will never write again.
        if (fields[0] == "Z") return null;
        return long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var start) ? start : null;
    }
}
