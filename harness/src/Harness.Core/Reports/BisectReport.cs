// The report pages of one `harness bisect`: report.md (the answer first, then the steps table a
// reviewer audits line by line) and report.html (the same, with the posterior over the first bad
// commit after every step as an inline SVG: one row of bars per step, the tested commit marked).
// bisect.json keeps each step's counts but only its top candidates, so the full posterior per step
// is replayed from the counts with the same model (BisectionPosterior); the replayed top candidate
// matches the logged one, which the tests check.
using System.Globalization;
using System.Text;
using Harness.Bisection;
using Harness.Results;
using Harness.Verdicts;

namespace Harness.Reports;

/// <summary>The posterior after one step (null when the counts contradict the model, e.g. --good failed).</summary>
public sealed record PosteriorStep(BisectStep Step, IReadOnlyList<double>? Probabilities);

public static class BisectReport
{
    /// <summary>The record's file name in a bisect folder.</summary>
    public const string RecordFile = "bisect.json";

    /// <summary>Reads bisect.json in <paramref name="folder"/> and writes report.md and report.html beside it, atomically.</summary>
    public static async Task<IReadOnlyList<string>> WriteAsync(string folder, CancellationToken cancellationToken)
    {
        var record = RecordFormat.Read<BisectRecord>(Path.Combine(folder, RecordFile));
        return await ReportWriter.WritePagesAsync(folder, Markdown(record), Html(record), cancellationToken);
    }

    /// <summary>The posterior over commits 0..N after each step, replayed from the steps' counts in order.</summary>
    public static IReadOnlyList<PosteriorStep> Replay(BisectRecord record)
    {
        var counts = Enumerable.Range(0, record.Commits.Count).Select(_ => new RateCounts(0, 0)).ToArray();
        var steps = new List<PosteriorStep>();
        foreach (var step in record.Steps)
        {
            if (!step.Untestable && step.Commit >= 0 && step.Commit < counts.Length)
                counts[step.Commit] = counts[step.Commit].Add(new RateCounts(step.Failures, step.Runs));
            IReadOnlyList<double>? p;
            try { p = record.Commits.Count >= 2 ? BisectionPosterior.Of(counts).Probabilities.ToArray() : null; }
            catch (GoodCommitFailsException) { p = null; }
            steps.Add(new PosteriorStep(step, p));
        }
        return steps;
    }

    public static string Markdown(BisectRecord record)
    {
        var sb = new StringBuilder();
        string Commit(int i) => i >= 0 && i < record.Commits.Count ? BisectDriver.Short(record.Commits[i]) : Inv($"#{i}");
        sb.AppendLine(Inv($"# harness bisect {record.RunId}: {BisectTable.Word(record.End)}"));
        sb.AppendLine();
        sb.AppendLine(Inv($"**{BisectTable.Word(record.End)}**: {record.Summary ?? "no answer recorded (the bisection did not finish)"}"));
        sb.AppendLine();
        sb.AppendLine(Inv($"- command: `{record.CommandLine}`"));
        sb.AppendLine(Inv($"- range: {record.Commits.Count - 1} commit(s) after --good {Commit(0)}, up to --bad {Commit(record.Commits.Count - 1)} in `{record.Tree}`"));
        sb.AppendLine(Inv($"- case {record.Case} on {record.Filesystem}; wanted probability {record.Policy.Probability:0.###}, run cap {record.Policy.MaxRuns}"));
        sb.AppendLine(Inv($"- started {MarkdownReport.Time(record.Started)}, {(record.Finished is { } f ? $"finished {MarkdownReport.Time(f)}" : "not finished")}; runs {record.RunsUsed}, builds {record.Builds}, boots {record.Boots}, {record.Seconds:0} s"));
        sb.AppendLine();
        if (record.Culprit is { } c)
        {
            sb.AppendLine("## Culprit");
            sb.AppendLine();
            sb.AppendLine(Inv($"`{c.Sha}` {c.Subject}: P = {c.Probability:0.####}; it failed {c.Runs.Failures}/{c.Runs.Runs}, its parent ran {c.ParentRuns.Runs} time(s) with {c.ParentRuns.Failures} failure(s)."));
            sb.AppendLine();
        }
        sb.AppendLine("## Steps");
        sb.AppendLine();
        sb.AppendLine("| step | commit | runs | failed | errored | top candidate after the step | P(top) | decision |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var s in record.Steps)
        {
            var top = s.Top.Count > 0 ? s.Top[0] : null;
            var commit = Commit(s.Commit) + (s.Untestable ? Inv($" (untestable: {s.Problem})") : "");
            sb.AppendLine(Inv($"| {s.Step} | {Cell(commit)} | {s.Runs}/{s.RunsAsked} | {s.Failures} | {s.Errored} | {(top is null ? "-" : Cell(Commit(top.Commit)))} | {(top is null ? "-" : top.Probability.ToString("0.000", CultureInfo.InvariantCulture))} | {Cell(s.Decision)} |"));
        }
        sb.AppendLine();
        sb.AppendLine("Runs: counted runs (PASS, FAIL, CRASH) out of those asked; failed: FAIL and CRASH; errored runs (ERROR, SKIP, boot failures) are no evidence.");
        sb.AppendLine("The posterior after every step is plotted in report.html. Regenerate with `harness report <this folder>`.");
        return sb.ToString();
    }

    public static string Html(BisectRecord record)
    {
        var E = HtmlReport.E;
        var word = BisectTable.Word(record.End);
        var cls = record.End == BisectionEnd.Culprit ? "PASS" : record.End is BisectionEnd.Infrastructure ? "ERROR" : "FAIL";
        string Commit(int i) => i >= 0 && i < record.Commits.Count ? BisectDriver.Short(record.Commits[i]) : Inv($"#{i}");
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        sb.Append(Inv($"<title>harness bisect {E(record.RunId)}: {E(word)}</title>\n"));
        sb.Append(HtmlReport.Style);
        sb.Append(Inv($"<h1>harness bisect {E(record.RunId)}: <span class=\"{cls}\">{E(word)}</span></h1>\n"));
        sb.Append(Inv($"<p id=\"headline\">{E(record.Summary ?? "no answer recorded (the bisection did not finish)")}</p>\n"));
        sb.Append(Inv($"<ul>\n<li>command: <code>{E(record.CommandLine)}</code></li>\n<li>range: {record.Commits.Count - 1} commit(s) after --good {E(Commit(0))}, up to --bad {E(Commit(record.Commits.Count - 1))}</li>\n"));
        sb.Append(Inv($"<li>case {E(record.Case)} on {E(record.Filesystem)}; wanted probability {record.Policy.Probability:0.###}; runs {record.RunsUsed}, builds {record.Builds}, boots {record.Boots}, {record.Seconds:0} s</li>\n</ul>\n"));
        sb.Append("<h2>Posterior over the first bad commit, after each step</h2>\n");
        sb.Append(PosteriorPlot(record, Replay(record)));
        sb.Append("<h2>Steps</h2>\n<table id=\"steps\">\n<tr><th>step</th><th>commit</th><th>runs</th><th>failed</th><th>errored</th><th>top candidate</th><th>P(top)</th><th>decision</th></tr>\n");
        foreach (var s in record.Steps)
        {
            var top = s.Top.Count > 0 ? s.Top[0] : null;
            sb.Append(Inv($"<tr><td>{s.Step}</td><td>{E(Commit(s.Commit))}{(s.Untestable ? Inv($" (untestable: {E(s.Problem ?? "")})") : "")}</td><td>{s.Runs}/{s.RunsAsked}</td><td>{s.Failures}</td><td>{s.Errored}</td>") +
                      Inv($"<td>{(top is null ? "-" : E(Commit(top.Commit)))}</td><td>{(top is null ? "-" : top.Probability.ToString("0.000", CultureInfo.InvariantCulture))}</td><td>{E(s.Decision)}</td></tr>\n"));
        }
        sb.Append("</table>\n");
        sb.Append(Inv($"<p>Records: <code>{RecordFile}</code>. Regenerate with <code>harness report &lt;this folder&gt;</code>.</p>\n"));
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }

    /// <summary>
    /// One row per step: a bar per commit 1..N, its height the posterior probability that it is the first
    /// bad one; the step's tested commit outlined and its result beside the row; the wanted probability a
    /// dashed line in every row. Bars carry data-step, data-commit and data-probability for tests and readers.
    /// </summary>
    private static string PosteriorPlot(BisectRecord record, IReadOnlyList<PosteriorStep> steps)
    {
        var E = HtmlReport.E;
        var n = record.Commits.Count - 1;
        if (n < 1 || steps.Count == 0) return "<p>No step ran: nothing to plot.</p>\n";
        const int left = 70, rowHeight = 46, barArea = 36, top = 30;
        var right = Math.Max(left + 200, Math.Min(HtmlReport.Width - 230, left + n * 40));
        var slot = (double)(right - left) / n;
        var height = top + steps.Count * rowHeight + 40;
        var sb = new StringBuilder();
        sb.Append(Inv($"<svg id=\"posterior-plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{HtmlReport.Width}\" height=\"{height}\" viewBox=\"0 0 {HtmlReport.Width} {height}\" role=\"img\" aria-label=\"posterior over the first bad commit after each step\">\n<title>Posterior P(first bad = commit) after each step</title>\n"));
        sb.Append(Inv($"<text x=\"{left}\" y=\"14\">commit 1 … {n} (--bad) →; bar height: P(first bad commit); outlined: the commit the step ran; dashed: P = {record.Policy.Probability:0.##}</text>\n"));
        for (var i = 0; i < steps.Count; i++)
        {
            var (step, p) = (steps[i].Step, steps[i].Probabilities);
            var baseY = top + i * rowHeight + barArea;
            sb.Append(Inv($"<g class=\"posterior-step\" data-step=\"{step.Step}\" data-commit=\"{step.Commit}\">\n"));
            sb.Append(Inv($"<text x=\"{left - 8}\" y=\"{baseY - barArea / 2 + 4}\" text-anchor=\"end\">step {step.Step}</text>\n"));
            sb.Append(Inv($"<line x1=\"{left}\" y1=\"{baseY}\" x2=\"{right}\" y2=\"{baseY}\" stroke=\"#999\"/>\n"));
            var wantedY = baseY - record.Policy.Probability * barArea;
            sb.Append(Inv($"<line x1=\"{left}\" y1=\"{wantedY:F1}\" x2=\"{right}\" y2=\"{wantedY:F1}\" stroke=\"#2a7d2a\" stroke-dasharray=\"3 3\" stroke-width=\"0.8\"/>\n"));
            if (p is null)
            {
                sb.Append(Inv($"<text x=\"{left + 4}\" y=\"{baseY - 8}\" fill=\"#a60\">no posterior: --good failed, which the model rules out</text>\n</g>\n"));
                continue;
            }
            var best = Enumerable.Range(1, n).MaxBy(k => p[k]);
            for (var k = 1; k <= n; k++)
            {
                var h = Math.Max(0.5, p[k] * barArea);
                var x = left + (k - 1) * slot;
                var fill = k == best ? (p[k] >= record.Policy.Probability ? "#c00" : "#e6550d") : "#9ecae1";
                sb.Append(Inv($"<rect class=\"posterior-bar\" data-step=\"{step.Step}\" data-commit=\"{k}\" data-probability=\"{p[k]:0.####}\" x=\"{x + 1:F1}\" y=\"{baseY - h:F1}\" width=\"{Math.Max(1, slot - 2):F1}\" height=\"{h:F1}\" fill=\"{fill}\"><title>step {step.Step}: {E(Commit(record, k))}: P = {p[k]:0.###}</title></rect>\n"));
            }
            if (step.Commit >= 1 && step.Commit <= n)
                sb.Append(Inv($"<rect class=\"tested\" x=\"{left + (step.Commit - 1) * slot:F1}\" y=\"{baseY - barArea - 2}\" width=\"{slot:F1}\" height=\"{barArea + 2}\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.2\"/>\n"));
            var result = step.Untestable ? "untestable" : Inv($"{step.Failures}/{step.Runs} failed");
            sb.Append(Inv($"<text x=\"{right + 8}\" y=\"{baseY - barArea / 2 + 4}\">ran {E(Id(record, step.Commit))}: {E(result)}; top {best} P={p[best]:0.###}</text>\n</g>\n"));
        }
        var axisY = top + steps.Count * rowHeight + 14;
        for (var k = 1; k <= n; k++)
            if (n <= 20 || k % (n / 10 + 1) == 0 || k == n)
                sb.Append(Inv($"<text x=\"{left + (k - 0.5) * slot:F1}\" y=\"{axisY}\" text-anchor=\"middle\">{k}</text>\n"));
        sb.Append(Inv($"<text x=\"{left}\" y=\"{axisY + 18}\">commit index (0 = --good, not a candidate)</text>\n</svg>\n"));
        return sb.ToString();
    }

    private static string Commit(BisectRecord record, int i) => i >= 0 && i < record.Commits.Count ? BisectDriver.Short(record.Commits[i]) : Inv($"#{i}");

    private static string Id(BisectRecord record, int i) => i >= 0 && i < record.Commits.Count ? BisectDriver.Id(record.Commits[i]) : Inv($"#{i}");

    // A markdown table cell must not contain a bare '|'.
    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace('\n', ' ');

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
