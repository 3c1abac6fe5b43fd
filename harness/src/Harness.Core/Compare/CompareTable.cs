// The one table `compare` prints: per (kernel, setup, case) the failure rate with its interval,
// findings by class, IO errors, IOPS median and range, and what was skipped and why.
using System.Globalization;
using System.Text;
using Harness.Results;
using Harness.Verdicts;

namespace Harness.Compare;

public static class CompareTable
{
    public static string Render(CompareRecord record)
    {
        var confidence = record.Rows.Count == 0 ? 0.95 : record.Rows[0].Confidence;
        var rows = new List<IReadOnlyList<string>>
        {
            new[] { "kernel", "setup", "case", "block", "disk", "outcome", "failed/runs", $"failure rate (two-sided {Pct(confidence, 0)} CI)", "findings", "io errors", "IOPS median (min-max)", "skipped" },
        };
        foreach (var r in record.Rows)
        {
            rows.Add([r.Kernel, r.Setup, r.Case, N(r.FsBlockSize), r.Disk, Outcomes.Word(r.Outcome),
                r.CellId is null ? "-" : $"{N(r.Failures)}/{N(r.Counted)}",
                Rate(r),
                r.FindingsByClass.Count == 0 ? "-" : string.Join(" ", r.FindingsByClass.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}:{N(kv.Value)}")),
                r.CellId is null ? "-" : N(r.IoErrors),
                r.IopsMedian > 0 ? $"{F0(r.IopsMedian)} ({F0(r.IopsMin)}-{F0(r.IopsMax)})" : "-",
                r.SkipReason is null ? (r.Skipped > 0 ? N(r.Skipped) : "-") : $"{(r.CellId is null ? "all" : N(r.Skipped))}: {r.SkipReason}"]);
        }
        var sb = new StringBuilder();
        TextTable.AppendTo(sb, rows);
        sb.AppendLine($"compare {record.CompareId}: {(record.Outcome is { } o ? Outcomes.Word(o) : "UNFINISHED")}{(record.Interrupted ? " (interrupted: finished cells kept)" : "")}; " +
                      "failure rate = (FAIL + CRASH) / (PASS + FAIL + CRASH) repeats; ERROR and SKIP are not counted");
        foreach (var r in record.Rows.Where(r => r.Error is not null))
            sb.AppendLine($"  {r.Kernel} {r.CellId}: {r.Error!.Split('\n')[0]}");  // the record keeps the console excerpt
        return sb.ToString();
    }

    /// <summary>"12.5 % [3.5-29.0 %]", or "-" when no repeat counted.</summary>
    internal static string Rate(CompareRow r) =>
        r.FailureRate is { } rate ? $"{Pct(rate, 1)} [{Num(r.RateLower!.Value * 100, 1)}-{Pct(r.RateUpper!.Value, 1)}]" : "-";

    private static string Pct(double fraction, int digits) => $"{Num(fraction * 100, digits)} %";

    private static string Num(double v, int digits) => v.ToString("F" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private static string F0(double v) => v.ToString("F0", CultureInfo.InvariantCulture);

    private static string N(long n) => n.ToString(CultureInfo.InvariantCulture);
}
