// Releases what runs whose process is gone (kill -9, a crash, a second Ctrl-C that aborted)
// left behind: mounts and loop devices on images under the cache's work folder, and the work
// folders themselves. A folder is only ever touched when it sits directly in the work root,
// holds a harness.lock naming that very folder, and the lock's process (pid + start time) is
// gone; nothing is deleted while anything is still mounted under it.
using System.Globalization;
using System.Text;
using Harness.Results;
using Harness.Runs;

namespace Harness.Machines;

/// <summary>One thing released (or left, with why), as printed.</summary>
public sealed record ReleasedResource(string Kind, string Path, string RunId, bool Released, string Detail);

public static class StaleResources
{
    /// <summary>
    /// Scans <paramref name="workRoot"/> (cache/work) and releases every abandoned run's mounts,
    /// loop devices and work folder, marks its run.json interrupted, and prints one line per thing.
    /// </summary>
    public static async Task<IReadOnlyList<ReleasedResource>> ReleaseAsync(string workRoot, TextWriter report, CancellationToken cancellationToken)
    {
        var released = new List<ReleasedResource>();
        if (!Directory.Exists(workRoot)) return released;
        var root = Path.GetFullPath(workRoot);
        foreach (var folder in Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal))
        {
            // Never follow a link out of the work root.
            if (new DirectoryInfo(folder).LinkTarget is not null) continue;
            var info = RunLock.Read(folder, out var problem);
            if (problem is not null) { report.WriteLine($"harness: left {folder}: unreadable lock ({problem})"); continue; }
            if (info is null || RunLock.IsAlive(info)) continue;
            if (info.WorkFolder != folder || info.RunId != Path.GetFileName(folder))
            {
                report.WriteLine($"harness: left {folder}: its lock names {info.WorkFolder}, not this folder");
                continue;
            }
            var reason = $"process {info.Pid.ToString(CultureInfo.InvariantCulture)} gone before the run ended (killed or crashed); its leftovers released by harness pid {Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}";
            released.AddRange(await ReleaseRunAsync(info, reason, report, cancellationToken));
        }
        return released;
    }

    private static async Task<List<ReleasedResource>> ReleaseRunAsync(RunLockInfo info, string reason, TextWriter report, CancellationToken cancellationToken)
    {
        var done = new List<ReleasedResource>();
        void Say(ReleasedResource r)
        {
            done.Add(r);
            report.WriteLine($"harness: {(r.Released ? "released" : "left")} {r.Kind} {r.Path} of run {r.RunId}{(r.Detail.Length > 0 ? $" ({r.Detail})" : "")}");
        }
        var prefix = info.WorkFolder + "/";

        // Orphans first (an agent still writing, a QEMU still running): they keep the mount busy and
        // would outlive the run. Only processes whose command line names this run's work folder (QEMU's
        // disk) or is the agent's "--request <results>/..." of this run: a user's `tail` of a log is left alone.
        string[] signatures = [prefix, "--request " + info.ResultsFolder + "/"];
        foreach (var (pid, command) in ProcessesNaming(signatures))
        {
            Say(new ReleasedResource("process", pid.ToString(CultureInfo.InvariantCulture), info.RunId, Kill(pid), command.Length > 120 ? command[..120] + "..." : command));
        }
        for (var i = 0; i < 25 && ProcessesNaming(signatures).Count > 0; i++) await Task.Delay(100, cancellationToken);

        // Deepest mount first (a mount inside a mount would keep the outer one busy).
        foreach (var (mountPoint, source) in Mounts().Where(m => m.MountPoint.StartsWith(prefix, StringComparison.Ordinal)).OrderByDescending(m => m.MountPoint.Length))
        {
            var (code, output) = await HostCommand.TryRunAsync("umount", [mountPoint], "/", cancellationToken);
            if (code != 0) (code, output) = await HostCommand.TryRunAsync("umount", ["-l", mountPoint], "/", cancellationToken);
            Say(new ReleasedResource("mount", mountPoint, info.RunId, code == 0, code == 0 ? source : $"umount: {output.Trim()}; try: umount -l {mountPoint}"));
        }
        // Loop devices whose image lives in the folder: the data image (autoclear only acts on
        // umount) and an external journal's device, which nothing else would ever detach.
        foreach (var (device, backing) in LoopDevices().Where(l => l.Backing.StartsWith(prefix, StringComparison.Ordinal)))
        {
            var (code, output) = await HostCommand.TryRunAsync("losetup", ["-d", device], "/", cancellationToken);
            Say(new ReleasedResource("loop device", device, info.RunId, code == 0, code == 0 ? backing : $"losetup -d: {output.Trim()}"));
        }

        if (File.Exists(Path.Combine(info.ResultsFolder, "run.json")))
        {
            try
            {
                var record = await RunJournal.MarkAbandonedAsync(info.ResultsFolder, reason, cancellationToken);
                RunLock.Drop(info.ResultsFolder);
                Say(new ReleasedResource("run record", info.ResultsFolder, info.RunId, true,
                    $"marked interrupted, outcome {Verdicts.Outcomes.Word(record.Outcome ?? Verdicts.Outcome.Skip)} from {record.Cells.Count} of {record.Inputs.Count} finished cell(s); 'harness run --resume {info.ResultsFolder}' finishes it"));
            }
            catch (Exception e) when (e is RecordFormatException or IOException or UnauthorizedAccessException)
            {
                Say(new ReleasedResource("run record", info.ResultsFolder, info.RunId, false, e.Message));
            }
        }

        if (File.Exists(Path.Combine(info.ResultsFolder, "validation.json")))
        {
            try
            {
                var record = await MarkValidationAbandonedAsync(info.ResultsFolder, reason, cancellationToken);
                RunLock.Drop(info.ResultsFolder);
                Say(new ReleasedResource("validation record", info.ResultsFolder, info.RunId, true,
                    $"marked interrupted with {record.Pairs.Count(p => p.End != Verdicts.LoopEnd.Interrupted)} decided pair(s); 'harness validate --resume {info.ResultsFolder}' finishes it"));
            }
            catch (Exception e) when (e is RecordFormatException or IOException or UnauthorizedAccessException)
            {
                Say(new ReleasedResource("validation record", info.ResultsFolder, info.RunId, false, e.Message));
            }
        }

        // Delete only with nothing mounted under the folder: a recursive delete must never walk into a filesystem.
        var still = Mounts().Where(m => m.MountPoint.StartsWith(prefix, StringComparison.Ordinal)).Select(m => m.MountPoint).FirstOrDefault();
        if (still is not null)
        {
            Say(new ReleasedResource("work folder", info.WorkFolder, info.RunId, false, $"{still} is still mounted; umount it, then run 'harness cache release'"));
            return done;
        }
        try
        {
            Directory.Delete(info.WorkFolder, recursive: true);
            Say(new ReleasedResource("work folder", info.WorkFolder, info.RunId, true, ""));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Say(new ReleasedResource("work folder", info.WorkFolder, info.RunId, false, e.Message));
        }
        return done;
    }

    /// <summary>
    /// Marks a validation whose process is gone: interrupted, with the reason and its last sign of life.
    /// Its pairs stay as the dead process last wrote them; --resume rebuilds the pair in progress from the cell records.
    /// </summary>
    public static async Task<Validation.ValidationRecord> MarkValidationAbandonedAsync(string resultsFolder, string reason, CancellationToken cancellationToken)
    {
        var path = Path.Combine(resultsFolder, "validation.json");
        var record = RecordFormat.Read<Validation.ValidationRecord>(path);
        var last = Directory.EnumerateFiles(resultsFolder, "*.json", SearchOption.AllDirectories).Select(File.GetLastWriteTimeUtc).DefaultIfEmpty(DateTime.UtcNow).Max();
        record = record with { Interrupted = true, StopReason = reason, Finished = record.Finished ?? new DateTimeOffset(last, TimeSpan.Zero) };
        await AtomicFile.WriteJsonAsync(path, record, cancellationToken);
        return record;
    }

    /// <summary>SIGKILL through the runtime, not kill(1): procps is not on every minimal host.</summary>
    private static bool Kill(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            process.Kill();
            return true;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return false; // already gone, or not ours to kill
        }
    }

    /// <summary>Processes (not this one) whose command line contains one of the paths.</summary>
    internal static IReadOnlyList<(int Pid, string Command)> ProcessesNaming(IReadOnlyList<string> paths)
    {
        var list = new List<(int, string)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId) continue;
            string command;
            try { command = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Trim(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            if (command.Length > 0 && paths.Any(p => command.Contains(p, StringComparison.Ordinal)) && RunLock.ProcessStart(pid) is not null) list.Add((pid, command));
        }
        return list;
    }

    /// <summary>Mount points and sources from /proc/self/mountinfo (octal escapes undone).</summary>
    internal static IReadOnlyList<(string MountPoint, string Source)> Mounts()
    {
        var list = new List<(string, string)>();
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            var dash = Array.IndexOf(fields, "-");
            if (fields.Length < 5 || dash < 0 || dash + 2 >= fields.Length) continue;
            list.Add((Unescape(fields[4]), Unescape(fields[dash + 2])));
        }
        return list;
    }

    /// <summary>Attached loop devices and their backing files, from sysfs.</summary>
    internal static IReadOnlyList<(string Device, string Backing)> LoopDevices()
    {
        var list = new List<(string, string)>();
        if (!Directory.Exists("/sys/block")) return list;
        foreach (var dev in Directory.EnumerateDirectories("/sys/block", "loop*"))
        {
            var file = Path.Combine(dev, "loop", "backing_file");
            string backing;
            try { backing = File.ReadAllText(file).TrimEnd('\n'); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            // A deleted image still backs the device: the kernel appends " (deleted)".
            if (backing.EndsWith(" (deleted)", StringComparison.Ordinal)) backing = backing[..^" (deleted)".Length];
            list.Add(("/dev/" + Path.GetFileName(dev), backing));
        }
        return list;
    }

    private static string Unescape(string field)
    {
        if (!field.Contains('\\')) return field;
        var sb = new StringBuilder();
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length)
            {
                sb.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else sb.Append(field[i]);
        }
        return sb.ToString();
    }
}
