// The table `harness validate` prints: per (filesystem, case), failure rates with their
// two-sided intervals, the patched rate's one-sided bound, the p-value and the verdict; then one
// line per pair saying why, and how the error budget was split.
using System.Globalization;
using System.Text;
using Harness.Verdicts;

namespace Harness.Validation;

public static class ValidationTable
{
    public static string Render(ValidationRecord record)
    {
        var policy = record.Policy;
        var hasControl = record.Pairs.Any(p => p.Control is not null);
        var header = new List<string> { "fs", "case", "without patch", "with patch" };
        if (hasControl) header.Add("control");
        header.AddRange(["patched rate", "p", "verdict"]);
        var rows = new List<IReadOnlyList<string>> { header.ToArray() };
        foreach (var p in record.Pairs)
        {
            var row = new List<string> { p.Filesystem, p.Case, Rate(p.Without), Rate(p.With) };
            if (hasControl) row.Add(p.Control is null ? "-" : Rate(p.Control));
            row.AddRange([p.Bound, p.PValue.ToString("G3", CultureInfo.InvariantCulture), PatchVerdicts.Word(p.Verdict)]);
            rows.Add(row.ToArray());
        }
        var sb = new StringBuilder();
        Results.TextTable.AppendTo(sb, rows);
        sb.AppendLine($"rates are failed/runs (FAIL and CRASH are failures, ERROR is not counted) with two-sided {VerdictRules.ConfidenceWord(policy.Confidence)} Clopper-Pearson intervals; " +
                      "patched rate is the one-sided Clopper-Pearson upper bound; p is one-sided Fisher exact");
        sb.AppendLine(PolicyLine(policy));
        foreach (var p in record.Pairs)
            sb.AppendLine($"  {p.Filesystem}/{p.Case}: {PatchVerdicts.Word(p.Verdict)}, patched rate {p.Bound}, {p.GuestsWithout}+{p.GuestsWith} guests: {p.Reason}");
        if (record.Interrupted) sb.AppendLine("interrupted: finished pairs kept");
        return sb.ToString();
    }

    /// <summary>How the error budget is split and what FIXES costs, in one line.</summary>
    public static string PolicyLine(VerdictPolicy policy)
    {
        var pairs = policy.Pairs == 1
            ? "1 pair, so no correction over pairs"
            : $"Bonferroni over {policy.Pairs} pairs: alpha {Number(policy.Alpha)} / ({policy.MaxLooks} looks × {policy.Pairs} pairs), residual bounds one-sided {VerdictRules.ConfidenceWord(policy.ResidualConfidence)} per pair ({VerdictRules.ConfidenceWord(VerdictPolicy.FamilyResidualConfidence)} for all together)";
        return $"FIXES needs the patched rate ≤ {Percent(policy.MaxResidual)} (one-sided {VerdictRules.ConfidenceWord(policy.ResidualConfidence)}): " +
               $"{policy.CleanRunsForBound} clean patched runs; alpha {Number(policy.Alpha)} a direction, {Number(policy.AlphaPerLook)} a look; " +
               $"{policy.Guests} guests a side a look; at most {policy.MaxRunsPerSide} repeats a side; {pairs}";
    }

    private static string Rate(RateEstimate r) =>
        string.Create(CultureInfo.InvariantCulture, $"{r.Failures}/{r.Runs} [{r.Lower * 100:0.#}–{r.Upper * 100:0.#} %]");

    private static string Percent(double fraction) => string.Create(CultureInfo.InvariantCulture, $"{fraction * 100:0.##} %");

    private static string Number(double value) => value.ToString("G3", CultureInfo.InvariantCulture);
}
