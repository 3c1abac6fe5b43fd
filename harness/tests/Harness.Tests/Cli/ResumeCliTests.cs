// --resume and --budget on the command line: bad input is exit 2 with one line naming the
// option or the record file and what to do; nothing runs.
using Harness.Cli;
using Harness.Machines;
using Harness.Results;
using Harness.Tests.Support;
using Xunit;

namespace Harness.Tests.Cli;

public sealed class ResumeCliTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("harness-resume-cli-").FullName;

    private readonly string _dir = Directory.CreateDirectory(Path.Combine("/dev/shm", "harness-resume-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    public void Dispose()
    {
        Directory.Delete(_root, recursive: true);
        Directory.Delete(_dir, recursive: true);
    }

    private static Task<(int Code, string Out, string Err)> Run(params string[] args) => InProcessCli.RunAsync(args);

    [Theory]
    [InlineData("--budget", "10x", "not a duration")]
    [InlineData("--budget", "0", "not a duration")]
    [InlineData("--boot-timeout", "soon", "not a duration")]
    [InlineData("--deadline", "-1", "not a duration")]
    [InlineData("--hung-task-timeout", "3s", "too short; at least 5s")]
    public async Task A_bad_time_is_a_usage_error_naming_the_option_and_the_spellings(string option, string value, string expected)
    {
        var (code, _, err) = await Run("run", option, value, "--cases-dir", RepoPaths.Cases);

        Assert.Equal(2, code);
        Assert.Contains(option, err);
        Assert.Contains(expected, err);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public async Task Resume_refuses_other_options_beside_budget()
    {
        var folder = await RunFolderAsync(r => r);

        var (code, _, err) = await Run("run", "--resume", folder, "--fs", "xfs");

        Assert.Equal(2, code);
        Assert.Contains("--fs cannot be changed when resuming", err);
    }

    [Fact]
    public async Task Resume_of_a_record_from_a_newer_harness_names_the_file_and_the_versions()
    {
        var folder = await RunFolderAsync(r => r with { FormatVersion = RecordFormat.Current + 1 });

        var (code, _, err) = await Run("run", "--resume", folder);

        Assert.Equal(2, code);
        Assert.Contains(Path.Combine(folder, "run.json"), err);
        Assert.Contains($"format version {RecordFormat.Current + 1}", err);
    }

    [Fact]
    public async Task Resume_of_a_run_recorded_without_its_arguments_says_it_cannot_be_resumed()
    {
        var folder = await RunFolderAsync(r => r with { Arguments = [] });

        var (code, _, err) = await Run("run", "--resume", folder);

        Assert.Equal(2, code);
        Assert.Contains("without its arguments", err);
    }

    [Fact]
    public async Task Resume_refuses_a_matrix_that_changed_since_the_run_started()
    {
        // The recorded case digest differs from the case file now: the finished part and the rest would be two runs.
        var folder = await RunFolderAsync(r => r);

        var (code, _, err) = await Run("run", "--resume", folder);

        Assert.True(code == 2, err);
        Assert.Contains("the matrix changed", err);
        Assert.Contains("tmpfs-generic-240", err);
    }

    /// <summary>An interrupted --dir run's folder, as a killed process leaves it.</summary>
    private async Task<string> RunFolderAsync(Func<RunRecord, RunRecord> edit)
    {
        var folder = new ResultStore(Path.Combine(_root, "results")).Create("20261126-210000-local-1");
        var input = new CellInput("tmpfs-generic-240", "tmpfs", "generic-240", Path.Combine(RepoPaths.Cases, "generic-240.yaml"), "0000", 240, 1);
        var record = new RunRecord(folder.Id, DateTimeOffset.UnixEpoch, null, "harness run", "0", "10", "6.1",
            new MachineFacts("local", "6.1", 2, "dir"), [input], [], null, false)
        {
            Arguments = ["--machine", "local", "--dir", _dir, "--case", "generic-240", "--repeats", "1", "--cases-dir", RepoPaths.Cases,
                "--results", Path.Combine(_root, "results"), "--cache", Path.Combine(_root, "cache"), "--agent", TestAgent.Binary.Path],
            WorkingDirectory = Environment.CurrentDirectory,
        };
        await folder.WriteRunAsync(edit(record), CancellationToken.None);
        return folder.Path;
    }
}

