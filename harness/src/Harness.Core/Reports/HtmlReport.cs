// report.html: one self-contained file (inline CSS and SVG, no script, nothing fetched) that a
// reviewer opens from a mail attachment or a CI artifact. Plots: failure rate per kernel and
// filesystem with interval bars; for validate, both sides' rates with intervals and the verdict; a
// corruption map of the first failing file (the whole file, then a zoomed panel around the first
// finding with every sector coloured by class and the fs block boundaries drawn; a static overview
// plus zoom rather than script, so it renders the same in a browser, a mail client or a screenshot);
// IOPS per cell (median bar, every repeat as a dot).
using System.Globalization;
using System.Net;
using System.Text;
using Harness.Golden;
using Harness.Results;
using Harness.Verdicts;

namespace Harness.Reports;

public static class HtmlReport
{
    /// <summary>Fill colour of each sector class on the corruption map (and its legend).</summary>
    public static IReadOnlyDictionary<FindingClass, string> ClassColours { get; } = new Dictionary<FindingClass, string>
    {
        [FindingClass.Zeroed] = "#d62728",
        [FindingClass.Stale] = "#ff7f0e",
        [FindingClass.Foreign] = "#9467bd",
        [FindingClass.Torn] = "#8c564b",
        [FindingClass.LostWrite] = "#1f77b4",
    };

    private const string LegalColour = "#dddddd";
    internal const int Width = 820;
    internal const int PlotLeft = 250;
    internal const int PlotRight = 640;

    /// <summary>The inline style every report page shares, closing the head and opening the body.</summary>
    internal const string Style =
        "<style>\nbody{font-family:sans-serif;max-width:64em;margin:1em auto;padding:0 1em;color:#222}\n" +
        "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}\n" +
        ".PASS{color:#2a7d2a}.FAIL,.CRASH{color:#c00;font-weight:bold}.ERROR{color:#a60}.SKIP{color:#666}\n" +
        "code{background:#f4f4f4;padding:0 3px}svg{display:block;margin:.5em 0}svg text{font-family:sans-serif;font-size:12px}\n" +
        "</style>\n</head>\n<body>\n";

    public static string Render(ReportModel model)
    {
        var sb = new StringBuilder();
        var what = model.Kind == ReportKind.Run ? "run" : "validate";
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        sb.Append(Inv($"<title>harness {what} {E(model.RunId)}: {E(model.Verdict)}</title>\n"));
        sb.Append(Style);
        sb.Append(Inv($"<h1>harness {what} {E(model.RunId)}: <span class=\"{E(VerdictClass(model))}\">{E(model.Verdict)}</span></h1>\n"));
        sb.Append(Inv($"<p id=\"headline\">{E(MarkdownReport.Headline(model).Replace("**", "", StringComparison.Ordinal))}</p>\n"));
        sb.Append(Inv($"<ul>\n<li>command: <code>{E(model.CommandLine)}</code></li>\n<li>machine: {E(model.Machine.Kind)}, kernel {E(model.Machine.Kernel)}, {model.Machine.CpuCount} CPUs; {E(model.Machine.Detail)}</li>\n"));
        sb.Append(Inv($"<li>started {E(MarkdownReport.Time(model.Started))}, {(model.Finished is { } f ? $"finished {E(MarkdownReport.Time(f))}" : "not finished")}{(model.Interrupted ? $"; <b>interrupted</b>: {E(model.StopReason ?? "finished cells kept")}" : "")}</li>\n</ul>\n"));

        sb.Append("<h2>What ran</h2>\n<table id=\"what-ran\">\n<tr><th>what</th><th>name</th><th>identity</th></tr>\n");
        foreach (var item in model.WhatRan()) sb.Append(Inv($"<tr><td>{E(item.What)}</td><td>{E(item.Name)}</td><td>{E(item.Identity)}</td></tr>\n"));
        sb.Append("</table>\n");
        if (model.Validation is not null)
        {
            sb.Append("<h2>Verdicts: both kernels' failure rates</h2>\n");
            sb.Append(VerdictPlot(model));
        }
        sb.Append("<h2>Failure rate per kernel and filesystem</h2>\n");
        sb.Append(RatePlot(model));
        sb.Append("<h2>Corruption map</h2>\n");
        sb.Append(CorruptionMap(model));
        sb.Append("<h2>IOPS per cell</h2>\n");
        sb.Append(IopsPlot(model));
        sb.Append(CellTable(model));
        sb.Append(FindingsList(model));
        sb.Append(Inv($"<p>Records: <code>{E(model.Folder)}</code>. Regenerate with <code>harness report {E(model.Folder)}</code>.</p>\n"));
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }

    private static string VerdictClass(ReportModel model) =>
        model.Kind == ReportKind.Run ? model.Verdict : model.Validation!.Pairs.All(p => p.Verdict == PatchVerdict.Fixes) && model.Validation.Pairs.Count > 0 ? "PASS" : "FAIL";

    /// <summary>One row per (kernel, filesystem): failed/counted repeats over all its cells, the rate and its 95 % interval.</summary>
    private static string RatePlot(ReportModel model)
    {
        var rows = model.Cells.GroupBy(c => (c.Kernel, c.Input.Filesystem))
            .Select(g => (Label: $"{g.Key.Kernel} · {g.Key.Filesystem}", Counts: g.Aggregate(new RateCounts(0, 0), (acc, c) => acc.Add(c.Counts))))
            .Select(r =>
            {
                var (lo, hi) = Statistics.ClopperPearson(r.Counts.Failures, r.Counts.Runs);
                return (r.Label, r.Counts.Failures, r.Counts.Runs, Rate: r.Counts.Runs == 0 ? 0 : (double)r.Counts.Failures / r.Counts.Runs, lo, hi);
            }).ToArray();
        return IntervalPlot("rate-plot", "Failure rate per kernel and filesystem with two-sided 95 % Clopper-Pearson intervals", rows, null);
    }

    private static string VerdictPlot(ReportModel model)
    {
        var sb = new StringBuilder();
        var v = model.Validation!;
        foreach (var p in v.Pairs)
        {
            sb.Append(Inv($"<p><b>{E(p.Filesystem)}/{E(p.Case)}: <span class=\"{(p.Verdict == PatchVerdict.Fixes ? "PASS" : "FAIL")}\">{E(PatchVerdicts.Word(p.Verdict))}</span></b>, patched rate {E(p.Bound)}, p = {p.PValue:G3}</p>\n"));
            var rows = new List<(string, int, int, double, double, double)>
            {
                ("without patch", p.Without.Failures, p.Without.Runs, p.Without.Rate, p.Without.Lower, p.Without.Upper),
                ("with patch", p.With.Failures, p.With.Runs, p.With.Rate, p.With.Lower, p.With.Upper),
            };
            if (p.Control is { } c) rows.Add(("control", c.Failures, c.Runs, c.Rate, c.Lower, c.Upper));
            sb.Append(IntervalPlot("verdict-plot", $"{p.Filesystem}/{p.Case}: {PatchVerdicts.Word(p.Verdict)}", rows, v.Policy.MaxResidual));
            sb.Append(Inv($"<p>{E(p.Reason)}</p>\n"));
        }
        if (v.Pairs.Count == 0) sb.Append("<p>No pair was decided.</p>\n");
        return sb.ToString();
    }

    /// <summary>One row per label: the rate as a dot and its interval as a bar (0-100 %), counts at the right; an optional dashed residual line.</summary>
    internal static string IntervalPlot(string id, string title, IReadOnlyList<(string Label, int Failures, int Runs, double Rate, double Lower, double Upper)> rows, double? residual)
    {
        const int rowHeight = 26, top = 24;
        var height = top + rows.Count * rowHeight + 24;
        var sb = new StringBuilder();
        sb.Append(Inv($"<svg class=\"{id}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" role=\"img\" aria-label=\"{E(title)}\">\n<title>{E(title)}</title>\n"));
        foreach (var tick in new[] { 0.0, 0.25, 0.5, 0.75, 1.0 })
        {
            var x = X(tick);
            sb.Append(Inv($"<line x1=\"{x:F1}\" y1=\"{top - 6}\" x2=\"{x:F1}\" y2=\"{height - 18}\" stroke=\"#ccc\"/><text x=\"{x:F1}\" y=\"{height - 4}\" text-anchor=\"middle\">{tick * 100:0} %</text>\n"));
        }
        if (residual is { } r)
            sb.Append(Inv($"<line class=\"residual\" x1=\"{X(r):F1}\" y1=\"{top - 10}\" x2=\"{X(r):F1}\" y2=\"{height - 18}\" stroke=\"#2a7d2a\" stroke-dasharray=\"4 3\"/><text x=\"{X(r) + 3:F1}\" y=\"{top - 12}\" fill=\"#2a7d2a\">max residual {r * 100:0.##} %</text>\n"));
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var y = top + i * rowHeight + rowHeight / 2;
            sb.Append(Inv($"<text x=\"{PlotLeft - 8}\" y=\"{y + 4}\" text-anchor=\"end\">{E(Shorten(row.Label, 38))}</text>\n"));
            if (row.Runs == 0)
            {
                sb.Append(Inv($"<text x=\"{PlotLeft + 4}\" y=\"{y + 4}\" fill=\"#666\">no counted repeats</text>\n"));
                continue;
            }
            var colour = row.Failures > 0 ? "#c00" : "#2a7d2a";
            sb.Append(Inv($"<g class=\"interval\" data-failures=\"{row.Failures}\" data-runs=\"{row.Runs}\"><line x1=\"{X(row.Lower):F1}\" y1=\"{y}\" x2=\"{X(row.Upper):F1}\" y2=\"{y}\" stroke=\"{colour}\" stroke-width=\"2\"/>"));
            sb.Append(Inv($"<line x1=\"{X(row.Lower):F1}\" y1=\"{y - 6}\" x2=\"{X(row.Lower):F1}\" y2=\"{y + 6}\" stroke=\"{colour}\" stroke-width=\"2\"/><line x1=\"{X(row.Upper):F1}\" y1=\"{y - 6}\" x2=\"{X(row.Upper):F1}\" y2=\"{y + 6}\" stroke=\"{colour}\" stroke-width=\"2\"/>"));
            sb.Append(Inv($"<circle cx=\"{X(row.Rate):F1}\" cy=\"{y}\" r=\"5\" fill=\"{colour}\"/></g>\n"));
            sb.Append(Inv($"<text x=\"{PlotRight + 10}\" y=\"{y + 4}\">{row.Failures}/{row.Runs} ({row.Lower * 100:0.#}–{row.Upper * 100:0.#} %)</text>\n"));
        }
        sb.Append("</svg>\n");
        return sb.ToString();

        static double X(double fraction) => PlotLeft + fraction * (PlotRight - PlotLeft);
    }

    /// <summary>
    /// The whole file with every finding of the chosen pass as a mark, then the fs blocks around the
    /// first finding sector by sector. Marks carry their class and sectors (data-*) so tests and
    /// readers can tie them to the record.
    /// </summary>
    private static string CorruptionMap(ReportModel model)
    {
        if (model.MapTarget() is not var (cell, iteration, pass))
            return "<p id=\"no-corruption\">No sector was corrupted: nothing to map.</p>\n";
        var findings = pass.Findings.Where(f => ReportModel.SectorClasses.Contains(f.Class)).OrderBy(f => f.FirstSector).ToArray();
        var blockSize = cell.FsBlockSize;
        var spb = Math.Max(1, blockSize / 512);
        var fileSize = cell.Input.FileSize > 0 ? cell.Input.FileSize : pass.SectorsChecked * 512;
        var totalSectors = Math.Max(fileSize / 512, findings.Max(f => f.EndSector));
        var totalBlocks = (totalSectors + spb - 1) / spb;
        var first = findings[0];
        var fromBlock = Math.Max(0, first.FirstFsBlock - 2);
        var toBlock = Math.Min(totalBlocks - 1, Math.Min(first.LastFsBlock, first.FirstFsBlock + 19) + 2);
        var sb = new StringBuilder();
        sb.Append(Inv($"<p>{E(cell.Input.CellId)}, iteration {iteration.Iteration}, {E(pass.Pass)} read-back: {pass.FindingCount} finding(s) ({string.Join(", ", pass.FindingsByClass.Select(kv => $"{E(kv.Key)} {kv.Value}"))})") +
                      Inv($"{(pass.FindingCount > pass.Findings.Count ? $", the first {pass.Findings.Count} kept in the record and drawn" : "")}; file {fileSize} bytes, fs blocks of {blockSize} bytes. ") +
                      Inv($"Rerun: <code>{E(cell.RerunCommand)}</code></p>\n"));

        // Overview: file offset along the axis; a mark per finding (at least 2 px wide, so a single sector shows).
        const int left = 40, right = 720, overviewHeight = 90;
        double OX(long sector) => left + (double)sector / totalSectors * (right - left);
        sb.Append(Inv($"<svg id=\"corruption-overview\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{overviewHeight}\" viewBox=\"0 0 {Width} {overviewHeight}\" role=\"img\" aria-label=\"corruption map of the whole file\">\n<title>Whole file: {totalSectors} sectors</title>\n"));
        sb.Append(Inv($"<rect x=\"{left}\" y=\"20\" width=\"{right - left}\" height=\"34\" fill=\"{LegalColour}\"/>\n"));
        if (totalBlocks <= 256)
            for (var b = 1L; b < totalBlocks; b++)
                sb.Append(Inv($"<line class=\"block-boundary\" x1=\"{OX(b * spb):F2}\" y1=\"20\" x2=\"{OX(b * spb):F2}\" y2=\"54\" stroke=\"#fff\" stroke-width=\"0.5\"/>\n"));
        foreach (var f in findings)
            sb.Append(Inv($"<rect class=\"sector-mark overview\" data-class=\"{EnumWords.Kebab(f.Class)}\" data-first-sector=\"{f.FirstSector}\" data-sectors=\"{f.SectorCount}\" x=\"{OX(f.FirstSector):F2}\" y=\"20\" width=\"{Math.Max(2, OX(f.EndSector) - OX(f.FirstSector)):F2}\" height=\"34\" fill=\"{ClassColours[f.Class]}\"><title>{E(EnumWords.Kebab(f.Class))}: {Sectors(f)}</title></rect>\n"));
        sb.Append(Inv($"<rect class=\"zoom-window\" x=\"{OX(fromBlock * spb) - 1:F2}\" y=\"16\" width=\"{Math.Max(3, OX((toBlock + 1) * spb) - OX(fromBlock * spb) + 2):F2}\" height=\"42\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.5\"/>\n"));
        foreach (var tick in Enumerable.Range(0, 5))
        {
            var sector = totalSectors * tick / 4;
            sb.Append(Inv($"<text x=\"{OX(sector):F1}\" y=\"72\" text-anchor=\"middle\">{Offset(sector * 512)}</text>\n"));
        }
        sb.Append(Inv($"<text x=\"{left}\" y=\"12\">file offset → (black box: the zoomed fs blocks below)</text>\n</svg>\n"));

        // Zoom: every sector of the window's fs blocks, coloured by the finding covering it; block boundaries drawn.
        var fromSector = fromBlock * spb;
        var windowSectors = (toBlock - fromBlock + 1) * spb;
        var sectorWidth = (double)(right - left) / windowSectors;
        double ZX(long sector) => left + (sector - fromSector) * sectorWidth;
        const int zoomHeight = 120;
        sb.Append(Inv($"<svg id=\"corruption-zoom\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{zoomHeight}\" viewBox=\"0 0 {Width} {zoomHeight}\" role=\"img\" aria-label=\"fs blocks {fromBlock} to {toBlock}, sector by sector\">\n<title>fs blocks {fromBlock}-{toBlock}, sector by sector</title>\n"));
        for (var s = fromSector; s < fromSector + windowSectors; s++)
        {
            var hit = findings.FirstOrDefault(f => s >= f.FirstSector && s < f.EndSector);
            var cls = hit is null ? "sector-ok" : "sector-mark zoom";
            var data = hit is null ? "" : Inv($" data-class=\"{EnumWords.Kebab(hit.Class)}\"");
            sb.Append(Inv($"<rect class=\"{cls}\" data-sector=\"{s}\"{data} x=\"{ZX(s) + 0.5:F2}\" y=\"24\" width=\"{Math.Max(0.5, sectorWidth - 1):F2}\" height=\"40\" fill=\"{(hit is null ? LegalColour : ClassColours[hit.Class])}\"/>\n"));
        }
        for (var b = fromBlock; b <= toBlock + 1; b++)
        {
            var x = ZX(b * spb);
            sb.Append(Inv($"<line class=\"block-boundary\" x1=\"{x:F2}\" y1=\"16\" x2=\"{x:F2}\" y2=\"72\" stroke=\"#000\" stroke-width=\"1.5\"/>\n"));
            if (b <= toBlock && toBlock - fromBlock < 12)
                sb.Append(Inv($"<text x=\"{x + spb * sectorWidth / 2:F1}\" y=\"86\" text-anchor=\"middle\">block {b}</text>\n"));
        }
        sb.Append(Inv($"<text x=\"{left}\" y=\"104\">offset {Offset(fromSector * 512)}</text><text x=\"{right}\" y=\"104\" text-anchor=\"end\">offset {Offset((fromSector + windowSectors) * 512)}</text>\n"));
        sb.Append(Inv($"<text x=\"{left}\" y=\"12\">fs blocks {fromBlock}-{toBlock} ({spb} sectors of 512 bytes each); first finding: {E(EnumWords.Kebab(first.Class))} at {Sectors(first)}, IOs in flight {E(MarkdownReport.Ios(first))}</text>\n</svg>\n"));

        // Legend.
        sb.Append("<p class=\"legend\">");
        foreach (var (c, colour) in ClassColours)
            sb.Append(Inv($"<span style=\"display:inline-block;width:12px;height:12px;background:{colour};margin:0 4px 0 12px\"></span>{E(EnumWords.Kebab(c))}"));
        sb.Append(Inv($"<span style=\"display:inline-block;width:12px;height:12px;background:{LegalColour};margin:0 4px 0 12px\"></span>legal</p>\n"));
        return sb.ToString();
    }

    private static string IopsPlot(ReportModel model)
    {
        var cells = model.Cells.Where(c => c.Iterations.Any(i => i.Iops > 0)).ToArray();
        if (cells.Length == 0) return "<p>No repeat measured IOPS.</p>\n";
        var max = cells.SelectMany(c => c.Iterations).Max(i => i.Iops) * 1.1;
        const int rowHeight = 22, top = 10;
        var height = top + cells.Length * rowHeight + 24;
        double X(double iops) => PlotLeft + iops / max * (PlotRight - PlotLeft);
        var sb = new StringBuilder();
        sb.Append(Inv($"<svg class=\"iops-plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" role=\"img\" aria-label=\"IOPS per cell\">\n<title>IOPS per cell: median bar, each repeat a dot</title>\n"));
        for (var i = 0; i < cells.Length; i++)
        {
            var c = cells[i];
            var y = top + i * rowHeight;
            var median = MarkdownReport.MedianIops(c);
            sb.Append(Inv($"<text x=\"{PlotLeft - 8}\" y=\"{y + 14}\" text-anchor=\"end\">{E(Shorten(c.Input.CellId, 38))}</text>\n"));
            sb.Append(Inv($"<rect class=\"iops-bar\" x=\"{PlotLeft}\" y=\"{y + 4}\" width=\"{X(median) - PlotLeft:F1}\" height=\"14\" fill=\"#9ecae1\"/>\n"));
            foreach (var it in c.Iterations.Where(it => it.Iops > 0))
                sb.Append(Inv($"<circle cx=\"{X(it.Iops):F1}\" cy=\"{y + 11}\" r=\"2.5\" fill=\"#08519c\"/>"));
            sb.Append(Inv($"\n<text x=\"{PlotRight + 10}\" y=\"{y + 14}\">{median:F0}</text>\n"));
        }
        sb.Append(Inv($"<text x=\"{PlotLeft}\" y=\"{height - 4}\">0</text><text x=\"{PlotRight}\" y=\"{height - 4}\" text-anchor=\"end\">{max:F0} IOPS</text>\n</svg>\n"));
        return sb.ToString();
    }

    private static string CellTable(ReportModel model)
    {
        var sb = new StringBuilder("<h2>Cells</h2>\n<table>\n<tr><th>cell</th><th>kernel</th><th>fs</th><th>case</th><th>outcome</th><th>failed/runs (95 % CI)</th><th>pass</th><th>fail</th><th>crash</th><th>error</th><th>skip</th><th>findings</th><th>io errors</th><th>median IOPS</th><th>rerun</th></tr>\n");
        foreach (var c in model.Cells)
        {
            var n = MarkdownReport.Tally(c);
            var word = Outcomes.Word(c.Outcome);
            sb.Append(Inv($"<tr><td>{E(c.Input.CellId)}</td><td>{E(c.Kernel)}</td><td>{E(c.Input.Filesystem)}</td><td>{E(c.Input.Case)}</td><td class=\"{word}\">{word}</td><td>{E(MarkdownReport.CellRate(c))}</td>") +
                          Inv($"<td>{n.Pass}</td><td>{n.Fail}</td><td>{n.Crash}</td><td>{n.Error}</td><td>{n.Skip}</td><td>{E(MarkdownReport.Findings(c))}</td><td>{c.Iterations.Sum(i => i.IoErrors)}</td><td>{MarkdownReport.MedianIops(c):F0}</td>") +
                          Inv($"<td>{(c.Outcome == Outcome.Pass ? "" : $"<code>{E(c.RerunCommand)}</code>")}</td></tr>\n"));
            if (c.Outcome != Outcome.Pass && c.Problem is { } p)
                sb.Append(Inv($"<tr><td></td><td colspan=\"14\">{E(p)}</td></tr>\n"));
        }
        return sb.Append("</table>\n").ToString();
    }

    private static string FindingsList(ReportModel model)
    {
        var firsts = model.FirstFindings();
        if (firsts.Count == 0) return "";
        var sb = new StringBuilder("<h2>First finding of each class</h2>\n");
        foreach (var f in firsts)
            sb.Append(Inv($"<h3>{E(EnumWords.Kebab(f.Finding.Class))}: {E(f.Cell.Input.CellId)}, iteration {f.Iteration.Iteration}, {E(f.Pass)}</h3>\n<pre>{E(f.Finding.ToString())}</pre>\n<p>fs blocks of {f.Cell.FsBlockSize} bytes. Rerun: <code>{E(f.Cell.RerunCommand)}</code></p>\n"));
        return sb.ToString();
    }

    private static string Sectors(Finding f) => f.SectorCount == 1 ? Inv($"sector {f.FirstSector}") : Inv($"sectors {f.FirstSector}-{f.EndSector - 1}");

    private static string Offset(long bytes) =>
        bytes == 0 ? "0" : bytes % (1L << 20) == 0 ? Inv($"{bytes >> 20} MiB") : bytes % 1024 == 0 ? Inv($"{bytes >> 10} KiB") : Inv($"{bytes}");

    internal static string Shorten(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    internal static string E(string text) => WebUtility.HtmlEncode(text);

    internal static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
