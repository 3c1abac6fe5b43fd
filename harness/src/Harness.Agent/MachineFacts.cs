// Facts about the machine every report carries: the running kernel and how many CPUs are
// online (a guest that silently lost its second CPU cannot race two writers; see DESIGN.md).
using System.Runtime.InteropServices;
using Harness.Agent.Interop;

namespace Harness.Agent;

/// <summary>The kernel release and online CPU count, plus the drop-caches knob.</summary>
public sealed record MachineFacts(string Kernel, int CpuCount)
{
    public static MachineFacts Read(AgentEnvironment environment, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(log);
        string kernel;
        try
        {
            kernel = File.ReadAllText(environment.OsReleasePath).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // uname(2) through the runtime still names the kernel when /proc is not mounted.
            kernel = RuntimeInformation.OSDescription;
            log.WriteLine($"harness-agent: cannot read {environment.OsReleasePath} ({e.Message}); kernel from uname: {kernel}");
        }

        int cpus;
        try
        {
            cpus = ParseCpuList(File.ReadAllText(environment.CpuOnlinePath));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            cpus = Environment.ProcessorCount;
            log.WriteLine($"harness-agent: cannot read {environment.CpuOnlinePath} ({e.Message}); using {cpus} CPUs");
        }
        return new MachineFacts(kernel, cpus);
    }

    /// <summary>Counts the CPUs in a kernel CPU list such as <c>0-1</c> or <c>0,2-3,8</c> (Documentation/admin-guide/cputopology.rst).</summary>
    public static int ParseCpuList(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var count = 0;
        foreach (var part in text.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var dash = part.IndexOf('-');
            if (dash < 0)
            {
                _ = int.Parse(part, System.Globalization.CultureInfo.InvariantCulture);
                count++;
                continue;
            }
            var first = int.Parse(part.AsSpan(0, dash), System.Globalization.CultureInfo.InvariantCulture);
            var last = int.Parse(part.AsSpan(dash + 1), System.Globalization.CultureInfo.InvariantCulture);
            if (last < first) throw new FormatException($"CPU range '{part}' runs backwards");
            count += last - first + 1;
        }
        if (count == 0) throw new FormatException("empty CPU list");
        return count;
    }

    /// <summary>sync, then write 3 to drop_caches: the next reads come from disk, not from cached pages or extents.</summary>
    public static void DropCaches(AgentEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        Posix.Sync();
        try
        {
            File.WriteAllText(environment.DropCachesPath, "3");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AgentException(
                $"cannot drop caches: writing 3 to {environment.DropCachesPath} failed ({e.Message}); "
                + "run the agent as root with a writable /proc/sys, or read back after a remount instead", e);
        }
    }
}
