// The power of the stale check: stale data can only show in blocks the target got from the
// dirtied free space. FIEMAP of the dirt file (before it is deleted) and of the target (after
// the workload and fsync) says how many target blocks physically overlap the dirt. Where
// FIEMAP is missing or its addresses are not comparable, the answer is "unknown", never a guess.
// (btrfs reports its own logical addresses: comparable within one filesystem, which is all we need.)
using Harness.Agent.Interop;
using Harness.Workload;
using Microsoft.Win32.SafeHandles;

namespace Harness.Agent;

/// <summary>A file's physical extents, or why they are unknown.</summary>
internal sealed record ExtentMap(IReadOnlyList<PhysicalExtent>? Extents, string? Unknown)
{
    public static ExtentMap Empty { get; } = new([], null);

    /// <summary>FIEMAP of an open file; unsupported or unusable maps become <see cref="Unknown"/>.</summary>
    public static ExtentMap Read(SafeFileHandle file, string path, string what)
    {
        try
        {
            var extents = Posix.Fiemap(file, path);
            var odd = extents.Where(e => (e.Flags & PhysicalExtent.NotComparable) != 0).Select(e => (uint?)e.Flags).FirstOrDefault();
            return odd is null
                ? new ExtentMap(extents, null)
                : new ExtentMap(null, $"FIEMAP of the {what} has extents without a comparable physical address (flags 0x{odd.Value:x})");
        }
        catch (NativeErrorException e)
        {
            return new ExtentMap(null, $"FIEMAP of the {what} failed: {LinuxErrno.Name(e.Errno)}");
        }
    }
}

internal static class DirtReuseMeter
{
    /// <summary>Blocks (of <paramref name="blockSize"/> bytes) of dirt, of target, and of target overlapping dirt.</summary>
    public static (DirtReuse? Reuse, string? Unknown) Measure(ExtentMap dirt, ExtentMap target, int blockSize)
    {
        if (dirt.Unknown is not null) return (null, dirt.Unknown);
        if (target.Unknown is not null) return (null, target.Unknown);
        var dirtRanges = Merge(dirt.Extents!);
        long overlap = 0;
        foreach (var t in target.Extents!)
        {
            var i = FirstEndingAfter(dirtRanges, t.Physical);
            for (; i < dirtRanges.Count && dirtRanges[i].Start < t.End; i++)
                overlap += Math.Min(t.End, dirtRanges[i].End) - Math.Max(t.Physical, dirtRanges[i].Start);
        }
        return (new DirtReuse(
            dirt.Extents!.Sum(e => e.Length) / blockSize,
            target.Extents!.Sum(e => e.Length) / blockSize,
            overlap / blockSize), null);
    }

    private static List<(long Start, long End)> Merge(IReadOnlyList<PhysicalExtent> extents)
    {
        var merged = new List<(long Start, long End)>();
        foreach (var e in extents.OrderBy(e => e.Physical))
        {
            if (merged.Count > 0 && e.Physical <= merged[^1].End)
                merged[^1] = (merged[^1].Start, Math.Max(merged[^1].End, e.End));
            else
                merged.Add((e.Physical, e.End));
        }
        return merged;
    }

    private static int FirstEndingAfter(List<(long Start, long End)> ranges, long at)
    {
        int lo = 0, hi = ranges.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (ranges[mid].End <= at) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
