// `validate --resume` on the command line: bad input is exit 2 with one line naming the option or
// the record file and what to do; nothing is built or booted.
using Harness.Cli;
using Harness.Machines;
using Harness.Results;
using Harness.Validation;
using Harness.Verdicts;
using Harness.Tests.Support;
using Xunit;

namespace Harness.Tests.Cli;

public sealed class ValidateResumeCliTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("harness-vresume-cli-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static Task<(int Code, string Out, string Err)> Run(params string[] args) => InProcessCli.RunAsync(args);

    [Fact]
    public async Task Resume_refuses_other_options_beside_budget()
    {
        var folder = await ValidationFolderAsync(r => r);

        var (code, _, err) = await Run("validate", "--resume", folder, "--fs", "xfs");

        Assert.Equal(2, code);
        Assert.Contains("--fs cannot be changed when resuming", err);
        Assert.Contains(folder, err);
    }

    [Fact]
    public async Task Resume_of_a_record_from_a_newer_harness_names_the_file_and_the_versions()
    {
        var folder = await ValidationFolderAsync(r => r with { FormatVersion = RecordFormat.Current + 1 });

        var (code, _, err) = await Run("validate", "--resume", folder);

        Assert.Equal(2, code);
        Assert.Contains(Path.Combine(folder, "validation.json"), err);
        Assert.Contains($"format version {RecordFormat.Current + 1}", err);
    }

    [Fact]
    public async Task Resume_of_a_finished_validation_says_there_is_nothing_to_resume()
    {
        var folder = await ValidationFolderAsync(r => r with { Finished = DateTimeOffset.UnixEpoch, Interrupted = false });

        var (code, _, err) = await Run("validate", "--resume", folder);

        Assert.Equal(2, code);
        Assert.Contains("finished", err);
        Assert.Contains("nothing to resume", err);
    }

    [Fact]
    public async Task Resume_of_a_validation_recorded_without_its_arguments_says_it_cannot_be_resumed()
    {
        var folder = await ValidationFolderAsync(r => r with { Arguments = [] });

        var (code, _, err) = await Run("validate", "--resume", folder);

        Assert.Equal(2, code);
        Assert.Contains("without its arguments", err);
    }

    [Fact]
    public async Task Resume_of_a_live_validation_is_refused()
    {
        var folder = await ValidationFolderAsync(r => r);
        // This test process holds the lock: a live owner.
        await Harness.Runs.RunLock.TakeAsync("v", Path.Combine(_root, "work", "v"), folder, TimeProvider.System, CancellationToken.None);

        var (code, _, err) = await Run("validate", "--resume", folder);

        Assert.Equal(2, code);
        Assert.Contains("is still running", err);
    }

    [Fact]
    public async Task Resume_reparses_the_recorded_arguments_so_their_problems_are_named()
    {
        // The recorded --patch file is gone: the resumed validation's own arguments are what is checked.
        var folder = await ValidationFolderAsync(r => r);

        var (code, _, err) = await Run("validate", "--resume", folder);

        Assert.Equal(2, code);
        Assert.Contains(Path.Combine(_root, "gone.patch"), err);
        Assert.Contains("no such patch file", err);
    }

    [Fact]
    public async Task Resume_of_a_folder_without_validation_json_says_what_to_pass()
    {
        var (code, _, err) = await Run("validate", "--resume", _root);

        Assert.Equal(2, code);
        Assert.Contains("no validation.json here", err);
    }

    [Fact]
    public async Task Validate_without_kernel_or_resume_names_the_missing_option()
    {
        var (code, _, err) = await Run("validate", "--patch", "x.patch");

        Assert.Equal(2, code);
        Assert.Contains("--kernel <spec> is required", err);
    }

    /// <summary>An interrupted validation's folder, as a killed process leaves it after `cache release`.</summary>
    private async Task<string> ValidationFolderAsync(Func<ValidationRecord, ValidationRecord> edit)
    {
        var folder = new ResultStore(Path.Combine(_root, "results")).Create("20261126-210000-validate-1");
        var record = new ValidationRecord(folder.Id, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, "harness validate",
            [new KernelDescription("without", "k", "6.1", "scripted")], new MachineFacts("qemu", "6.1", 2, "test"), new VerdictPolicy(), [], Interrupted: true)
        {
            Arguments = ["--kernel", "linux-6.1", "--patch", Path.Combine(_root, "gone.patch"), "--results", Path.Combine(_root, "results"), "--cache", Path.Combine(_root, "cache")],
            WorkingDirectory = Environment.CurrentDirectory,
        };
        await AtomicFile.WriteJsonAsync(Path.Combine(folder.Path, "validation.json"), edit(record), CancellationToken.None);
        return folder.Path;
    }
}
