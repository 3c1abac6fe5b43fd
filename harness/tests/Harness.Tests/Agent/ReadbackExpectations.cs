// Walks a read-back pass sector by sector against the plan: for plans whose IOs do not
// overlap, each sector has exactly one legal content, so any difference is listed.
using Harness.Workload;

namespace Harness.Tests.Agent;

internal static class ReadbackExpectations
{
    private const int Sector = SectorFormat.SectorSize;

    /// <summary>
    /// Differences between the pass and the plan (at most <paramref name="limit"/>), given what
    /// a sector no IO wrote must hold. Empty means every sector is as expected.
    /// </summary>
    public static IReadOnlyList<string> Mismatches(ReadbackPass pass, WorkloadPlan plan, Func<long, DecodedSector> unwritten, int limit = 20)
    {
        var sectors = (plan.ReadbackLength + Sector - 1) / Sector;
        var writer = new int[sectors];
        Array.Fill(writer, -1);
        foreach (var io in plan.Ios)
        {
            for (var s = io.Offset / Sector; s < io.End / Sector; s++)
            {
                if (writer[s] >= 0) throw new InvalidOperationException($"IOs {writer[s]} and {io.Index} overlap: this check needs a plan without overlaps");
                writer[s] = io.Index;
            }
        }

        var problems = new List<string>();
        long next = 0;
        foreach (var run in pass.Runs)
        {
            if (run.FirstSector != next) problems.Add($"runs jump from sector {next} to {run.FirstSector}");
            for (var s = run.FirstSector; s < run.EndSector && problems.Count < limit; s++)
            {
                var seen = run.At(s);
                var expected = writer[s] >= 0 ? DataOf(plan, plan.Ios[writer[s]], s) : unwritten(s);
                if (seen != expected) problems.Add($"sector {s}: expected {expected}, read {seen}");
            }
            next = run.EndSector;
        }
        if (next != sectors) problems.Add($"runs end at sector {next}, expected {sectors}");
        return problems;
    }

    public static DecodedSector DataOf(WorkloadPlan plan, PlannedIo io, long sector) =>
        new(SectorKind.Data, plan.RunTag, io.Index, (int)((sector * Sector - io.Offset) / Sector), sector * Sector, true);

    public static DecodedSector Zero(long sector) => new(SectorKind.Zero, 0, -1, 0, 0, true);

    public static Func<long, DecodedSector> Prewritten(WorkloadPlan plan) =>
        sector => new DecodedSector(SectorKind.Prewritten, plan.RunTag, -1, 0, sector * Sector, true);
}
