// Which live processes hold what, read from /proc once: their start times (so a pid reused by
// an unrelated process is not taken for the harness that once had it), the files they have
// open and the paths on their command lines (QEMU names its kernel, initrd and disk there).
// `cache gc` never deletes what this says is in use.
using System.Globalization;

namespace Harness.Cache;

/// <summary>A snapshot of the host's processes, for deciding whether a cache entry or run is in use.</summary>
public sealed class LiveProcesses
{
    private readonly Dictionary<int, (DateTimeOffset Started, string Name)> _processes = [];
    private readonly List<(int Pid, string Path)> _paths = [];

    private LiveProcesses() { }

    /// <summary>Reads /proc now. Processes that vanish or cannot be read (another user's fds) are skipped.</summary>
    public static LiveProcesses Snapshot()
    {
        var snapshot = new LiveProcesses();
        var boot = BootTime();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var close = stat.LastIndexOf(')');
                var name = stat[(stat.IndexOf('(') + 1)..close];
                // Fields after "(comm)": state is field 3, starttime (clock ticks since boot) field 22.
                var fields = stat[(close + 2)..].Split(' ');
                var ticks = long.Parse(fields[19], CultureInfo.InvariantCulture);
                snapshot._processes[pid] = (boot.AddSeconds(ticks / 100.0), name);
                foreach (var arg in File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries))
                    if (arg.Contains('/')) snapshot._paths.Add((pid, arg));
                foreach (var fd in Directory.EnumerateFileSystemEntries(Path.Combine(dir, "fd")))
                    if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith('/')) snapshot._paths.Add((pid, target));
                if (new DirectoryInfo(Path.Combine(dir, "cwd")).LinkTarget is { } cwd) snapshot._paths.Add((pid, cwd));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException) { }
        }
        return snapshot;
    }

    /// <summary>
    /// True when <paramref name="pid"/> is running and started no later than <paramref name="notAfter"/>
    /// (plus a second of slack): a process started later only reuses the pid.
    /// </summary>
    public bool IsAlive(int pid, DateTimeOffset notAfter) =>
        _processes.TryGetValue(pid, out var p) && p.Started <= notAfter.AddSeconds(2);

    /// <summary>Live processes with a file open, a working directory or a command-line path at or under <paramref name="path"/>: "pid (name)".</summary>
    public IReadOnlyList<string> Users(string path)
    {
        path = Path.TrimEndingDirectorySeparator(path);
        return _paths.Where(p => p.Pid != Environment.ProcessId && (p.Path == path || p.Path.StartsWith(path + "/", StringComparison.Ordinal)))
            .Select(p => p.Pid).Distinct().Order()
            .Select(pid => $"{pid} ({(_processes.TryGetValue(pid, out var info) ? info.Name : "?")})").ToArray();
    }

    private static DateTimeOffset BootTime()
    {
        var line = File.ReadLines("/proc/stat").First(l => l.StartsWith("btime ", StringComparison.Ordinal));
        return DateTimeOffset.FromUnixTimeSeconds(long.Parse(line[6..].Trim(), CultureInfo.InvariantCulture));
    }
}
