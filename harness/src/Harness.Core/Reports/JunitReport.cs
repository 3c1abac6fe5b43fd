// junit.xml in the layout of the Jenkins JUnit schema (jenkins-junit.xsd), which Jenkins and GitLab
// read: testsuites > testsuite (properties?, testcase*, system-out?, system-err?) > testcase
// (skipped?, error*, failure*, system-out*, system-err*). Names are unique, since GitLab keeps only
// the first of duplicates. A run: one testcase per cell and repeat; FAIL and CRASH are <failure>
// (carrying the first finding or the crash), ERROR is <error>, SKIP and repeats that never ran are
// <skipped>. A validation: one testcase per (fs, case) pair, failing only when the verdict is not the
// expected one, so the expected corruption of the unpatched kernel never turns a FIXES run red.
using System.Globalization;
using System.Text;
using System.Xml;
using Harness.Results;
using Harness.Verdicts;

namespace Harness.Reports;

public static class JunitReport
{
    /// <summary>The verdict a validate testcase must reach to pass, unless told otherwise.</summary>
    public const PatchVerdict DefaultExpected = PatchVerdict.Fixes;

    public static string Render(ReportModel model, PatchVerdict expected = DefaultExpected)
    {
        var cases = model.Kind == ReportKind.Run ? RunCases(model) : ValidateCases(model, expected);
        var sb = new StringBuilder();
        using (var w = XmlWriter.Create(sb, new XmlWriterSettings { Indent = true, Encoding = new UTF8Encoding(false), OmitXmlDeclaration = false }))
        {
            w.WriteStartDocument();
            var suiteName = $"harness.{(model.Kind == ReportKind.Run ? "run" : "validate")}.{model.RunId}";
            var (tests, failures, errors, skipped) = (cases.Count, cases.Count(c => c.Failure is not null), cases.Count(c => c.Error is not null), cases.Count(c => c.Skipped is not null));
            var time = Seconds(cases.Sum(c => c.Seconds));
            w.WriteStartElement("testsuites");
            w.WriteAttributeString("name", suiteName);
            w.WriteAttributeString("tests", Int(tests));
            w.WriteAttributeString("failures", Int(failures));
            w.WriteAttributeString("errors", Int(errors));
            w.WriteAttributeString("time", time);
            w.WriteStartElement("testsuite");
            w.WriteAttributeString("name", suiteName);
            w.WriteAttributeString("tests", Int(tests));
            w.WriteAttributeString("failures", Int(failures));
            w.WriteAttributeString("errors", Int(errors));
            w.WriteAttributeString("skipped", Int(skipped));
            w.WriteAttributeString("time", time);
            w.WriteAttributeString("timestamp", model.Started.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture));
            w.WriteStartElement("properties");
            Property(w, "command", model.CommandLine);
            Property(w, "machine", $"{model.Machine.Kind}: {model.Machine.Detail}");
            Property(w, "kernel", model.Machine.Kernel);
            Property(w, "verdict", model.Verdict);
            w.WriteEndElement();
            foreach (var c in cases)
            {
                w.WriteStartElement("testcase");
                w.WriteAttributeString("name", c.Name);
                w.WriteAttributeString("classname", c.ClassName);
                w.WriteAttributeString("time", Seconds(c.Seconds));
                if (c.Skipped is { } s) w.WriteElementString("skipped", Clean(s));
                if (c.Error is { } e) WriteProblem(w, "error", e);
                if (c.Failure is { } f) WriteProblem(w, "failure", f);
                if (c.Output is { } o) w.WriteElementString("system-out", Clean(o));
                w.WriteEndElement();
            }
            w.WriteEndElement();
            w.WriteEndElement();
            w.WriteEndDocument();
        }
        // XmlWriter over a StringBuilder declares utf-16; the file is UTF-8.
        return sb.ToString().Replace("encoding=\"utf-16\"", "encoding=\"utf-8\"", StringComparison.Ordinal) + "\n";
    }

    private sealed record CaseProblem(string Type, string Message, string Text);

    private sealed record TestCase(string Name, string ClassName, double Seconds, string? Skipped, CaseProblem? Error, CaseProblem? Failure, string? Output);

    private static List<TestCase> RunCases(ReportModel model)
    {
        var list = new List<TestCase>();
        foreach (var cell in model.Cells)
        {
            var className = $"harness.{Dotted(cell.Input.Case)}.{Dotted(cell.Input.Filesystem)}";
            var planned = Math.Max(cell.Input.Repeats, cell.Iterations.Count);
            var perRepeat = cell.Result is { } r && planned > 0 ? r.Seconds / planned : 0;
            var machineReported = false;
            for (var repeat = 0; repeat < planned; repeat++)
            {
                var name = $"{cell.Input.CellId} repeat {repeat + 1}";
                var iteration = repeat < cell.Iterations.Count ? cell.Iterations[repeat] : null;
                if (iteration is null)
                {
                    // The machine ended the cell (a crash, a timeout) before this repeat: the first missing
                    // repeat carries the machine's failure, the rest never ran.
                    if (!machineReported && cell.Result?.Failure is { } mf && cell.Outcome is Outcome.Crash or Outcome.Error)
                    {
                        machineReported = true;
                        var problem = new CaseProblem(cell.Outcome == Outcome.Crash ? $"crash:{mf.Kind}" : mf.Kind, $"{Outcomes.Word(cell.Outcome)} [{mf.Kind}] {mf.Message}",
                            $"{mf.Excerpt}\nrerun: {cell.RerunCommand}");
                        list.Add(new TestCase(name, className, 0, null, cell.Outcome == Outcome.Error ? problem : null, cell.Outcome == Outcome.Crash ? problem : null, null));
                    }
                    else
                    {
                        list.Add(new TestCase(name, className, 0, cell.Result is null ? "not run: the run was interrupted" : $"not run: {cell.Problem ?? "the cell ended early"}", null, null, null));
                    }
                    continue;
                }
                list.Add(Iteration(cell, iteration, name, className, perRepeat));
            }
        }
        return list;
    }

    private static TestCase Iteration(ReportCell cell, IterationResult i, string name, string className, double seconds)
    {
        var output = string.Create(CultureInfo.InvariantCulture,
            $"iteration {i.Iteration}: {Outcomes.Word(i.Outcome)}; {i.IoCount} IOs, {i.IoErrors} IO errors, {i.Iops:F0} IOPS; sectors checked {string.Join(", ", i.Passes.Select(p => $"{p.Pass} {p.SectorsChecked}"))}; kernel {i.Kernel}");
        var first = i.Passes.SelectMany(p => p.Findings.Select(f => (p.Pass, f))).FirstOrDefault();
        switch (i.Outcome)
        {
            case Outcome.Fail when first.f is { } f:
                var count = i.Passes.Sum(p => p.FindingCount);
                return new TestCase(name, className, seconds, null, null,
                    new CaseProblem(EnumWords.Kebab(f.Class), $"{count} finding(s); first: {EnumWords.Kebab(f.Class)} at file offset {f.Offset} ({first.Pass})",
                        $"{f}\nrerun: {cell.RerunCommand}"), output);
            case Outcome.Fail:
                return new TestCase(name, className, seconds, null, null, new CaseProblem("fail", i.Error ?? "FAIL", $"rerun: {cell.RerunCommand}"), output);
            case Outcome.Crash:
                var kind = cell.FailureKind ?? "crash";
                return new TestCase(name, className, seconds, null, null,
                    new CaseProblem($"crash:{kind}", $"CRASH [{kind}] {i.Error ?? cell.Result?.Failure?.Message}", $"{cell.Result?.Failure?.Excerpt}\nrerun: {cell.RerunCommand}"), output);
            case Outcome.Error:
                return new TestCase(name, className, seconds, null, new CaseProblem("error", i.Error ?? "ERROR", $"rerun: {cell.RerunCommand}"), null, output);
            case Outcome.Skip:
                return new TestCase(name, className, seconds, $"SKIP: {i.Error}", null, null, output);
            default:
                return new TestCase(name, className, seconds, null, null, null, output);
        }
    }

    private static List<TestCase> ValidateCases(ReportModel model, PatchVerdict expected)
    {
        var list = new List<TestCase>();
        var v = model.Validation!;
        foreach (var p in v.Pairs)
        {
            var seconds = model.Cells.Where(c => c.Input.Filesystem == p.Filesystem && c.Input.Case == p.Case).Sum(c => c.Result?.Seconds ?? 0);
            var line = $"{PatchVerdicts.Word(p.Verdict)}: without {MarkdownReport.Rate(p.Without)}, with {MarkdownReport.Rate(p.With)}, patched rate {p.Bound}";
            var text = $"{p.Reason}\ncells: {model.Folder}/cells/{p.Filesystem}-{p.Case}-*";
            CaseProblem? error = null, failure = null;
            // Stopped before a verdict (Ctrl-C, --budget): nothing was decided, neither way.
            if (p.End == LoopEnd.Interrupted)
            {
                list.Add(new TestCase($"{p.Filesystem}/{p.Case}", $"harness.validate.{Dotted(p.Case)}.{Dotted(p.Filesystem)}", seconds, $"not decided: interrupted ({line})", null, null, $"{line}\n{p.Reason}"));
                continue;
            }
            // Machines, not kernels, left it undecided: an infrastructure error, not a failed expectation.
            if (p.End == LoopEnd.Uncountable && p.Verdict == PatchVerdict.Inconclusive)
                error = new CaseProblem("infrastructure", line, text + "\n" + string.Join("\n", p.MachineFailures));
            else if (p.Verdict != expected)
                failure = new CaseProblem(PatchVerdicts.Word(p.Verdict).ToLowerInvariant().Replace(' ', '-'), $"expected {PatchVerdicts.Word(expected)}, got {line}", text);
            list.Add(new TestCase($"{p.Filesystem}/{p.Case}", $"harness.validate.{Dotted(p.Case)}.{Dotted(p.Filesystem)}", seconds, null, error, failure, $"{line}\n{p.Reason}"));
        }
        // Pairs the validation planned but never decided (interrupted or out of budget).
        foreach (var fs in v.Filesystems)
            foreach (var c in v.Cases)
                if (!v.Pairs.Any(p => p.Filesystem == fs && p.Case == c.Name))
                    list.Add(new TestCase($"{fs}/{c.Name}", $"harness.validate.{Dotted(c.Name)}.{Dotted(fs)}", 0, $"not decided: {model.StopReason ?? "the validation was interrupted"}", null, null, null));
        return list;
    }

    private static void Property(XmlWriter w, string name, string value)
    {
        w.WriteStartElement("property");
        w.WriteAttributeString("name", name);
        w.WriteAttributeString("value", Clean(value));
        w.WriteEndElement();
    }

    private static void WriteProblem(XmlWriter w, string element, CaseProblem problem)
    {
        w.WriteStartElement(element);
        w.WriteAttributeString("message", Clean(problem.Message));
        w.WriteAttributeString("type", Clean(problem.Type));
        w.WriteString(Clean(problem.Text));
        w.WriteEndElement();
    }

    /// <summary>A name as a dot-path segment: dots would split it.</summary>
    internal static string Dotted(string name) => name.Replace('.', '_');

    /// <summary>Characters XML 1.0 forbids (console excerpts may hold control bytes) become U+FFFD.</summary>
    internal static string Clean(string text) => new(text.Select(ch => XmlConvert.IsXmlChar(ch) || char.IsSurrogate(ch) ? ch : '\uFFFD').ToArray());

    private static string Int(int n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Seconds(double s) => s.ToString("0.###", CultureInfo.InvariantCulture);
}
