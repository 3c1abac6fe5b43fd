// The report pages of one `harness compare`: report.md (fits an email: the outcome first, then the
// one table, what was skipped and why, the errors) and report.html (the same, self-contained, with
// the failure rate and its interval per kernel x setup x case as an inline SVG plot). Rendered from
// compare.json alone; each kernel's run folder inside keeps its own per-cell reports.
using System.Globalization;
using System.Text;
using Harness.Compare;
using Harness.Results;
using Harness.Verdicts;

namespace Harness.Reports;

public static class CompareReport
{
    /// <summary>The record's file name in a compare folder.</summary>
    public const string RecordFile = "compare.json";

    /// <summary>Reads compare.json in <paramref name="folder"/> and writes report.md and report.html beside it, atomically.</summary>
    public static async Task<IReadOnlyList<string>> WriteAsync(string folder, CancellationToken cancellationToken)
    {
        var record = RecordFormat.Read<CompareRecord>(Path.Combine(folder, RecordFile));
        return await ReportWriter.WritePagesAsync(folder, Markdown(record), Html(record), cancellationToken);
    }

    /// <summary>"FAIL", "PASS", ... or "UNFINISHED" for a record without an outcome.</summary>
    public static string Verdict(CompareRecord record) => record.Outcome is { } o ? Outcomes.Word(o) : "UNFINISHED";

    /// <summary>One line: the outcome and how many rows ended how.</summary>
    public static string Headline(CompareRecord record)
    {
        var counts = record.Rows.GroupBy(r => Outcomes.Word(r.Outcome)).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => Inv($"{g.Count()} {g.Key}"));
        return Inv($"**{Verdict(record)}**: {record.Rows.Count} row(s) (kernel x setup x case): {string.Join(", ", counts)}{(record.Interrupted ? "; **interrupted**, finished cells kept" : "")}.");
    }

    public static string Markdown(CompareRecord record)
    {
        var sb = new StringBuilder();
        sb.AppendLine(Inv($"# harness compare {record.CompareId}: {Verdict(record)}"));
        sb.AppendLine();
        sb.AppendLine(Headline(record));
        sb.AppendLine();
        sb.AppendLine(Inv($"- command: `{record.CommandLine}`"));
        sb.AppendLine(Inv($"- setups: {record.SetupsFile} (sha256 {Short(record.SetupsSha256)}); cases: {string.Join(", ", record.Cases)}"));
        sb.AppendLine(Inv($"- started {MarkdownReport.Time(record.Started)}, {(record.Finished is { } f ? $"finished {MarkdownReport.Time(f)}" : "not finished")}"));
        foreach (var run in record.Runs)
            sb.AppendLine(Inv($"- {run.Kernel} on the {run.Machine} machine: {(run.RunPath is { } p ? $"`{p}` ({(run.Outcome is { } o ? Outcomes.Word(o) : "unfinished")}; its cells' report: `{p}/{ReportWriter.Markdown}`)" : "nothing ran")}"));
        sb.AppendLine();
        sb.AppendLine("## Table");
        sb.AppendLine();
        sb.AppendLine("| kernel | setup | case | block | disk | outcome | failed/runs | failure rate (95 % CI) | findings | io errors | IOPS median (min-max) |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in record.Rows)
            sb.AppendLine(Inv($"| {r.Kernel} | {r.Setup} | {r.Case} | {r.FsBlockSize} | {r.Disk} | {Outcomes.Word(r.Outcome)} | {Counts(r)} | {CompareTable.Rate(r)} | {Findings(r)} | {(r.CellId is null ? "-" : Inv($"{r.IoErrors}"))} | {Iops(r)} |"));
        sb.AppendLine();
        sb.AppendLine("Failure rate = (FAIL + CRASH) / (PASS + FAIL + CRASH) repeats, with its exact two-sided 95 % Clopper-Pearson interval; ERROR and SKIP say nothing about the kernel and are not counted.");
        sb.AppendLine();
        var skipped = Skipped(record);
        if (skipped.Count > 0)
        {
            sb.AppendLine("## Skipped, and why");
            sb.AppendLine();
            foreach (var (r, why) in skipped) sb.AppendLine(Inv($"- {r.Kernel} · {r.Setup} · {r.Case}: {why}"));
            sb.AppendLine();
        }
        var errors = record.Rows.Where(r => r.Error is not null).ToArray();
        if (errors.Length > 0)
        {
            sb.AppendLine("## Errors");
            sb.AppendLine();
            foreach (var r in errors) sb.AppendLine(Inv($"- {r.Kernel} · {r.CellId}: {r.Error!.Split('\n')[0]}"));
            sb.AppendLine();
        }
        sb.AppendLine("## Setups");
        sb.AppendLine();
        foreach (var s in record.Setups) sb.AppendLine(Inv($"- {s.Name}: {s.Summary}{(s.Description is { } d ? $" ({d})" : "")}"));
        sb.AppendLine();
        sb.AppendLine(Inv($"Regenerate with `harness report <this folder>`; the records are `{RecordFile}` and the run folders under `runs/`."));
        return sb.ToString();
    }

    public static string Html(CompareRecord record)
    {
        var E = HtmlReport.E;
        var verdict = Verdict(record);
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        sb.Append(Inv($"<title>harness compare {E(record.CompareId)}: {E(verdict)}</title>\n"));
        sb.Append(HtmlReport.Style);
        sb.Append(Inv($"<h1>harness compare {E(record.CompareId)}: <span class=\"{E(verdict)}\">{E(verdict)}</span></h1>\n"));
        sb.Append(Inv($"<p id=\"headline\">{E(Headline(record).Replace("**", "", StringComparison.Ordinal))}</p>\n"));
        sb.Append(Inv($"<ul>\n<li>command: <code>{E(record.CommandLine)}</code></li>\n<li>setups: <code>{E(record.SetupsFile)}</code> (sha256 {E(Short(record.SetupsSha256))}); cases: {E(string.Join(", ", record.Cases))}</li>\n"));
        sb.Append(Inv($"<li>started {E(MarkdownReport.Time(record.Started))}, {(record.Finished is { } f ? $"finished {E(MarkdownReport.Time(f))}" : "not finished")}</li>\n"));
        foreach (var run in record.Runs)
            sb.Append(run.RunPath is { } p
                ? Inv($"<li>{E(run.Kernel)} on the {E(run.Machine)} machine: <a href=\"{E(p)}/{ReportWriter.Html}\">{E(p)}</a> ({E(run.Outcome is { } o ? Outcomes.Word(o) : "unfinished")})</li>\n")
                : Inv($"<li>{E(run.Kernel)} on the {E(run.Machine)} machine: nothing ran</li>\n"));
        sb.Append("</ul>\n");

        sb.Append("<h2>Failure rate per kernel, setup and case</h2>\n");
        var plotted = record.Rows.Where(r => r.FailureRate is not null).ToArray();
        var labels = Labels(record);
        sb.Append(plotted.Length == 0
            ? "<p>No row has counted repeats (every row was skipped or errored).</p>\n"
            : HtmlReport.IntervalPlot("rate-plot", "Failure rate per kernel x setup x case with two-sided 95 % Clopper-Pearson intervals",
                plotted.Select(r => (labels[r], r.Failures, r.Counted, r.FailureRate!.Value, r.RateLower!.Value, r.RateUpper!.Value)).ToArray(), null));
        sb.Append("<p>Failure rate = (FAIL + CRASH) / (PASS + FAIL + CRASH) repeats; ERROR and SKIP rows are not plotted (listed below).</p>\n");

        sb.Append("<h2>Table</h2>\n<table id=\"compare-table\">\n<tr><th>kernel</th><th>setup</th><th>case</th><th>block</th><th>disk</th><th>outcome</th><th>failed/runs</th><th>failure rate (95 % CI)</th><th>findings</th><th>io errors</th><th>IOPS median (min-max)</th><th>cell</th></tr>\n");
        foreach (var r in record.Rows)
        {
            var word = Outcomes.Word(r.Outcome);
            var run = record.Runs.FirstOrDefault(x => x.Kernel == r.Kernel)?.RunPath;
            var cell = r.CellId is null ? "-" : run is null ? E(r.CellId) : Inv($"<a href=\"{E(run)}/cells/{E(r.CellId)}/cell.json\">{E(r.CellId)}</a>");
            sb.Append(Inv($"<tr><td>{E(r.Kernel)}</td><td>{E(r.Setup)}</td><td>{E(r.Case)}</td><td>{r.FsBlockSize}</td><td>{E(r.Disk)}</td><td class=\"{word}\">{word}</td><td>{E(Counts(r))}</td><td>{E(CompareTable.Rate(r))}</td><td>{E(Findings(r))}</td><td>{(r.CellId is null ? "-" : Inv($"{r.IoErrors}"))}</td><td>{E(Iops(r))}</td><td>{cell}</td></tr>\n"));
        }
        sb.Append("</table>\n");
        var skipped = Skipped(record);
        if (skipped.Count > 0)
        {
            sb.Append("<h2>Skipped, and why</h2>\n<ul id=\"skipped\">\n");
            foreach (var (r, why) in skipped) sb.Append(Inv($"<li>{E(r.Kernel)} · {E(r.Setup)} · {E(r.Case)}: {E(why)}</li>\n"));
            sb.Append("</ul>\n");
        }
        var errors = record.Rows.Where(r => r.Error is not null).ToArray();
        if (errors.Length > 0)
        {
            sb.Append("<h2>Errors</h2>\n");
            foreach (var r in errors) sb.Append(Inv($"<h3>{E(r.Kernel)} · {E(r.CellId ?? r.Setup)}</h3>\n<pre>{E(r.Error!)}</pre>\n"));
        }
        sb.Append("<h2>Setups</h2>\n<ul>\n");
        foreach (var s in record.Setups) sb.Append(Inv($"<li><b>{E(s.Name)}</b>: {E(s.Summary)}{(s.Description is { } d ? $" ({E(d)})" : "")}</li>\n"));
        sb.Append("</ul>\n");
        sb.Append(Inv($"<p>Records: <code>{RecordFile}</code> and the run folders under <code>runs/</code>. Regenerate with <code>harness report &lt;this folder&gt;</code>.</p>\n"));
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }

    // The plot's row labels: the kernel only when the comparison has several, the case only when it has several.
    private static Dictionary<CompareRow, string> Labels(CompareRecord record)
    {
        var kernels = record.Rows.Select(r => r.Kernel).Distinct().Count() > 1;
        var cases = record.Cases.Count > 1;
        var labels = new Dictionary<CompareRow, string>(ReferenceEqualityComparer.Instance);
        foreach (var r in record.Rows)
            labels[r] = string.Join(" · ", new[] { kernels ? r.Kernel : null, r.Setup, cases ? r.Case : null }.Where(x => x is not null));
        return labels;
    }

    /// <summary>Rows with something skipped: a row the machine could not run at all, or repeats it skipped, with the reason.</summary>
    private static IReadOnlyList<(CompareRow Row, string Why)> Skipped(CompareRecord record) =>
        record.Rows.Where(r => r.SkipReason is not null)
            .Select(r => (r, r.CellId is null ? Inv($"not run: {r.SkipReason}") : Inv($"{r.Skipped} of {r.Repeats} repeat(s) skipped: {r.SkipReason}")))
            .ToArray();

    private static string Counts(CompareRow r) => r.CellId is null ? "-" : Inv($"{r.Failures}/{r.Counted}");

    private static string Findings(CompareRow r) =>
        r.FindingsByClass.Count == 0 ? "-" : string.Join(" ", r.FindingsByClass.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => Inv($"{kv.Key}:{kv.Value}")));

    private static string Iops(CompareRow r) => r.IopsMedian > 0 ? Inv($"{r.IopsMedian:F0} ({r.IopsMin:F0}-{r.IopsMax:F0})") : "-";

    private static string Short(string sha) => sha.Length > 12 ? sha[..12] + "…" : sha;

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
