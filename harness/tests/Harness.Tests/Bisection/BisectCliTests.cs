// `harness bisect` and `harness bisect test` through the CLI on a real (throwaway) git tree, with a
// fake step runner in place of build + boot + run: the culprit named and logged in bisect.json, git's
// own bisection driven by the oracle's exit codes, and the input errors that must abort git (≥ 128).
using Harness.Bisection;
using Harness.Cli;
using Harness.Results;
using Harness.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Harness.Tests.Bisection;

public sealed class BisectCliTests(ITestOutputHelper log) : IDisposable
{
    private readonly TempGitTree _tree = new(12);

    private readonly string _scratch = Directory.CreateTempSubdirectory("harness-bisect-cli-").FullName;

    public void Dispose()
    {
        _tree.Dispose();
        Directory.Delete(_scratch, recursive: true);
    }

    private async Task<(int Code, string Out, string Err)> Harness(IBisectStepRunner runner, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var app = new CliApp(stdout, stderr, TimeProvider.System) { BisectRunnerFactory = (_, _) => Task.FromResult(runner) };
        string[] common = ["--tree", _tree.Path, "--cases-dir", RepoPaths.Cases, "--results", Path.Combine(_scratch, "results"), "--cache", Path.Combine(_scratch, "cache")];
        var code = await app.RunAsync([.. args, .. common], CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Bisect_names_the_flaky_culprit_and_logs_every_step_in_bisect_json()
    {
        var history = new FakeHistory(_tree.Shas, culprit: 7, rate: 0.4, seed: 3);

        var (code, output, error) = await Harness(history, "bisect", "--good", _tree.Shas[0], "--bad", "main", "--probability", "0.99");

        log.WriteLine(output);
        Assert.True(code == 0, $"exit {code}: {error}\n{output}");
        Assert.Contains("CULPRIT: first bad commit " + _tree.Shas[7][..12] + " c7", output);
        var path = output.Split('\n').Single(l => l.StartsWith("results: ", StringComparison.Ordinal))["results: ".Length..].Trim();
        var record = RecordFormat.Read<BisectRecord>(path);
        Assert.Equal(RecordFormat.Current, record.FormatVersion);
        Assert.Equal(BisectionEnd.Culprit, record.End);
        Assert.Equal(_tree.Shas[7], record.Culprit!.Sha);
        Assert.True(record.Culprit.Probability >= 0.99);
        Assert.True(record.Culprit.Runs.Failures > 0 && record.Culprit.ParentRuns.Failures == 0 && record.Culprit.ParentRuns.Runs > 0);
        Assert.Equal(history.Steps.Count, record.Steps.Count);
        Assert.Equal(history.Steps.Sum(s => s.Runs), record.RunsUsed);
        Assert.All(record.Steps, s => Assert.Equal(_tree.Shas[s.Commit], s.Sha));
        Assert.Equal(13, record.Commits.Count);
        // The user's tree was only read: still on main, clean.
        Assert.Equal(_tree.Shas[^1], _tree.Git("rev-parse", "HEAD").Trim());
        Assert.Equal("", _tree.Git("status", "--porcelain"));
    }

    [Fact]
    public async Task Bisect_test_drives_gits_own_bisection_to_the_flaky_culprit()
    {
        var history = new FakeHistory(_tree.Shas, culprit: 5, rate: 0.5, seed: 11);
        var state = Path.Combine(_scratch, "state.json");
        _tree.Git("bisect", "start", _tree.Shas[^1], _tree.Shas[0]);
        var answers = new List<int>();
        string? firstBad = null;
        for (var call = 0; call < 20 && firstBad is null; call++)
        {
            var (code, output, error) = await Harness(history, "bisect", "test", "--state", state, "--good", _tree.Shas[0], "--bad", _tree.Shas[^1]);
            Assert.True(code is 0 or 1 or 125, $"exit {code}: {error}\n{output}");
            answers.Add(code);
            var said = _tree.Git("bisect", code switch { 0 => "good", 1 => "bad", _ => "skip" });
            if (said.Contains("is the first bad commit", StringComparison.Ordinal)) firstBad = said.Split(' ')[0];
        }
        _tree.Git("bisect", "reset");

        Assert.Equal(_tree.Shas[5], firstBad);
        Assert.Contains(0, answers);
        Assert.Contains(1, answers);
        var recorded = RecordFormat.Read<BisectOracleState>(state);
        Assert.Equal(answers.Count, recorded.Calls.Count);
        Assert.Equal(answers, recorded.Calls.Select(c => c.ExitCode));
    }

    [Fact]
    public async Task Bisect_test_skips_a_commit_that_does_not_build_with_125()
    {
        var history = new FakeHistory(_tree.Shas, culprit: 5, rate: 1);
        history.Unbuildable.Add(6);
        _tree.Git("checkout", "-q", _tree.Shas[6]);

        var (code, output, _) = await Harness(history, "bisect", "test", "--state", Path.Combine(_scratch, "s.json"), "--good", _tree.Shas[0], "--bad", _tree.Shas[^1]);

        Assert.Equal(125, code);
        Assert.Contains("skip (exit 125): cannot be built", output);
    }

    [Fact]
    public async Task Bisect_test_input_errors_abort_git_with_128()
    {
        var history = new FakeHistory(_tree.Shas, culprit: 5, rate: 1);
        var state = Path.Combine(_scratch, "s.json");

        var noGood = await Harness(history, "bisect", "test", "--state", state, "--bad", "main");
        var noState = await Harness(history, "bisect", "test", "--good", _tree.Shas[0]);
        var reversed = await Harness(history, "bisect", "test", "--state", state, "--good", "main", "--bad", _tree.Shas[0]);
        var started = await Harness(history, "bisect", "test", "--state", state, "--good", _tree.Shas[0], "--bad", "main");
        var otherFs = await Harness(history, "bisect", "test", "--state", state, "--fs", "xfs");

        Assert.Equal(128, noGood.Code);
        Assert.Contains("the first call needs --good and --bad", noGood.Err);
        Assert.Equal(128, noState.Code);
        Assert.Equal(128, reversed.Code);
        Assert.Contains("is not an ancestor of --bad", reversed.Err);
        Assert.Equal(1, started.Code);   // HEAD is main, the --bad commit
        Assert.Equal(128, otherFs.Code);
        Assert.Contains("the state was started with --fs ext4, this call has xfs", otherFs.Err);
    }

    [Fact]
    public async Task Bisect_kernel_series_walks_apts_versions_to_the_fake_first_bad_one()
    {
        var versions = await PackageSeries.ResolveAsync("linux-image-6.1.0-*-cloud-amd64-unsigned", CancellationToken.None);
        var history = new FakeHistory(versions.Select(v => v.Sha).ToArray(), culprit: versions.Count - 2, rate: 0.6, seed: 2);
        var kernels = Path.Combine(RepoPaths.Root, "kernels");

        var walk = await Harness(history, "bisect", "--kernel-series", "debian-6.1-cloud", "--kernels-dir", kernels);
        var local = Path.Combine(_scratch, "local.yaml");
        await File.WriteAllTextAsync(local, "name: local\ndescription: a kernel on disk\nsource:\n  bzimage: /boot/vmlinuz\n");
        var notPackages = await Harness(history, "bisect", "--kernel-series", local, "--kernels-dir", kernels);

        Assert.True(walk.Code == 0, $"exit {walk.Code}: {walk.Err}\n{walk.Out}");
        Assert.Contains($"CULPRIT: first bad commit {versions[^2].Sha} with probability", walk.Out);
        Assert.Equal(2, notPackages.Code);
        Assert.Contains("is not a Debian package pattern (debian-package:) or source package (debian-source:)", notPackages.Err);
    }

    [Fact]
    public async Task Bisect_usage_errors_are_exit_2_and_a_bad_that_never_fails_is_exit_5()
    {
        var never = new FakeHistory(_tree.Shas, culprit: 99, rate: 1);

        var missing = await Harness(never, "bisect", "--good", _tree.Shas[0]);
        var badRef = await Harness(never, "bisect", "--good", "no-such-ref", "--bad", "main");
        var probability = await Harness(never, "bisect", "--good", _tree.Shas[0], "--bad", "main", "--probability", "1.5");
        var notReproduced = await Harness(never, "bisect", "--good", _tree.Shas[0], "--bad", "main");

        Assert.Equal(2, missing.Code);
        Assert.Contains("--bad <ref> is required", missing.Err);
        Assert.Equal(2, badRef.Code);
        Assert.Contains("'no-such-ref' names no commit", badRef.Err);
        Assert.Equal(2, probability.Code);
        Assert.Equal(5, notReproduced.Code);
        Assert.Contains("NOT REPRODUCED: --bad never failed in 50 counted runs", notReproduced.Out);
    }
}
