// What a finished harness must not leave behind, looked up on the host, not assumed: mounts
// (/proc/mounts), loop devices (`losetup -a`), QEMU and other processes (`pgrep -a`), and files
// in the cache's work folder. Only things that name the test's own folder count, so helpers
// and other test runs on the same machine never make a test fail.
using Harness.Machines;

namespace Harness.Tests.Support;

public static class Leaks
{
    /// <summary>
    /// Everything left that involves <paramref name="root"/>: one line per leak, empty when clean.
    /// <paramref name="ownMounts"/> are mount points the test made itself (the --dir filesystem),
    /// with their loop devices; <paramref name="workFolder"/> must be absent or empty.
    /// </summary>
    public static async Task<IReadOnlyList<string>> UnderAsync(string root, string workFolder, params string[] ownMounts)
    {
        root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        var leaks = new List<string>();
        var mounts = (await File.ReadAllLinesAsync("/proc/mounts")).Select(l => l.Split(' ')).Where(f => f.Length > 2).ToArray();
        var ownSources = mounts.Where(f => ownMounts.Contains(Unescape(f[1]))).Select(f => f[0]).ToHashSet();
        foreach (var f in mounts)
        {
            var point = Unescape(f[1]);
            if (Within(point, root) && !ownMounts.Contains(point)) leaks.Add($"mount: {f[0]} on {point} ({f[2]})");
        }

        // losetup -a: "/dev/loop3: [2049]:1234 (/tmp/x/cache/work/.../disk.img)"
        var (_, loops) = await HostCommand.TryRunAsync("losetup", ["-a"], "/", CancellationToken.None);
        foreach (var line in loops.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var device = line.Split(':')[0];
            var open = line.IndexOf('(', StringComparison.Ordinal);
            var backing = open < 0 ? "" : line[(open + 1)..].TrimEnd(')');
            if (backing.Contains(root, StringComparison.Ordinal) && !ownSources.Contains(device)) leaks.Add($"loop device: {line.Trim()}");
        }

        // Any process still naming the folder (QEMU with its disk and initrd, an agent, a harness).
        foreach (var (pid, command) in StaleResources.ProcessesNaming([root]))
            leaks.Add($"process: {pid} {command}");

        if (Directory.Exists(workFolder))
            leaks.AddRange(Directory.EnumerateFileSystemEntries(workFolder, "*", SearchOption.AllDirectories).Select(e => $"work folder entry: {e}"));
        return leaks;
    }

    /// <summary>QEMU processes on the whole host whose command line names <paramref name="root"/> (read from /proc).</summary>
    public static Task<IReadOnlyList<string>> QemuUnderAsync(string root) =>
        Task.FromResult<IReadOnlyList<string>>(StaleResources.ProcessesNaming([root])
            .Where(p => p.Command.Contains("qemu", StringComparison.Ordinal)).Select(p => $"{p.Pid} {p.Command}").ToArray());

    private static bool Within(string path, string root) => path == root || path.StartsWith(root + "/", StringComparison.Ordinal);

    // /proc/mounts escapes space, tab, newline and backslash as octal.
    private static string Unescape(string field) =>
        field.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
             .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);
}
