// The short table printed at the end of a run. Plain text so it can be diffed and snapshotted.
using System.Globalization;
using System.Text;
using Harness.Verdicts;

namespace Harness.Results;

public static class RunTable
{
    public static string Render(RunRecord run)
    {
        var rows = new List<IReadOnlyList<string>> { new[] { "cell", "fs", "case", "outcome", "pass", "fail", "error", "findings", "io errors", "dirt reused", "median IOPS", "boot s", "seconds" } };
        foreach (var c in run.Cells)
        {
            var findings = c.FindingsByClass.Count == 0 ? "-" : string.Join(" ", c.FindingsByClass.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}:{kv.Value}"));
            rows.Add([c.Input.CellId, c.Input.Filesystem, c.Input.Case, Outcomes.Word(c.Outcome),
                N(c.Passed), N(c.Failed), N(c.Errored), findings, N(c.IoErrors),
                c.DirtReuse is { } d ? $"{N(d.ReusedBlocks)}/{N(d.TargetBlocks)}" : "?", c.MedianIops.ToString("F0", CultureInfo.InvariantCulture),
                c.BootSeconds > 0 ? c.BootSeconds.ToString("F1", CultureInfo.InvariantCulture) : "-", c.Seconds.ToString("F1", CultureInfo.InvariantCulture)]);
        }
        var sb = new StringBuilder();
        TextTable.AppendTo(sb, rows);
        var overall = run.Outcome is { } o ? Outcomes.Word(o) : "UNFINISHED";
        sb.AppendLine($"run {run.RunId}: {overall}{(run.Interrupted ? " (interrupted: finished cells kept)" : "")}");
        foreach (var c in run.Cells.Where(c => c.Error is not null))
            sb.AppendLine($"  {c.Input.CellId}: {(c.Failure is { } f ? $"[{f.Kind}] {f.Message}" : c.Error)}");
        // Kernel warnings do not decide the outcome, but a reviewer must see that the kernel complained.
        foreach (var c in run.Cells.Where(c => c.KernelWarnings.Count > 0))
            sb.AppendLine($"  {c.Input.CellId}: {c.KernelWarnings.Count} kernel warning(s): {string.Join(" | ", c.KernelWarnings.First.Take(2))}");
        return sb.ToString();
    }

    private static string N(long n) => n.ToString(CultureInfo.InvariantCulture);
}
