// report.md: a report that fits an email to a mailing list. Verdict first, then one table row per
// cell, then the first finding of each class with its sectors, fs block and the IOs in flight, and
// for every finding and failed cell the command that reruns exactly that cell.
using System.Globalization;
using System.Text;
using Harness.Golden;
using Harness.Results;
using Harness.Verdicts;

namespace Harness.Reports;

public static class MarkdownReport
{
    public static string Render(ReportModel model)
    {
        var sb = new StringBuilder();
        var what = model.Kind == ReportKind.Run ? "run" : "validate";
        sb.AppendLine(Inv($"# harness {what} {model.RunId}: {model.Verdict}"));
        sb.AppendLine();
        sb.AppendLine(Headline(model));
        sb.AppendLine();
        sb.AppendLine(Inv($"- command: `{model.CommandLine}`"));
        sb.AppendLine(Inv($"- machine: {model.Machine.Kind}, kernel {model.Machine.Kernel}, {model.Machine.CpuCount} CPUs; {model.Machine.Detail}"));
        sb.AppendLine(Inv($"- started {Time(model.Started)}, {(model.Finished is { } end ? $"finished {Time(end)}" : "not finished")}{(model.Interrupted ? $"; **interrupted**: {model.StopReason ?? "finished cells kept"}" : "")}"));
        sb.AppendLine();

        sb.AppendLine("## What ran");
        sb.AppendLine();
        sb.AppendLine("| what | name | identity |");
        sb.AppendLine("|---|---|---|");
        foreach (var item in model.WhatRan()) sb.AppendLine(Inv($"| {item.What} | {item.Name} | {item.Identity} |"));
        sb.AppendLine();

        if (model.Validation is { } v)
        {
            sb.AppendLine("## Verdicts");
            sb.AppendLine();
            var control = v.Pairs.Any(p => p.Control is not null);
            sb.AppendLine("| fs | case | verdict | without patch | with patch |" + (control ? " control |" : "") + " patched rate | p |");
            sb.AppendLine("|---|---|---|---|---|" + (control ? "---|" : "") + "---|---|");
            foreach (var p in v.Pairs)
                sb.AppendLine(Inv($"| {p.Filesystem} | {p.Case} | **{PatchVerdicts.Word(p.Verdict)}** | {Rate(p.Without)} | {Rate(p.With)} |{(control ? $" {(p.Control is { } c ? Rate(c) : "-")} |" : "")} {p.Bound} | {p.PValue:G3} |"));
            sb.AppendLine();
            foreach (var p in v.Pairs) sb.AppendLine(Inv($"- {p.Filesystem}/{p.Case}: {p.Reason}"));
            sb.AppendLine();
        }

        sb.AppendLine("## Cells");
        sb.AppendLine();
        sb.AppendLine("| cell | kernel | fs | case | outcome | failed/runs (95 % CI) | pass | fail | crash | error | skip | findings | io errors | median IOPS |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var c in model.Cells)
        {
            var n = Tally(c);
            sb.AppendLine(Inv($"| {c.Input.CellId} | {c.Kernel} | {c.Input.Filesystem} | {c.Input.Case} | {Outcomes.Word(c.Outcome)} | {CellRate(c)} | {n.Pass} | {n.Fail} | {n.Crash} | {n.Error} | {n.Skip} | {Findings(c)} | {c.Iterations.Sum(i => i.IoErrors)} | {MedianIops(c):F0} |"));
        }
        sb.AppendLine();
        sb.AppendLine("Rates count FAIL and CRASH repeats as failures out of PASS, FAIL and CRASH (ERROR and SKIP say nothing about the kernel), with two-sided 95 % Clopper-Pearson intervals.");
        sb.AppendLine();

        var firsts = model.FirstFindings();
        if (firsts.Count > 0)
        {
            sb.AppendLine("## First finding of each class");
            sb.AppendLine();
            foreach (var f in firsts)
            {
                var x = f.Finding;
                sb.AppendLine(Inv($"### {EnumWords.Kebab(x.Class)}: {f.Cell.Input.CellId}, iteration {f.Iteration.Iteration}, {f.Pass}"));
                sb.AppendLine();
                if (ReportModel.SectorClasses.Contains(x.Class))
                {
                    var sectors = x.SectorCount == 1 ? $"sector {x.FirstSector}" : $"sectors {x.FirstSector}-{x.EndSector - 1}";
                    var blocks = x.FirstFsBlock == x.LastFsBlock ? $"fs block {x.FirstFsBlock}" : $"fs blocks {x.FirstFsBlock}-{x.LastFsBlock}";
                    sb.AppendLine(Inv($"- {sectors} (file offset {x.Offset}, 0x{x.Offset:x}, {x.Length} bytes), {blocks} of {f.Cell.FsBlockSize} bytes"));
                }
                sb.AppendLine(Inv($"- expected: {x.Expected}"));
                sb.AppendLine(Inv($"- observed: {x.Observed}"));
                sb.AppendLine(Inv($"- IOs in flight: {Ios(x)}"));
                sb.AppendLine(Inv($"- rerun: `{f.Cell.RerunCommand}`"));
                sb.AppendLine();
            }
        }

        var bad = model.Cells.Where(c => c.Outcome != Outcome.Pass).ToArray();
        if (bad.Length > 0)
        {
            sb.AppendLine("## Cells not PASS");
            sb.AppendLine();
            foreach (var c in bad)
                sb.AppendLine(Inv($"- {c.Input.CellId}: {Outcomes.Word(c.Outcome)}{(c.Problem is { } p ? $" {p}" : c.Result?.FindingsByClass.Count > 0 ? $" ({Findings(c)})" : "")}; rerun: `{c.RerunCommand}`"));
            sb.AppendLine();
        }
        var warned = model.Cells.Where(c => c.Result?.KernelWarnings.Count > 0).ToArray();
        foreach (var c in warned)
            sb.AppendLine(Inv($"- {c.Input.CellId}: {c.Result!.KernelWarnings.Count} kernel warning(s): {string.Join(" | ", c.Result.KernelWarnings.First.Take(2))}"));
        if (warned.Length > 0) sb.AppendLine();
        sb.AppendLine(Inv($"Records: `{model.Folder}` (run.json or validation.json, cells/*/cell.json, iteration-NNN.json). Regenerate with `harness report {model.Folder}`."));
        return sb.ToString();
    }

    /// <summary>One sentence a reader needs before anything else.</summary>
    public static string Headline(ReportModel model)
    {
        if (model.Validation is { } v)
            return v.Pairs.Count == 0 ? "**No pair was decided.**"
                : string.Join(" ", v.Pairs.Select(p => Inv($"**{PatchVerdicts.Word(p.Verdict)}** on {p.Filesystem}/{p.Case}: without the patch {p.Without.Failures}/{p.Without.Runs} repeats corrupted, with it {p.With.Failures}/{p.With.Runs}.")));
        var counts = Outcomes.Severity.Select(o => (o, n: model.Cells.Count(c => c.Outcome == o))).Where(x => x.n > 0)
            .Select(x => Inv($"{x.n} {Outcomes.Word(x.o)}"));
        var classes = model.Cells.SelectMany(c => c.Iterations).SelectMany(i => i.Passes).SelectMany(p => p.FindingsByClass)
            .GroupBy(kv => kv.Key).Select(g => Inv($"{g.Key} ×{g.Sum(kv => kv.Value)}"));
        var found = classes.Any() ? $"; findings: {string.Join(", ", classes)}" : "";
        return Inv($"**{model.Verdict}**: {model.Cells.Count} cell(s): {string.Join(", ", counts)}{found}.");
    }

    internal static (int Pass, int Fail, int Crash, int Error, int Skip) Tally(ReportCell c) =>
        (c.Iterations.Count(i => i.Outcome == Outcome.Pass), c.Iterations.Count(i => i.Outcome == Outcome.Fail),
         Math.Max(c.Iterations.Count(i => i.Outcome == Outcome.Crash), c.Result?.Crashed ?? 0),
         c.Iterations.Count(i => i.Outcome == Outcome.Error), c.Iterations.Count(i => i.Outcome == Outcome.Skip));

    internal static string CellRate(ReportCell c)
    {
        var counts = c.Counts;
        if (counts.Runs == 0) return "-";
        var (lo, hi) = Statistics.ClopperPearson(counts.Failures, counts.Runs);
        return Inv($"{counts.Failures}/{counts.Runs} ({lo * 100:0.#}–{hi * 100:0.#} %)");
    }

    internal static string Findings(ReportCell c)
    {
        var byClass = c.Result?.FindingsByClass ?? c.Iterations.SelectMany(i => i.Passes).SelectMany(p => p.FindingsByClass)
            .GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Sum(kv => kv.Value));
        return byClass.Count == 0 ? "-" : string.Join(" ", byClass.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => Inv($"{kv.Key}:{kv.Value}")));
    }

    internal static double MedianIops(ReportCell c)
    {
        if (c.Result is { } r) return r.MedianIops;
        var values = c.Iterations.Where(i => i.Iops > 0).Select(i => i.Iops).Order().ToArray();
        return values.Length == 0 ? 0 : values.Length % 2 == 1 ? values[values.Length / 2] : (values[values.Length / 2 - 1] + values[values.Length / 2]) / 2;
    }

    internal static string Ios(Finding f) =>
        f.IosInFlight.Count == 0 ? "none" : string.Join(", ", f.IosInFlight.Take(16)) + (f.IosInFlight.Count > 16 ? Inv($", ... ({f.IosInFlight.Count} IOs)") : "");

    internal static string Rate(Verdicts.RateEstimate r) => Inv($"{r.Failures}/{r.Runs} ({r.Lower * 100:0.#}–{r.Upper * 100:0.#} %)");

    internal static string Time(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
