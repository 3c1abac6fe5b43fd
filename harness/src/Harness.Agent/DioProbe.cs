// Before any write: which O_DIRECT alignment does the target file need? statx's STATX_DIOALIGN
// where the kernel reports it (6.1+: ext4, xfs, f2fs, block devices), else the logical block
// size of the device behind the file from sysfs. A case whose IOs that alignment cannot take is
// skipped with the reason: on a 4Kn disk every 512-aligned write fails with EINVAL, which would
// otherwise read back as a clean, all-zero file.
using System.Globalization;
using Harness.Agent.Interop;
using Harness.Workload;

namespace Harness.Agent;

internal static class DioProbe
{
    /// <summary>The alignment <paramref name="path"/> (an existing file) needs, and where the number came from.</summary>
    public static DioAlignment Probe(string path, string sysDevBlock, TextWriter log)
    {
        var facts = Posix.Statx(path);
        if (facts.DioAlignReported)
            return new DioAlignment((int)facts.DioOffsetAlign, (int)facts.DioMemAlign, AlignmentSource.Statx,
                string.Create(CultureInfo.InvariantCulture, $"statx STATX_DIOALIGN on device {facts.DevMajor}:{facts.DevMinor}"));

        if (FromSysfs(facts.DevMajor, facts.DevMinor, sysDevBlock) is { } fromSysfs) return fromSysfs;
        var device = Path.Combine(sysDevBlock, string.Create(CultureInfo.InvariantCulture, $"{facts.DevMajor}:{facts.DevMinor}"));
        log.WriteLine($"harness-agent: direct-IO alignment of {path} unknown (no STATX_DIOALIGN, no {device}/queue); running the workload as planned");
        return new DioAlignment(0, 0, AlignmentSource.Unknown, string.Create(CultureInfo.InvariantCulture, $"device {facts.DevMajor}:{facts.DevMinor} has no block queue in {sysDevBlock}"));
    }

    /// <summary>The logical block size of block device major:minor, or null when it has no block queue.</summary>
    public static DioAlignment? FromSysfs(uint major, uint minor, string sysDevBlock)
    {
        // /sys/dev/block/M:m links to the disk or the partition; a partition has no queue/ of
        // its own, its parent disk's directory has. Resolve the link first: .NET collapses ".."
        // lexically, which would climb out of /sys/dev/block instead of the device tree.
        var link = new DirectoryInfo(Path.Combine(sysDevBlock, string.Create(CultureInfo.InvariantCulture, $"{major}:{minor}")));
        if (!link.Exists) return null;
        var device = link.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? link.FullName;
        foreach (var candidate in new[] { Path.Combine(device, "queue", "logical_block_size"), Path.Combine(Path.GetDirectoryName(device)!, "queue", "logical_block_size") })
        {
            try
            {
                var size = int.Parse(File.ReadAllText(candidate).Trim(), CultureInfo.InvariantCulture);
                if (size > 0) return new DioAlignment(size, 0, AlignmentSource.LogicalBlockSize, candidate);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
            {
                // Not there or unreadable: try the parent.
            }
        }
        return null;
    }

    /// <summary>Why the plan cannot run with this alignment, or null when it can (or the alignment is unknown).</summary>
    public static string? SkipReason(WorkloadPlan plan, DioAlignment alignment, int bufferAlignment)
    {
        var align = alignment.OffsetAlign;
        var from = alignment.Source == AlignmentSource.Statx ? "statx STATX_DIOALIGN" : "the device's logical_block_size";
        if (align > plan.Spec.Alignment)
            return string.Create(CultureInfo.InvariantCulture, $"device logical block {align} > case alignment {plan.Spec.Alignment} (from {from})");
        if (align > 0)
        {
            foreach (var io in plan.Ios)
            {
                if (io.Offset % align != 0 || io.Length % align != 0)
                    return string.Create(CultureInfo.InvariantCulture,
                        $"IO {io.Index} ({io.Length} bytes at {io.Offset}) is not a multiple of the device's direct-IO alignment {align} (from {from})");
            }
        }
        if (alignment.MemoryAlign > bufferAlignment)
            return string.Create(CultureInfo.InvariantCulture, $"device needs {alignment.MemoryAlign}-byte aligned buffers, the agent's are {bufferAlignment}-byte aligned");
        return null;
    }
}
