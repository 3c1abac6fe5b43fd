// A fake kernel history for the bisect drivers: commits at and after the culprit fail each run with
// rate q (seeded), commits listed as unbuildable fail to build, and every step is recorded.
using Harness.Bisection;
using Harness.Results;

namespace Harness.Tests.Bisection;

internal sealed class FakeHistory(IReadOnlyList<string> shas, int culprit, double rate, int seed = 1) : IBisectStepRunner
{
    private readonly Random _random = new(seed);

    public HashSet<int> Unbuildable { get; } = [];
    public List<(int Index, int Runs)> Steps { get; } = [];

    public Task<StepResult> RunAsync(RunFolder folder, BisectCommit commit, int step, int runs, CancellationToken cancellationToken)
    {
        var index = shas.ToList().IndexOf(commit.Sha);
        if (index < 0) throw new InvalidOperationException($"{commit.Sha} is not in the fake history");
        Steps.Add((index, runs));
        if (Unbuildable.Contains(index)) return Task.FromResult(StepResult.BuildFailed("make exited 2 (fake)"));
        var failures = 0;
        for (var i = 0; i < runs; i++)
            if (index >= culprit && _random.NextDouble() < rate) failures++;
        return Task.FromResult(new StepResult(failures, runs, 0) { Builds = 1, Boots = 1, Detail = "fake" });
    }
}

/// <summary>A throwaway git repository with a line of commits (c0 … cN), each touching one leaf file.</summary>
internal sealed class TempGitTree : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("harness-bisect-tree-").FullName;
    public List<string> Shas { get; } = [];

    public TempGitTree(int commits)
    {
        Git("init", "-q", "-b", "main");
        for (var i = 0; i <= commits; i++)
        {
            File.WriteAllText(System.IO.Path.Combine(Path, $"leaf{i % 3}.c"), $"int v{i};\n");
            Git("add", "-A");
            Git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", $"c{i}");
            Shas.Add(Git("rev-parse", "HEAD").Trim());
        }
    }

    public string Git(params string[] args)
    {
        var info = new System.Diagnostics.ProcessStartInfo("git") { WorkingDirectory = Path, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = System.Diagnostics.Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"git {string.Join(' ', args)}: {error}");
        return output;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
