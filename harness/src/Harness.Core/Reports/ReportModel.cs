// What every report renders: a run or validate folder read back from its records (run.json or
// validation.json, cells/*/cell.json, cells/*/iteration-NNN.json), never from a live run. The
// renderers (Markdown, HTML, JUnit, KCIDB) only format this model.
using System.Globalization;
using System.Text.RegularExpressions;
using Harness.Golden;
using Harness.Machines;
using Harness.Results;
using Harness.Validation;
using Harness.Verdicts;

namespace Harness.Reports;

/// <summary>Which command wrote the folder.</summary>
public enum ReportKind
{
    /// <summary>`harness run`: cells of filesystems × cases on one machine.</summary>
    Run,
    /// <summary>`harness validate`: (filesystem, case) pairs judged on kernels without and with a patch.</summary>
    Validate,
}

/// <summary>
/// One cell as recorded. <see cref="Result"/> is null when the cell never finished (an interrupted
/// run): its <see cref="Outcome"/> is then taken from the iterations it recorded, at best SKIP.
/// <see cref="Side"/> is the validate side (without, with, control), null in a run.
/// </summary>
public sealed record ReportCell(
    CellInput Input,
    string Kernel,
    string? Side,
    Outcome Outcome,
    CellResult? Result,
    IReadOnlyList<IterationResult> Iterations,
    string RerunCommand)
{
    /// <summary>FAIL and CRASH repeats out of counted ones (PASS, FAIL, CRASH), as validate counts them.</summary>
    public RateCounts Counts => RateCounts.FromOutcomes(Iterations.Select(i => i.Outcome));

    /// <summary>Iteration number of the cell's first repeat (validate numbers a side's repeats on across looks).</summary>
    public int FirstIteration => Iterations.Count > 0 ? Iterations.Min(i => i.Iteration) : 0;

    /// <summary>The cell's fs block size (4096 for records written before the field existed).</summary>
    public int FsBlockSize => Input.FsBlockSize > 0 ? Input.FsBlockSize : 4096;

    /// <summary>The machine's failure kind (kernel-panic, boot-timeout, ...), when the machine ended the cell.</summary>
    public string? FailureKind => Result?.Failure?.Kind;

    /// <summary>What went wrong, in one line: the machine failure, the cell's error, or null.</summary>
    public string? Problem => Result?.Failure is { } f ? $"[{f.Kind}] {f.Message}" : Result?.Error ?? (Result is null ? "did not finish (run interrupted)" : null);
}

/// <summary>One line of a report's "What ran": what it is (kernel, patch, case), its name, and its identity by content.</summary>
public sealed record RanItem(string What, string Name, string Identity);

/// <summary>The first finding of one class in the whole folder, where it was, and the cell to rerun.</summary>
public sealed record FirstFinding(Finding Finding, ReportCell Cell, IterationResult Iteration, string Pass);

/// <summary>A folder's records as the reports need them.</summary>
public sealed record ReportModel(
    ReportKind Kind,
    string RunId,
    string Folder,
    DateTimeOffset Started,
    DateTimeOffset? Finished,
    string CommandLine,
    MachineFacts Machine,
    Outcome? Outcome,
    IReadOnlyList<ReportCell> Cells,
    ValidationRecord? Validation,
    bool Interrupted,
    string? StopReason)
{
    /// <summary>The headline word: the run's outcome, or the validation's verdicts joined ("FIXES").</summary>
    public string Verdict => Kind == ReportKind.Run
        ? Outcome is { } o ? Outcomes.Word(o) : "UNFINISHED"
        : Validation!.Pairs.Count == 0 ? "UNFINISHED" : string.Join(", ", Validation.Pairs.Select(p => PatchVerdicts.Word(p.Verdict)).Distinct());

    /// <summary>Classes whose findings cover sectors of the file (the corruption map draws only these).</summary>
    public static IReadOnlySet<FindingClass> SectorClasses { get; } =
        new HashSet<FindingClass> { FindingClass.Zeroed, FindingClass.Stale, FindingClass.Foreign, FindingClass.Torn, FindingClass.LostWrite };

    /// <summary>
    /// What actually ran, by content, from the records: each kernel (validate: each side) with its
    /// image, config, emulator, disk backend and accelerator; each patch of the series; each case with
    /// its file digest and seed. A reader can tell two runs apart that names and versions alone would
    /// make look the same (a rebuilt kernel, an edited case).
    /// </summary>
    public IReadOnlyList<RanItem> WhatRan()
    {
        var items = new List<RanItem>();
        if (Validation is { } v)
        {
            foreach (var k in v.Kernels)
                items.Add(new RanItem($"kernel ({k.Label})", $"{k.Name} {k.Release}", Describe(k.Identity, k.Origin)));
            foreach (var p in v.Patches)
                items.Add(new RanItem("patch", Path.GetFileName(p.Name), $"sha256 {Short(p.Sha256)}"));
        }
        else
            items.Add(new RanItem("kernel", Machine.Kernel, Describe(Machine.Identity, Machine.Detail)));
        foreach (var c in Cells.Select(c => c.Input).DistinctBy(i => (i.Case, i.CaseSha256, i.Seed)))
            items.Add(new RanItem("case", c.Case, $"sha256 {Short(c.CaseSha256)}, seed {c.Seed.ToString(CultureInfo.InvariantCulture)}"));
        return items;
    }

    private static string Describe(KernelIdentity? identity, string fallback) => identity is null
        ? fallback
        : $"bzImage sha256 {Short(identity.BzImageSha256)}, config sha256 {(identity.ConfigSha256 is { } c ? Short(c) : "-")}, {identity.QemuVersion}, disk {identity.Backend}, {identity.Acceleration}";

    private static string Short(string sha) => sha.Length > 12 ? sha[..12] : sha.Length == 0 ? "-" : sha;

    /// <summary>The first finding of each class, in class order, searching cells in plan order, then iterations, then passes.</summary>
    public IReadOnlyList<FirstFinding> FirstFindings()
    {
        var first = new Dictionary<FindingClass, FirstFinding>();
        foreach (var cell in Cells)
            foreach (var iteration in cell.Iterations)
                foreach (var pass in iteration.Passes)
                    foreach (var finding in pass.Findings)
                        first.TryAdd(finding.Class, new FirstFinding(finding, cell, iteration, pass.Pass));
        return first.OrderBy(kv => kv.Key).Select(kv => kv.Value).ToArray();
    }

    /// <summary>
    /// The iteration the corruption map draws: the first one with sector findings, and its pass
    /// with the most of them. Null when no sector was corrupted.
    /// </summary>
    public (ReportCell Cell, IterationResult Iteration, PassResult Pass)? MapTarget()
    {
        foreach (var cell in Cells)
            foreach (var iteration in cell.Iterations)
            {
                var pass = iteration.Passes.Where(p => p.Findings.Any(f => SectorClasses.Contains(f.Class)))
                    .OrderByDescending(p => p.Findings.Count(f => SectorClasses.Contains(f.Class))).FirstOrDefault();
                if (pass is not null) return (cell, iteration, pass);
            }
        return null;
    }
}

/// <summary>Reads a results folder into a <see cref="ReportModel"/>.</summary>
public static partial class ReportLoader
{
    /// <summary>
    /// Loads <paramref name="folder"/> (a run or validate folder). <paramref name="shownAs"/> is how
    /// commands in the reports name it (a path relative to where the user works, e.g. results/&lt;run&gt;).
    /// Throws <see cref="Yaml.InputException"/> when it is no results folder, or a record is unreadable.
    /// </summary>
    public static ReportModel Load(string folder, string shownAs)
    {
        try
        {
            if (File.Exists(Path.Combine(folder, "validation.json"))) return LoadValidation(folder, shownAs);
            if (File.Exists(Path.Combine(folder, "run.json"))) return LoadRun(folder, shownAs);
        }
        catch (RecordFormatException e)
        {
            throw new Yaml.InputException(new Yaml.InputProblem(e.RecordPath, 0, 0, "record", e.Message[(e.RecordPath.Length + 2)..]));
        }
        throw new Yaml.InputException(new Yaml.InputProblem(folder, 0, 0, "folder",
            Directory.Exists(folder) ? "holds no run.json or validation.json; pass a run folder, results/<run-id>" : "no such folder; pass a run folder, results/<run-id>"));
    }

    /// <summary>How a folder is shown in commands: relative to <paramref name="workingDirectory"/> when inside it, else absolute.</summary>
    public static string ShownAs(string folder, string workingDirectory)
    {
        var full = Path.GetFullPath(folder).TrimEnd('/');
        var relative = Path.GetRelativePath(Path.GetFullPath(workingDirectory), full);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? full : relative;
    }

    private static ReportModel LoadRun(string folder, string shownAs)
    {
        var runFolder = new RunFolder(Path.GetFullPath(folder));
        var recorded = RunJournal.ReadRun(folder);
        // run.json may be older than the cells (a killed run): the cell records are the journal.
        var rebuilt = RunJournal.Rebuild(runFolder, recorded);
        var kernel = KernelOfRun(recorded);
        var cells = recorded.Inputs.Select(input =>
        {
            var result = RunJournal.ReadCell(runFolder, input.CellId);
            var iterations = ReadIterations(runFolder.CellDirectory(input.CellId));
            return new ReportCell(result?.Input ?? input, kernel, null, result?.Outcome ?? Unfinished(iterations), result, iterations, Rerun(shownAs, input.CellId));
        }).ToArray();
        return new ReportModel(ReportKind.Run, recorded.RunId, shownAs, recorded.Started, recorded.Finished, recorded.CommandLine,
            recorded.Machine, rebuilt.Outcome, cells, null, rebuilt.Interrupted, recorded.StopReason);
    }

    private static ReportModel LoadValidation(string folder, string shownAs)
    {
        var record = RecordFormat.Read<ValidationRecord>(Path.Combine(folder, "validation.json"));
        var cellsRoot = Path.Combine(folder, "cells");
        var cells = new List<(string Fs, string Case, int Look, int Side, int Guest, ReportCell Cell)>();
        foreach (var dir in Directory.Exists(cellsRoot) ? Directory.GetDirectories(cellsRoot) : [])
        {
            var id = Path.GetFileName(dir);
            var m = ValidateCellId().Match(id);
            if (!m.Success) continue;
            var side = m.Groups["side"].Value;
            var cellFile = Path.Combine(dir, "cell.json");
            var result = File.Exists(cellFile) ? RecordFormat.Read<CellResult>(cellFile) : null;
            var iterations = ReadIterations(dir);
            // An unfinished cell has no cell.json: its input is rebuilt from the validation's own record.
            var input = result?.Input ?? UnfinishedInput(record, id, m.Groups["rest"].Value, iterations.Count);
            var kernel = record.Kernels.FirstOrDefault(k => k.Label == side) is { } k ? $"{k.Name} ({k.Release})" : side;
            cells.Add((input.Filesystem, input.Case, int.Parse(m.Groups["look"].Value, CultureInfo.InvariantCulture), Array.IndexOf(SideOrder, side),
                int.Parse(m.Groups["guest"].Value, CultureInfo.InvariantCulture),
                new ReportCell(input, kernel, side, result?.Outcome ?? Unfinished(iterations), result, iterations, Rerun(shownAs, id))));
        }
        var ordered = cells.OrderBy(c => record.Filesystems.ToList().IndexOf(c.Fs)).ThenBy(c => c.Fs, StringComparer.Ordinal)
            .ThenBy(c => c.Case, StringComparer.Ordinal).ThenBy(c => c.Look).ThenBy(c => c.Side).ThenBy(c => c.Guest).Select(c => c.Cell).ToArray();
        return new ReportModel(ReportKind.Validate, record.RunId, shownAs, record.Started, record.Finished, record.CommandLine, record.Machine,
            null, ordered, record, record.Interrupted || record.BudgetReached, record.StopReason);
    }

    private static readonly string[] SideOrder = ["without", "with", "control"];

    [GeneratedRegex(@"^(?<rest>.+)-(?<side>without|with|control)-look(?<look>\d+)-g(?<guest>\d+)$")]
    private static partial Regex ValidateCellId();

    private static CellInput UnfinishedInput(ValidationRecord record, string id, string fsAndCase, int iterations)
    {
        foreach (var fs in record.Filesystems)
            foreach (var c in record.Cases)
                if (fsAndCase == $"{fs}-{c.Name}")
                    return new CellInput(id, fs, c.Name, "", c.Sha256, c.Seed, iterations);
        return new CellInput(id, "?", fsAndCase, "", "", 0, iterations);
    }

    /// <summary>The outcome of a cell that never finished: what its iterations say, at best SKIP (it did not run as planned).</summary>
    private static Outcome Unfinished(IReadOnlyList<IterationResult> iterations) =>
        Outcomes.Combine(iterations.Select(i => i.Outcome).Append(Outcome.Skip));

    /// <summary>Every iteration-NNN.json of a cell folder in number order (validate cells do not start at 0).</summary>
    private static IReadOnlyList<IterationResult> ReadIterations(string cellDirectory) =>
        Directory.Exists(cellDirectory)
            ? Directory.GetFiles(cellDirectory, "iteration-*.json").Order(StringComparer.Ordinal)
                .Where(f => IterationFile().IsMatch(Path.GetFileName(f))).Select(RecordFormat.Read<IterationResult>).ToArray()
            : [];

    [GeneratedRegex(@"^iteration-\d{3,}\.json$")]
    private static partial Regex IterationFile();

    private static string Rerun(string shownAs, string cellId) => $"harness rerun {shownAs}/cells/{cellId}";

    /// <summary>The kernel a run's cells ran on: the host's, or the --kernel spec booted under QEMU with its release.</summary>
    private static string KernelOfRun(RunRecord run)
    {
        if (run.Machine.Kind != "qemu") return $"host {run.Machine.Kernel}";
        var i = run.Arguments.ToList().IndexOf("--kernel");
        var spec = i >= 0 && i + 1 < run.Arguments.Count ? run.Arguments[i + 1] : "debian-6.1-cloud";
        return $"{spec} ({run.Machine.Kernel})";
    }
}
