// Runs the agent as its own process on the host, as it runs on its own in a guest:
// request file in, report file out.
using System.Text.Json;
using CliWrap;
using CliWrap.Buffered;
using Harness.Workload;

namespace Harness.Machines;

/// <summary>Where the agent binary is and how to start it.</summary>
public sealed record AgentBinary(string Path)
{
    /// <summary>The agent built beside this harness (framework-dependent apphost), unless overridden.</summary>
    public static AgentBinary Default(string? overridePath) =>
        new(overridePath ?? Environment.GetEnvironmentVariable("HARNESS_AGENT") ?? System.IO.Path.Combine(AppContext.BaseDirectory, "harness-agent"));

    public async Task<AgentReport> RunAsync(AgentRequest request, string scratchDirectory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(scratchDirectory);
        var requestPath = System.IO.Path.Combine(scratchDirectory, $"request-{request.Iteration}-{request.Phase}.json".ToLowerInvariant());
        var reportPath = System.IO.Path.Combine(scratchDirectory, $"report-{request.Iteration}-{request.Phase}.json".ToLowerInvariant());
        File.Delete(reportPath);
        await File.WriteAllTextAsync(requestPath, JsonSerializer.Serialize(request, AgentJsonContext.Default.AgentRequest), cancellationToken);

        var command = Path.EndsWith(".dll", StringComparison.Ordinal)
            ? Cli.Wrap("dotnet").WithArguments([Path, "run", "--request", requestPath, "--report", reportPath])
            : Cli.Wrap(Path).WithArguments(["run", "--request", requestPath, "--report", reportPath]);
        if (!File.Exists(Path))
            throw new MachineException($"agent binary not found at {Path} (build the solution, or pass --agent / set HARNESS_AGENT)");
        var result = await command.WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(cancellationToken);

        if (File.Exists(reportPath))
        {
            var report = JsonSerializer.Deserialize(await File.ReadAllTextAsync(reportPath, cancellationToken), AgentJsonContext.Default.AgentReport);
            if (report is not null) return report;
        }
        throw new MachineException(
            $"agent exited with code {result.ExitCode} and no report ({command}): {Last(result.StandardError)}");
    }

    private static string Last(string text) => text.Length <= 2000 ? text.Trim() : "..." + text[^2000..].Trim();
}
