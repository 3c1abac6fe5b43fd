// `make bench`'s one table: rows measured by the scripts in bench/rows/ (one TSV line each),
// every figure beside its reference, as a ratio, and whether its target is met. The scripts
// only measure; the ratio, the verdict and the files (bench.md, bench.json) are made here.
using System.Globalization;
using System.Text;
using Harness.Yaml;

namespace Harness.Bench;

/// <summary>
/// One measured row. <see cref="Harness"/> and <see cref="ReferenceValue"/> are null when not
/// measured; <see cref="Target"/> is "&gt;=x" or "&lt;=x", on the ratio when there is a reference,
/// else on the harness figure itself; empty for a row that only informs.
/// </summary>
public sealed record BenchRow(string Metric, string Unit, double? Harness, string Reference, double? ReferenceValue, string Target, string Note)
{
    /// <summary>Harness over reference, when both were measured and the reference is not zero.</summary>
    public double? Ratio => Harness is { } h && ReferenceValue is { } r && r != 0 ? h / r : null;

    /// <summary>"met", "gap", or "-" when there is no target or nothing to hold it against.</summary>
    public string Result
    {
        get
        {
            if (Target.Length == 0) return "-";
            var subject = ReferenceValue is null ? Harness : Ratio;
            if (subject is not { } v) return "-";
            var bound = double.Parse(Target[2..], NumberStyles.Float, CultureInfo.InvariantCulture);
            return (Target.StartsWith(">=", StringComparison.Ordinal) ? v >= bound : v <= bound) ? "met" : "gap";
        }
    }
}

/// <summary>The table of one bench run.</summary>
public sealed record BenchReport(string Id, DateTimeOffset Created, string Host, IReadOnlyList<BenchRow> Rows)
{
    public int FormatVersion { get; init; } = 1;
}

public static class BenchTable
{
    /// <summary>Columns of a row line, tab separated; lines starting with '#' are comments.</summary>
    public const string Columns = "metric, unit, harness, reference, reference value, target (>=x, <=x or empty), note";

    /// <summary>Reads row lines; a bad line is an error naming file and line.</summary>
    public static IReadOnlyList<BenchRow> ParseRows(string file, string text)
    {
        var rows = new List<BenchRow>();
        var problems = new List<InputProblem>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (line.Trim().Length == 0 || line.StartsWith('#')) continue;
            var f = line.Split('\t');
            void Bad(string field, string message) => problems.Add(new InputProblem(file, i + 1, 1, field, message));
            if (f.Length != 7)
            {
                Bad("(row)", $"{f.Length} tab-separated columns; a row has 7: {Columns}");
                continue;
            }
            var harness = Number(f[2], "harness");
            var reference = Number(f[4], "reference value");
            var target = f[5].Trim();
            if (target is not ("" or "-") && !(target.Length > 2 && target[..2] is ">=" or "<=" && double.TryParse(target[2..], NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
                Bad("target", $"'{target}' is not >=x or <=x (or empty)");
            var referenceName = f[3].Trim() is "-" ? "" : f[3].Trim();
            rows.Add(new BenchRow(f[0].Trim(), f[1].Trim(), harness, referenceName, reference, target is "-" ? "" : target, f[6].Trim()));

            double? Number(string text, string field)
            {
                var t = text.Trim();
                if (t is "" or "-") return null; // not measured in this run: the note says why
                if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)) return v;
                Bad(field, $"'{t}' is not a number (or '-' for not measured)");
                return null;
            }
        }
        if (problems.Count > 0) throw new InputException(problems);
        return rows;
    }

    /// <summary>The table as Markdown: what the terminal shows and bench.md holds.</summary>
    public static string Markdown(BenchReport report)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# Bench {report.Id}");
        sb.AppendLine();
        sb.AppendLine($"{report.Created.ToUniversalTime():yyyy-MM-dd HH:mm} UTC on {report.Host}. Ratio = harness / reference; the target is on the ratio when there is a reference, else on the harness figure.");
        sb.AppendLine();
        sb.AppendLine("| metric | harness | reference | ratio | target | result | note |");
        sb.AppendLine("|---|---:|---|---:|---|---|---|");
        foreach (var r in report.Rows)
        {
            var reference = r.ReferenceValue is { } rv ? $"{r.Reference} {Figure(rv)}" : r.Reference.Length > 0 ? $"{r.Reference} -" : "-";
            sb.AppendLine($"| {Cell(r.Metric)} | {(r.Harness is { } h ? $"{Figure(h)} {r.Unit}".TrimEnd() : "not measured")} | {Cell(reference)} | {(r.Ratio is { } x ? x.ToString("0.00", CultureInfo.InvariantCulture) + "×" : "-")} | {(r.Target.Length > 0 ? Cell(r.Target) : "-")} | {r.Result} | {Cell(r.Note)} |");
        }
        return sb.ToString();
    }

    /// <summary>Three significant figures at most, no exponent: 24712 -> 24712, 1.23456 -> 1.23.</summary>
    public static string Figure(double v) =>
        Math.Abs(v) >= 100 ? Math.Round(v, MidpointRounding.AwayFromZero).ToString("0", CultureInfo.InvariantCulture)
        : Math.Abs(v) >= 10 ? v.ToString("0.0", CultureInfo.InvariantCulture)
        : v.ToString("0.00", CultureInfo.InvariantCulture);

    private static string Cell(string s) => s.Replace("|", "\\|", StringComparison.Ordinal);
}
