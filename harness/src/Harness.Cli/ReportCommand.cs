// `harness report <run>`: regenerates report.md, report.html and junit.xml (and kcidb.json with
// --kcidb --origin) from a results folder's records, never by re-running anything; a compare or
// bisect folder gets its own report.md and report.html (CompareReport, BisectReport).
// `harness rerun <run>/cells/<cell>`: runs exactly that cell again (kernel, patch, filesystem, case
// file, repeats and machine options from the records), as a new run.
using System.CommandLine;
using Harness.Reports;
using Harness.Results;
using Harness.Validation;
using Harness.Verdicts;
using Harness.Yaml;

namespace Harness.Cli;

public sealed class ReportCommand(TextWriter stdout, TextWriter stderr)
{
    public Command CreateReport(CancellationToken cancellationToken)
    {
        var folder = new Argument<string>("run") { Description = "A results folder: results/<run-id> (of run, validate, compare or bisect)" };
        var kcidb = new Option<bool>("--kcidb") { Description = "Also write kcidb.json (KCIDB I/O schema v5.3: checkouts, builds, tests); needs --origin" };
        var origin = new Option<string?>("--origin") { Description = "KCIDB origin: your CI system's name, lower-case letters, digits and '_' (ids become <origin>:...)" };
        var expect = new Option<string>("--expect")
        {
            Description = "validate: the verdict a (fs, case) testcase in junit.xml must reach to pass: fixes, regresses, no-change, not-reproduced, inconclusive",
            DefaultValueFactory = _ => "fixes",
        };
        var command = new Command("report", "Write report.md, report.html and junit.xml (and kcidb.json with --kcidb) into a results folder, from its records; a compare or bisect folder gets report.md and report.html") { folder, kcidb, origin, expect };
        command.SetAction(async (parse, _) =>
        {
            var path = parse.GetValue(folder)!;
            var originName = parse.GetValue(origin);
            if (parse.GetValue(kcidb) && originName is null)
                throw new InputException(new InputProblem("--kcidb", 0, 0, "--kcidb", "needs --origin NAME (your CI system's name, e.g. my_lab): every KCIDB id starts with it"));
            if (!parse.GetValue(kcidb) && originName is not null)
                throw new InputException(new InputProblem("--origin", 0, 0, "--origin", "only means something with --kcidb; add --kcidb"));
            var expected = Expected(parse.GetValue(expect)!);
            if (!Directory.Exists(path))
                throw new InputException(new InputProblem(path, 0, 0, "run", File.Exists(path) ? "is a file; pass a results folder, results/<run-id>" : "no such folder; pass a results folder, results/<run-id>"));
            // A comparison or a bisection has its own record and pages (no cells of its own to put in JUnit or KCIDB).
            if (File.Exists(Path.Combine(path, CompareReport.RecordFile)) || File.Exists(Path.Combine(path, BisectReport.RecordFile)))
            {
                if (parse.GetValue(kcidb))
                    throw new InputException(new InputProblem(path, 0, 0, "--kcidb", "KCIDB reports are written per run folder; pass a run folder inside (results/<compare-id>/runs/<run-id>)"));
                return await WriteOwnPagesAsync(path, cancellationToken);
            }
            var written = await ReportWriter.WriteAsync(path, ReportLoader.ShownAs(path, Environment.CurrentDirectory), parse.GetValue(kcidb) ? originName : null, expected, cancellationToken);
            stdout.WriteLine($"{written.Model.Kind.ToString().ToLowerInvariant()} {written.Model.RunId}: {written.Model.Verdict}");
            foreach (var file in written.Files) stdout.WriteLine($"  {file}");
            return 0;
        });
        return command;
    }

    private async Task<int> WriteOwnPagesAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            if (File.Exists(Path.Combine(path, CompareReport.RecordFile)))
            {
                var files = await CompareReport.WriteAsync(path, cancellationToken);
                var record = RecordFormat.Read<Compare.CompareRecord>(Path.Combine(path, CompareReport.RecordFile));
                stdout.WriteLine($"compare {record.CompareId}: {CompareReport.Verdict(record)}");
                foreach (var file in files) stdout.WriteLine($"  {file}");
            }
            else
            {
                var files = await BisectReport.WriteAsync(path, cancellationToken);
                var record = RecordFormat.Read<Bisection.BisectRecord>(Path.Combine(path, BisectReport.RecordFile));
                stdout.WriteLine($"bisect {record.RunId}: {Bisection.BisectTable.Word(record.End)}");
                foreach (var file in files) stdout.WriteLine($"  {file}");
            }
            return 0;
        }
        catch (RecordFormatException e)
        {
            throw new InputException(new InputProblem(e.RecordPath, 0, 0, "record", e.Message[(e.RecordPath.Length + 2)..]));
        }
    }

    private static PatchVerdict Expected(string word)
    {
        foreach (var v in Enum.GetValues<PatchVerdict>())
            if (string.Equals(EnumWords.Kebab(v), word, StringComparison.OrdinalIgnoreCase) || string.Equals(PatchVerdicts.Word(v), word, StringComparison.OrdinalIgnoreCase))
                return v;
        throw new InputException(new InputProblem("--expect", 0, 0, "--expect",
            $"'{word}' is no verdict; valid: {string.Join(", ", Enum.GetValues<PatchVerdict>().Select(EnumWords.Kebab))}"));
    }

    /// <param name="run">Runs `harness run` with these arguments (in-process, with the same error boundary).</param>
    public Command CreateRerun(Func<string[], Task<int>> run)
    {
        var cell = new Argument<string>("cell") { Description = "A cell folder: results/<run-id>/cells/<cell>" };
        var results = new Option<string?>("--results") { Description = "Results root for the new run (default: the one the cell's run used)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the `harness run` command line and stop" };
        var command = new Command("rerun", "Run exactly one recorded cell again (its kernel, patch, filesystem, case file, repeats and machine options) as a new run") { cell, results, dryRun };
        command.SetAction(async (parse, _) =>
        {
            var args = RerunArguments(parse.GetValue(cell)!, parse.GetValue(results));
            stderr.WriteLine($"rerun: harness run {string.Join(' ', args.Select(Quote))}");
            if (parse.GetValue(dryRun)) { stdout.WriteLine($"harness run {string.Join(' ', args.Select(Quote))}"); return 0; }
            return await run(args);
        });
        return command;
    }

    private static string Quote(string arg) => arg.Length > 0 && arg.All(ch => char.IsAsciiLetterOrDigit(ch) || "-_./=,:+".Contains(ch)) ? arg : $"'{arg.Replace("'", "'\\''", StringComparison.Ordinal)}'";

    /// <summary>Options of a recorded run that name the matrix or the run's lifetime: the rerun sets its own.</summary>
    private static readonly string[] RunMatrixOptions = ["--fs", "--case", "--repeats", "--resume", "--budget", "--jobs", "--results"];

    /// <summary>Options `validate` and `run` share with the same meaning: machine, disk, folders.</summary>
    private static readonly string[] SharedWithRun =
        ["--cases-dir", "--kernels-dir", "--image-size", "--cache", "--agent", "--accel", "--backend", "--memory", "--cpus", "--boot-timeout", "--deadline", "--hung-task-timeout"];

    /// <summary>The `harness run` arguments that rerun the cell in <paramref name="cellFolder"/>.</summary>
    public static string[] RerunArguments(string cellFolder, string? resultsRoot)
    {
        var full = Path.GetFullPath(cellFolder).TrimEnd('/');
        InputException Problem(string message) => new(new InputProblem(cellFolder, 0, 0, "cell", message));
        if (!Directory.Exists(full)) throw Problem("no such folder; pass a cell folder, results/<run-id>/cells/<cell>");
        var cellsDir = Path.GetDirectoryName(full)!;
        if (Path.GetFileName(cellsDir) != "cells") throw Problem("is not a cell folder; pass results/<run-id>/cells/<cell>");
        var runFolder = Path.GetDirectoryName(cellsDir)!;
        var cellId = Path.GetFileName(full);
        try
        {
            if (File.Exists(Path.Combine(runFolder, "validation.json"))) return FromValidation(runFolder, cellId, full, resultsRoot, Problem);
            if (File.Exists(Path.Combine(runFolder, "run.json"))) return FromRun(runFolder, cellId, resultsRoot, Problem);
        }
        catch (RecordFormatException e)
        {
            throw new InputException(new InputProblem(e.RecordPath, 0, 0, "record", e.Message[(e.RecordPath.Length + 2)..]));
        }
        throw Problem($"{runFolder} holds no run.json or validation.json");
    }

    private static string[] FromRun(string runFolder, string cellId, string? resultsRoot, Func<string, InputException> problem)
    {
        var run = RunJournal.ReadRun(runFolder);
        var input = run.Inputs.FirstOrDefault(i => i.CellId == cellId) ?? throw problem($"run {run.RunId} planned no cell {cellId}");
        if (run.Arguments.Count == 0) throw problem($"run {run.RunId} was recorded without its arguments (format version 0); it cannot be rerun");
        CheckWorkingDirectory(run.WorkingDirectory, run.RunId, problem);
        CheckCase(input, problem);
        var args = Without(run.Arguments, RunMatrixOptions);
        args.AddRange(["--fs", input.Filesystem, "--case", input.CaseFile, "--repeats", input.Repeats.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        args.AddRange(["--results", resultsRoot ?? Path.GetDirectoryName(runFolder)!]);
        return args.ToArray();
    }

    private static string[] FromValidation(string folder, string cellId, string cellPath, string? resultsRoot, Func<string, InputException> problem)
    {
        var record = RecordFormat.Read<ValidationRecord>(Path.Combine(folder, "validation.json"));
        if (record.Arguments.Count == 0) throw problem($"validation {record.RunId} was recorded without its arguments; it cannot be rerun");
        CheckWorkingDirectory(record.WorkingDirectory, record.RunId, problem);
        var m = System.Text.RegularExpressions.Regex.Match(cellId, @"-(?<side>without|with|control)-look\d+-g\d+$");
        if (!m.Success) throw problem($"{cellId} is not a validate cell (<fs>-<case>-<side>-lookNN-gN)");
        var side = m.Groups["side"].Value;
        var cellFile = Path.Combine(cellPath, "cell.json");
        if (!File.Exists(cellFile)) throw problem("has no cell.json (the cell never finished); rerun the validation with 'harness validate --resume'");
        var input = RecordFormat.Read<CellResult>(cellFile).Input;
        CheckCase(input, problem);
        string? Value(string option)
        {
            var i = record.Arguments.ToList().IndexOf(option);
            return i >= 0 && i + 1 < record.Arguments.Count ? record.Arguments[i + 1] : null;
        }
        var args = new List<string> { "--machine", "qemu" };
        switch (side)
        {
            case "without":
                args.AddRange(["--kernel", Value("--kernel")!]);
                break;
            case "with" when Value("--with-kernel") is { } withKernel:
                args.AddRange(["--kernel", withKernel]);
                break;
            case "with":
                args.AddRange(["--kernel", Value("--kernel")!]);
                // A series: every --patch and --patch-range, in the order recorded.
                var series = record.Arguments.Select((a, i) => (a, i)).Where(x => x.a is "--patch" or "--patch-range" && x.i + 1 < record.Arguments.Count)
                    .SelectMany(x => new[] { x.a, record.Arguments[x.i + 1] }).ToArray();
                if (series.Length == 0) throw problem("the validation recorded neither --patch nor --with-kernel");
                args.AddRange(series);
                break;
            default:
                args.AddRange(["--kernel", Value("--control") ?? throw problem("the validation recorded no --control kernel")]);
                break;
        }
        var recorded = record.Arguments.ToList();
        for (var i = 0; i < recorded.Count; i++)
            if (SharedWithRun.Contains(recorded[i]) && i + 1 < recorded.Count)
                args.AddRange([recorded[i], recorded[++i]]);
        args.AddRange(["--fs", input.Filesystem, "--case", input.CaseFile, "--repeats", input.Repeats.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        args.AddRange(["--results", resultsRoot ?? Path.GetDirectoryName(folder)!]);
        return args.ToArray();
    }

    /// <summary>Recorded arguments may be relative to where the run started.</summary>
    private static void CheckWorkingDirectory(string? recorded, string runId, Func<string, InputException> problem)
    {
        if (recorded is { } cwd && Path.GetFullPath(cwd) != Path.GetFullPath(Environment.CurrentDirectory))
            throw problem($"{runId} was started in {cwd}, and its arguments may be relative to it; cd {cwd} and rerun from there");
    }

    /// <summary>A changed case file would run a different workload under the same name: refused.</summary>
    private static void CheckCase(CellInput input, Func<string, InputException> problem)
    {
        if (string.IsNullOrEmpty(input.CaseFile) || !File.Exists(input.CaseFile))
            throw problem($"its case file {input.CaseFile} is gone; the cell cannot be rerun as it was");
        var now = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(input.CaseFile)));
        if (now != input.CaseSha256)
            throw problem($"its case file {input.CaseFile} changed since the cell ran (sha256 {input.CaseSha256[..12]}…, now {now[..12]}…); restore it (git) to rerun the same cell");
    }

    /// <summary>The arguments without the given options and their values (`--fs a b`, `--fs=a` and `--fs a,b` alike).</summary>
    private static List<string> Without(IReadOnlyList<string> args, IReadOnlyCollection<string> options)
    {
        var kept = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i].Split('=')[0];
            if (!options.Contains(name)) { kept.Add(args[i]); continue; }
            if (args[i].Contains('=')) continue;
            // Skip the values: list options take several tokens, the rest one.
            while (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal)) { i++; if (name is not ("--fs" or "--case")) break; }
        }
        return kept;
    }
}
