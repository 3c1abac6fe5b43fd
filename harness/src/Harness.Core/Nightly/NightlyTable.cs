// The table `harness nightly` prints, rendered from nightly.json alone: per cell the kernel of both
// nights, both nights' counts, the comparison word, and what the bisection found.
using System.Text;
using Harness.Results;

namespace Harness.Nightly;

/// <summary>Renders a nightly record as the table the command prints.</summary>
public static class NightlyTable
{
    public static string Render(NightlyRecord record)
    {
        var rows = new List<IReadOnlyList<string>>
        {
            new[] { "kernel", "setup", "case", "baseline kernel", "tonight's kernel", "baseline failed/runs", "tonight failed/runs", "outcome", "comparison", "bisection" },
        };
        foreach (var c in record.Comparisons)
        {
            var cell = record.Cells.FirstOrDefault(x => x.Kernel == c.Kernel && x.Setup == c.Setup && x.Case == c.Case);
            var bisect = record.Bisections.FirstOrDefault(b => b.Kernel == c.Kernel && b.Setup == c.Setup && b.Case == c.Case);
            rows.Add([c.Kernel, c.Setup, c.Case, c.BaselineKernel ?? "-", c.TonightKernel,
                c.Baseline is { } b ? $"{b.Failures}/{b.Runs}" : "-", $"{c.Tonight.Failures}/{c.Tonight.Runs}",
                cell is null ? "-" : Verdicts.Outcomes.Word(cell.Outcome),
                Word(c.Word),
                bisect is null ? "-" : bisect.NotStarted is not null ? "not started" : bisect.End is { } e ? EnumWords.Kebab(e) : "interrupted"]);
        }
        var sb = new StringBuilder();
        TextTable.AppendTo(sb, rows);
        sb.AppendLine($"nightly {record.NightlyId} of plan {record.PlanName} ({record.PlanSha256[..12]}): {record.Summary}");
        foreach (var b in record.Bisections)
            sb.AppendLine(b.NotStarted is not null ? $"  {b.Kernel}/{b.Setup}/{b.Case}: not bisected: {b.NotStarted}" : $"  {b.Kernel}/{b.Setup}/{b.Case}: {b.Summary} ({b.BisectPath})");
        foreach (var c in record.Comparisons.Where(c => c.Word is NightlyWord.Regresses or NightlyWord.Undecided or NightlyWord.Fixes))
            sb.AppendLine($"  {c.Kernel}/{c.Setup}/{c.Case}: {Word(c.Word)}: {c.Reason}");
        return sb.ToString();
    }

    /// <summary>REGRESSES, FIXES, SAME, UNDECIDED, NEW.</summary>
    public static string Word(NightlyWord word) => word.ToString().ToUpperInvariant();
}
