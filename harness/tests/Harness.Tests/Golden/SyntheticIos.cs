// IO records as the agent would report them, and landing orders those records allow, so tests
// can say "two in flight, landed either way" without a kernel.
using Harness.Workload;

namespace Harness.Tests.Golden;

internal static class SyntheticIos
{
    /// <summary>One at a time: each IO is reaped before the next is submitted.</summary>
    public static IoRecord[] Sequential(WorkloadPlan plan) => InFlight(plan, 1);

    /// <summary>
    /// A queue of <paramref name="queueDepth"/>: the first ones are submitted together, then every
    /// reap (oldest first) is followed by the next submit. IO i overlaps IOs i-qd+1 .. i+qd-1.
    /// All acknowledged.
    /// </summary>
    public static IoRecord[] InFlight(WorkloadPlan plan, int queueDepth)
    {
        var records = new IoRecord[plan.Ios.Count];
        var submitted = new long[plan.Ios.Count];
        var seq = 0L;
        var next = 0;
        for (; next < Math.Min(queueDepth, plan.Ios.Count); next++) submitted[next] = seq++;
        for (var reap = 0; reap < plan.Ios.Count; reap++)
        {
            var complete = seq++;
            records[reap] = new IoRecord(reap, submitted[reap], complete, plan.Ios[reap].Length, submitted[reap] * 1000, complete * 1000);
            if (next < plan.Ios.Count) submitted[next++] = seq++;
        }
        return records;
    }

    /// <summary>The same records with one IO's result replaced (e.g. -5 for EIO, or a short count).</summary>
    public static IoRecord[] WithResult(this IoRecord[] records, int io, long result)
    {
        var copy = records.ToArray();
        copy[io] = copy[io] with { Result = result };
        return copy;
    }

    /// <summary>
    /// A seeded order the records allow: each IO lands at a random moment between its submit and
    /// its reap, so one reaped before another was submitted always lands first.
    /// </summary>
    public static int[] LandingOrder(IReadOnlyList<IoRecord> records, ulong seed)
    {
        var random = new SplitMix64(seed);
        return records
            .Select(r => (r.Index, At: r.SubmitSeq + (r.CompleteSeq - r.SubmitSeq) * ((random.Next(1_000_000) + 1) / 1_000_001.0)))
            .OrderBy(x => x.At)
            .Select(x => x.Index)
            .ToArray();
    }
}
