// `harness report` and `harness rerun` on the command line: what they write, their input errors,
// and a rerun on the host kernel that reproduces the recorded cell (same filesystem, case, seed,
// fault and repeats) as a new run that also carries its reports.
using System.Text.Json;
using Harness.Cli;
using Harness.Reports;
using Harness.Results;
using Harness.Tests.Support;
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.Reports;

public sealed class ReportCliTests
{
    private static Task<(int Code, string Out, string Err)> Run(params string[] args) => InProcessCli.RunAsync(args);

    [Theory]
    [InlineData("report", "--help")]
    [InlineData("rerun", "--help")]
    public async Task Report_commands_have_help(params string[] args)
    {
        var (code, output, _) = await Run(args);
        Assert.Equal(0, code);
        Assert.Contains("Usage:", output);
    }

    [Fact]
    public async Task Report_regenerates_every_file_from_the_records_and_kcidb_on_request()
    {
        using var fixture = new ReportFixture(ReportFixture.FaultRun);

        var (code, output, err) = await Run("report", fixture.Folder, "--kcidb", "--origin", "harness_ci");

        Assert.True(code == 0, err);
        Assert.StartsWith($"run {ReportFixture.FaultRun}: FAIL", output, StringComparison.Ordinal);
        foreach (var name in new[] { ReportWriter.Markdown, ReportWriter.Html, ReportWriter.Junit, ReportWriter.Kcidb })
            Assert.True(File.Exists(Path.Combine(fixture.Folder, name)), name);
        Assert.Empty(JunitRules.Check(File.ReadAllText(Path.Combine(fixture.Folder, ReportWriter.Junit))));
        Assert.Empty(KcidbRules.Check(File.ReadAllText(Path.Combine(fixture.Folder, ReportWriter.Kcidb))));
        Assert.Empty(Directory.GetFiles(fixture.Folder, "*.tmp-*"));
    }

    [Theory]
    [InlineData("--kcidb", null, "--kcidb: needs --origin NAME")]
    [InlineData("--origin", "lab", "--origin: only means something with --kcidb")]
    [InlineData("--expect", "works", "--expect: 'works' is no verdict; valid: fixes, regresses, no-change, not-reproduced, inconclusive")]
    public async Task Report_option_errors_name_the_option(string option, string? value, string expected)
    {
        using var fixture = new ReportFixture(ReportFixture.FaultRun);
        var (code, _, err) = await Run(value is null ? ["report", fixture.Folder, option] : ["report", fixture.Folder, option, value]);
        Assert.Equal(CliApp.ExitUsage, code);
        Assert.Contains(expected, err);
        Assert.False(File.Exists(Path.Combine(fixture.Folder, ReportWriter.Markdown)));
    }

    [Fact]
    public async Task Report_of_a_folder_without_records_is_an_input_error()
    {
        using var fixture = new ReportFixture(ReportFixture.FaultRun);
        var (missing, _, errMissing) = await Run("report", Path.Combine(fixture.Root, "nothing"));
        var (empty, _, errEmpty) = await Run("report", fixture.Root);
        Assert.Equal((CliApp.ExitUsage, CliApp.ExitUsage), (missing, empty));
        Assert.Contains("no such folder", errMissing);
        Assert.Contains("holds no run.json or validation.json", errEmpty);
    }

    [Fact]
    public async Task A_broken_record_is_named_with_its_file()
    {
        using var fixture = new ReportFixture(ReportFixture.FaultRun);
        var cell = Path.Combine(fixture.Folder, "cells", "xfs-seed", "iteration-001.json");
        File.WriteAllText(cell, "{ \"cellId\": ");
        var (code, _, err) = await Run("report", fixture.Folder);
        Assert.Equal(CliApp.ExitUsage, code);
        Assert.Contains("iteration-001.json", err);
    }

    /// <summary>A copy of the fault run whose records point at this machine: cwd and an absolute case file.</summary>
    private static ReportFixture RunHere(out string caseFile)
    {
        var fixture = new ReportFixture(ReportFixture.FaultRun);
        caseFile = Path.Combine(RepoPaths.Cases, "seed.yaml");
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(caseFile)));
        var run = RunJournal.ReadRun(fixture.Folder);
        var file = caseFile;
        var inputs = run.Inputs.Select(i => i with { CaseFile = file, CaseSha256 = sha }).ToArray();
        File.WriteAllText(Path.Combine(fixture.Folder, "run.json"), JsonSerializer.Serialize(run with { Inputs = inputs, WorkingDirectory = Environment.CurrentDirectory }, ResultStore.Json));
        return fixture;
    }

    [Fact]
    public void Rerun_arguments_are_the_recorded_run_narrowed_to_the_cell()
    {
        using var fixture = RunHere(out var caseFile);

        var args = ReportCommand.RerunArguments(Path.Combine(fixture.Folder, "cells", "xfs-seed"), null);

        // Recorded: --machine local --fs ext4,xfs --case seed --repeats 2 --fault zero-sub-block --results /tmp/fixture --agent <aot>
        Assert.Equal(["--machine", "local", "--fault", "zero-sub-block", "--agent", "/work/main/.cache/agent/harness-agent",
            "--fs", "xfs", "--case", caseFile, "--repeats", "2", "--results", Path.Combine(fixture.Root, "results")], args);
    }

    [Theory]
    [InlineData("ocfs2-seed-without-look01-g1", new[] { "--kernel", "linux-6.1-ocfs2-race" })]
    [InlineData("ocfs2-seed-with-look01-g2", new[] { "--kernel", "linux-6.1-ocfs2-race", "--patch", "kernels/patches/direct-io-serialise-sub-block-zeroing.patch" })]
    [InlineData("ocfs2-seed-control-look01-g1", new[] { "--kernel", "linux-6.1" })]
    public void Rerun_of_a_validate_cell_boots_that_side_s_kernel_with_the_validation_s_machine_options(string cellId, string[] kernel)
    {
        using var fixture = new ReportFixture(ReportFixture.Validation);
        var caseFile = Path.Combine(RepoPaths.Cases, "seed.yaml");
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(caseFile)));
        var cellJson = Path.Combine(fixture.Folder, "cells", cellId, "cell.json");
        var cell = RecordFormat.Read<CellResult>(cellJson);
        File.WriteAllText(cellJson, JsonSerializer.Serialize(cell with { Input = cell.Input with { CaseFile = caseFile, CaseSha256 = sha } }, ResultStore.Json));
        var validationJson = Path.Combine(fixture.Folder, "validation.json");
        var validation = RecordFormat.Read<Harness.Validation.ValidationRecord>(validationJson);
        // The fixture was recorded before validate kept its arguments (format 0): such a record cannot be rerun.
        var old = Assert.Throws<Harness.Yaml.InputException>(() => ReportCommand.RerunArguments(Path.Combine(fixture.Folder, "cells", cellId), null));
        Assert.Contains("recorded without its arguments", old.Message);
        string[] recorded = ["--kernel", "linux-6.1-ocfs2-race", "--patch", "kernels/patches/direct-io-serialise-sub-block-zeroing.patch", "--control", "linux-6.1",
            "--fs", "ocfs2", "--case", "seed", "--batch", "20", "--max-repeats", "200", "--accel", "tcg", "--boot-timeout", "300s", "--results", "results"];
        File.WriteAllText(validationJson, JsonSerializer.Serialize(validation with { WorkingDirectory = Environment.CurrentDirectory, Arguments = recorded }, ResultStore.Json));

        var args = ReportCommand.RerunArguments(Path.Combine(fixture.Folder, "cells", cellId), "elsewhere");

        Assert.Equal(["--machine", "qemu", .. kernel, "--accel", "tcg", "--boot-timeout", "300s", "--fs", "ocfs2", "--case", caseFile, "--repeats", "10", "--results", "elsewhere"], args);
    }

    [Fact]
    public void Rerun_of_a_patched_cell_passes_the_whole_series_on_in_order()
    {
        using var fixture = new ReportFixture(ReportFixture.Validation);
        const string cellId = "ocfs2-seed-with-look01-g2";
        var caseFile = Path.Combine(RepoPaths.Cases, "seed.yaml");
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(caseFile)));
        var cellJson = Path.Combine(fixture.Folder, "cells", cellId, "cell.json");
        var cell = RecordFormat.Read<CellResult>(cellJson);
        File.WriteAllText(cellJson, JsonSerializer.Serialize(cell with { Input = cell.Input with { CaseFile = caseFile, CaseSha256 = sha } }, ResultStore.Json));
        var validationJson = Path.Combine(fixture.Folder, "validation.json");
        var validation = RecordFormat.Read<Harness.Validation.ValidationRecord>(validationJson);
        string[] recorded = ["--kernel", "linux-6.1-ocfs2-race", "--patch", "a.patch,b.patch", "--fs", "ocfs2", "--patch", "thread.mbox", "--patch-range", "/src/linux:v6.1..fix", "--accel", "tcg"];
        File.WriteAllText(validationJson, JsonSerializer.Serialize(validation with { WorkingDirectory = Environment.CurrentDirectory, Arguments = recorded }, ResultStore.Json));

        var args = ReportCommand.RerunArguments(Path.Combine(fixture.Folder, "cells", cellId), "elsewhere");

        Assert.Equal(["--machine", "qemu", "--kernel", "linux-6.1-ocfs2-race", "--patch", "a.patch,b.patch", "--patch", "thread.mbox", "--patch-range", "/src/linux:v6.1..fix",
            "--accel", "tcg", "--fs", "ocfs2", "--case", caseFile, "--repeats", "10", "--results", "elsewhere"], args);
    }

    [Fact]
    public void Rerun_refuses_a_changed_case_file_and_another_working_directory()
    {
        using var fixture = RunHere(out _);
        var run = RunJournal.ReadRun(fixture.Folder);
        File.WriteAllText(Path.Combine(fixture.Folder, "run.json"), JsonSerializer.Serialize(run with { Inputs = run.Inputs.Select(i => i with { CaseSha256 = new string('0', 64) }).ToArray() }, ResultStore.Json));
        var changed = Assert.Throws<Harness.Yaml.InputException>(() => ReportCommand.RerunArguments(Path.Combine(fixture.Folder, "cells", "xfs-seed"), null));
        Assert.Contains("changed since the cell ran", changed.Message);

        File.WriteAllText(Path.Combine(fixture.Folder, "run.json"), JsonSerializer.Serialize(run with { WorkingDirectory = "/somewhere/else" }, ResultStore.Json));
        var moved = Assert.Throws<Harness.Yaml.InputException>(() => ReportCommand.RerunArguments(Path.Combine(fixture.Folder, "cells", "xfs-seed"), null));
        Assert.Contains("cd /somewhere/else and rerun from there", moved.Message);

        var notCell = Assert.Throws<Harness.Yaml.InputException>(() => ReportCommand.RerunArguments(fixture.Folder, null));
        Assert.Contains("is not a cell folder", notCell.Message);
    }

    [Fact]
    public async Task Rerun_of_a_failing_cell_on_the_host_kernel_reproduces_it_as_a_new_run_with_reports()
    {
        Assert.True(Environment.IsPrivilegedProcess, "end-to-end tests on the host kernel need root (loop mounts); run `make test` as root");
        var scratch = Directory.CreateTempSubdirectory("harness-rerun-").FullName;
        try
        {
            var results = Path.Combine(scratch, "results");
            string[] common = ["--cases-dir", RepoPaths.Cases, "--cache", Path.Combine(scratch, "cache"), "--agent", TestAgent.Binary.Path];
            var (first, firstOut, firstErr) = await Run(["run", "--machine", "local", "--fs", "ext4", "--case", "seed", "--repeats", "1", "--fault", "zero-sub-block", "--results", results, .. common]);
            Assert.True(first == 1, firstErr);
            Assert.Contains("reports: report.md, report.html, junit.xml", firstOut);
            var original = Directory.GetDirectories(results).Single();

            var (code, output, err) = await Run("rerun", Path.Combine(original, "cells", "ext4-seed"));

            Assert.True(code == 1, $"{output}\n{err}");
            var rerun = Directory.GetDirectories(results).Single(d => d != original);
            var was = RunJournal.ReadRun(original).Cells.Single();
            var now = RunJournal.ReadRun(rerun).Cells.Single();
            Assert.Equal((was.Input.CellId, was.Input.Seed, was.Input.CaseSha256, was.Input.Repeats), (now.Input.CellId, now.Input.Seed, now.Input.CaseSha256, now.Input.Repeats));
            Assert.Equal(Outcome.Fail, now.Outcome);
            Assert.Equal(was.FindingsByClass, now.FindingsByClass);
            var iteration = RunJournal.ReadIterations(new RunFolder(rerun), "ext4-seed").Single();
            Assert.Equal(8191, iteration.IoCount);
            Assert.Equal(0, iteration.IoErrors);
            Assert.All(iteration.Passes, p => Assert.Equal(65536, p.SectorsChecked));
            foreach (var name in new[] { ReportWriter.Markdown, ReportWriter.Html, ReportWriter.Junit })
                Assert.True(File.Exists(Path.Combine(rerun, name)), name);
            Assert.Contains("rerun: harness run --machine local --fault zero-sub-block", err);
            Assert.Contains("--fs ext4 --case", err);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }
}
