// The built `harness` binary as a user runs it: a separate process, its own exit code and
// output. For what only a real process shows: two harnesses on one cache, leaks after exit.
using CliWrap;
using CliWrap.Buffered;

namespace Harness.Tests.Support;

public sealed record HarnessResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

public static class HarnessProcess
{
    /// <summary>harness/src/Harness.Cli/bin/&lt;config&gt;/net10.0/harness, of the configuration the tests were built in.</summary>
    public static string Binary
    {
        get
        {
            var config = AppContext.BaseDirectory.Contains("/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";
            var path = Path.Combine(RepoPaths.Root, "harness", "src", "Harness.Cli", "bin", config, "net10.0", "harness");
            return File.Exists(path) ? path : throw new InvalidOperationException($"no harness binary at {path}: build the solution first");
        }
    }

    /// <summary>Starts the binary in the repository root (for cases/ and kernels/); <paramref name="cache"/> becomes HARNESS_CACHE.</summary>
    public static Command Command(IReadOnlyList<string> args, string cache) =>
        CliWrap.Cli.Wrap(Binary).WithArguments(args).WithWorkingDirectory(RepoPaths.Root)
            .WithEnvironmentVariables(e => e.Set("HARNESS_CACHE", cache))
            .WithValidation(CommandResultValidation.None);

    public static async Task<HarnessResult> RunAsync(IReadOnlyList<string> args, string cache, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        var result = await Command(args, cache).ExecuteBufferedAsync(cancel.Token);
        return new HarnessResult(result.ExitCode, result.StandardOutput, result.StandardError);
    }
}
