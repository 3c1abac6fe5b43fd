// The command line: help everywhere, exit code 2 with a clear message on bad input, and exit
// codes that say what ran (an empty matrix or an interrupted run is never exit 0).
using System.Diagnostics;
using System.Text.Json;
using Harness.Cli;
using Harness.Tests.Support;
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.Cli;

public sealed class CliTests
{
    private static Task<(int Code, string Out, string Err)> Run(params string[] args) => InProcessCli.RunAsync(args);

    [Theory]
    [InlineData("--help")]
    [InlineData("run", "--help")]
    [InlineData("cases", "--help")]
    [InlineData("cases", "list", "--help")]
    [InlineData("cases", "show", "--help")]
    [InlineData("compare", "--help")]
    [InlineData("nightly", "--help")]
    public async Task Every_command_has_help(params string[] args)
    {
        var (code, output, _) = await Run(args);

        Assert.Equal(0, code);
        Assert.Contains("Usage:", output);
        Assert.Contains("Options:", output);
    }

    [Fact]
    public async Task Unknown_filesystem_is_a_usage_error_listing_valid_ones()
    {
        var (code, _, err) = await Run("run", "--fs", "ext4,zfs", "--cases-dir", RepoPaths.Cases);

        Assert.Equal(CliApp.ExitUsage, code);
        Assert.Contains("unknown filesystem 'zfs'; valid: ext4, xfs, btrfs, ocfs2, f2fs, ext2", err);
    }

    [Fact]
    public async Task Unknown_case_is_a_usage_error_listing_known_ones()
    {
        var (code, _, err) = await Run("run", "--case", "nope", "--cases-dir", RepoPaths.Cases);

        Assert.Equal(CliApp.ExitUsage, code);
        Assert.Contains("no case named 'nope'; known cases:", err);
        Assert.Contains("seed", err);
    }

    [Fact]
    public async Task Unknown_option_is_a_usage_error()
    {
        var (code, _, err) = await Run("run", "--bogus");

        Assert.Equal(CliApp.ExitUsage, code);
        Assert.Contains("--bogus", err);
    }

    [Fact]
    public async Task Cases_show_renders_the_validated_seed_case()
    {
        var (code, output, _) = await Run("cases", "show", "seed", "--cases-dir", RepoPaths.Cases);

        Assert.Equal(0, code);
        Snapshot.Match(output.Replace(RepoPaths.Root, "{repo}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cases_list_names_every_case()
    {
        var (code, output, _) = await Run("cases", "list", "--cases-dir", RepoPaths.Cases);

        Assert.Equal(0, code);
        foreach (var name in new[] { "seed", "generic-240", "random-sub-block", "unwritten-extents", "extending", "overlap" })
            Assert.Contains(name, output);
    }

    [Theory]
    [InlineData("--fs", ",")]
    [InlineData("--case", ",")]
    [InlineData("--case", " , ")]
    public async Task Empty_matrix_is_a_usage_error_naming_the_option(string option, string value)
    {
        var (code, output, err) = await Run("run", "--machine", "local", option, value, "--cases-dir", RepoPaths.Cases);

        Assert.Equal(CliApp.ExitUsage, code);
        Assert.Contains($"{option}: names no", err);
        Assert.DoesNotContain("results:", output);
    }

    [Fact]
    public async Task Two_case_files_with_one_name_are_an_input_error_naming_both_files()
    {
        using var dir = new TempFolder("dup-cases-");
        var seed = File.ReadAllText(Path.Combine(RepoPaths.Cases, "seed.yaml"));
        var first = Path.Combine(dir.Path, "a.yaml");
        var second = Path.Combine(dir.Path, "b.yaml");
        File.WriteAllText(first, seed);
        File.WriteAllText(second, seed.Replace("repeats: 3", "repeats: 1", StringComparison.Ordinal));

        var byPath = await Run("run", "--machine", "local", "--case", $"{first},{second}", "--results", dir.Path);
        var byName = await Run("run", "--machine", "local", "--case", "seed", "--cases-dir", dir.Path, "--results", dir.Path);

        foreach (var (code, _, err) in new[] { byPath, byName })
        {
            Assert.Equal(CliApp.ExitUsage, code);
            Assert.Contains("'seed' is also the name of", err);
            Assert.Contains("a.yaml", err);
            Assert.Contains("b.yaml", err);
        }
        Assert.Empty(Directory.GetDirectories(dir.Path)); // nothing ran
    }

    [Fact]
    public async Task Same_case_file_named_twice_runs_once()
    {
        var run = await Run("run", "--machine", "qemu", "--dir", "/tmp", "--case", $"seed,{Path.Combine(RepoPaths.Cases, "seed.yaml")}", "--cases-dir", RepoPaths.Cases);

        // Passes the case checks and stops at the next one (qemu has no --dir): not a duplicate-name error.
        Assert.Equal(CliApp.ExitUsage, run.Code);
        Assert.DoesNotContain("also the name of", run.Err);
        Assert.Contains("--dir and --fault work with --machine local only", run.Err);
    }

    [Fact]
    public async Task Dir_on_tmpfs_with_a_disagreeing_fs_is_an_input_error_naming_the_mounted_type()
    {
        using var dir = new TempFolder("dir-fs-", "/dev/shm");

        var (code, _, err) = await Run("run", "--machine", "local", "--dir", dir.Path, "--fs", "ext4", "--cases-dir", RepoPaths.Cases, "--results", dir.Path);

        Assert.Equal(CliApp.ExitUsage, code);
        Assert.Contains($"--dir {dir.Path} is on tmpfs (findmnt), not ext4", err);
    }

    [Fact]
    public async Task Dir_without_fs_names_the_cell_after_the_mounted_filesystem_and_records_it()
    {
        using var dir = new TempFolder("dir-fs-", "/dev/shm");
        using var results = new TempFolder("dir-results-");

        var (code, output, err) = await Run("run", "--machine", "local", "--dir", dir.Path, "--case", "generic-240", "--repeats", "1",
            "--cases-dir", RepoPaths.Cases, "--results", results.Path, "--agent", TestAgent.Binary.Path);

        var runJson = Directory.GetFiles(results.Path, "run.json", SearchOption.AllDirectories).Single();
        using var run = JsonDocument.Parse(File.ReadAllText(runJson));
        Assert.Equal("tmpfs", run.RootElement.GetProperty("mountedFilesystem").GetString());
        var cell = run.RootElement.GetProperty("cells").EnumerateArray().Single();
        Assert.Equal("tmpfs-generic-240", cell.GetProperty("input").GetProperty("cellId").GetString());
        Assert.Equal("tmpfs", cell.GetProperty("input").GetProperty("filesystem").GetString());
        Assert.Contains("tmpfs-generic-240", output);
        // Whatever tmpfs makes of O_DIRECT here, the exit code is the documented word for the outcome.
        var outcome = Enum.Parse<Outcome>(run.RootElement.GetProperty("outcome").GetString()!, ignoreCase: true);
        Assert.True(Outcomes.ExitCode(outcome) == code, $"exit {code} for {outcome}: {err}");
    }

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    [InlineData("HUP")]
    public async Task Interrupted_run_exits_130_keeps_finished_iterations_and_records_interrupted(string signal)
    {
        using var dir = new TempFolder("interrupt-dir-");
        using var results = new TempFolder("interrupt-results-");
        var harness = Path.Combine(AppContext.BaseDirectory, "harness");
        // Through `env --default-signal`: a test host started under nohup or as a background job of a script
        // hands its children SIGHUP/SIGINT ignored, and the harness rightly keeps an inherited ignore.
        var start = new ProcessStartInfo("env")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            ArgumentList = { "--default-signal=INT,HUP,TERM", harness, "run", "--machine", "local", "--dir", dir.Path, "--case", "seed", "--repeats", "500",
                "--cases-dir", RepoPaths.Cases, "--results", results.Path, "--agent", TestAgent.Binary.Path },
        };
        using var child = Process.Start(start)!;
        var stdout = child.StandardOutput.ReadToEndAsync();
        var firstIteration = new TaskCompletionSource();
        var stderr = new System.Text.StringBuilder();
        var reader = Task.Run(async () =>
        {
            while (await child.StandardError.ReadLineAsync() is { } line)
            {
                lock (stderr) stderr.AppendLine(line);
                if (line.Contains("iteration 1/500", StringComparison.Ordinal)) firstIteration.TrySetResult();
            }
        });

        await firstIteration.Task.WaitAsync(TimeSpan.FromSeconds(120));
        using (var kill = Process.Start("kill", ["-" + signal, child.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
        await child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        await reader;

        Assert.True(Outcomes.InterruptedExitCode == child.ExitCode, $"exit {child.ExitCode}\n{stderr}\n{await stdout}");
        using var run = JsonDocument.Parse(File.ReadAllText(Directory.GetFiles(results.Path, "run.json", SearchOption.AllDirectories).Single()));
        Assert.True(run.RootElement.GetProperty("interrupted").GetBoolean());
        Assert.NotEqual(JsonValueKind.Null, run.RootElement.GetProperty("outcome").ValueKind);
        Assert.NotEqual("pass", run.RootElement.GetProperty("outcome").GetString()); // 500 planned, fewer ran
        var cell = run.RootElement.GetProperty("cells").EnumerateArray().Single();
        Assert.True(cell.GetProperty("passed").GetInt32() >= 1);
        Assert.Contains("interrupted", await stdout);
        // The reports show what finished, interrupted or not.
        var report = File.ReadAllText(Path.Combine(Path.GetDirectoryName(Directory.GetFiles(results.Path, "run.json", SearchOption.AllDirectories).Single())!, "report.md"));
        Assert.Contains("**interrupted**", report);
    }

    /// <summary>A scratch folder, deleted with everything in it.</summary>
    private sealed class TempFolder(string prefix, string? parent = null) : IDisposable
    {
        public string Path { get; } = parent is null
            ? Directory.CreateTempSubdirectory(prefix).FullName
            : Directory.CreateDirectory(System.IO.Path.Combine(parent, prefix + Guid.NewGuid().ToString("N")[..8])).FullName;

        public void Dispose()
        {
            try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
        }
    }
}
