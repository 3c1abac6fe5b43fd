// The table `harness validate` prints: per (filesystem, case), failure rates with exact
// confidence intervals, the p-value and the verdict.
using System.Globalization;
using System.Text;
using Harness.Verdicts;

namespace Harness.Validation;

public static class ValidationTable
{
    public static string Render(ValidationRecord record)
    {
        var confidence = record.Policy.Confidence.ToString("P0", CultureInfo.InvariantCulture);
        var hasControl = record.Pairs.Any(p => p.Control is not null);
        var header = new List<string> { "fs", "case", "without patch", "with patch" };
        if (hasControl) header.Add("control");
        header.AddRange(["p", "verdict"]);
        var rows = new List<IReadOnlyList<string>> { header.ToArray() };
        foreach (var p in record.Pairs)
        {
            var row = new List<string> { p.Filesystem, p.Case, Rate(p.Without), Rate(p.With) };
            if (hasControl) row.Add(p.Control is null ? "-" : Rate(p.Control));
            row.AddRange([p.PValue.ToString("G3", CultureInfo.InvariantCulture), PatchVerdicts.Word(Enum.Parse<PatchVerdict>(p.Verdict))]);
            rows.Add(row.ToArray());
        }
        var sb = new StringBuilder();
        Results.TextTable.AppendTo(sb, rows);
        sb.AppendLine($"rates are failed/runs with {confidence} Clopper-Pearson intervals; p is one-sided Fisher exact; alpha {record.Policy.Alpha} split over {record.Policy.MaxLooks} looks");
        foreach (var p in record.Pairs)
            sb.AppendLine($"  {p.Filesystem}/{p.Case}: {p.Reason}");
        if (record.Interrupted) sb.AppendLine("interrupted: finished pairs kept");
        return sb.ToString();
    }

    private static string Rate(RateEstimate r) =>
        string.Create(CultureInfo.InvariantCulture, $"{r.Failures}/{r.Runs} [{r.Lower:P0}, {r.Upper:P0}]");
}
