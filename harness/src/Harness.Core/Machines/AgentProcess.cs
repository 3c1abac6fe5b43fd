// Runs the agent as its own process on the host, as it runs on its own in a guest:
// request file in, report file out.
using System.Text.Json;
using CliWrap;
using CliWrap.Buffered;
using Harness.Workload;

namespace Harness.Machines;

/// <summary>Starts the agent's command line (program first) somewhere else and returns its exit code and stderr.</summary>
public delegate Task<(int ExitCode, string StandardError)> AgentLauncher(IReadOnlyList<string> command, CancellationToken cancellationToken);

/// <summary>Where the agent binary is and how to start it.</summary>
public sealed record AgentBinary(string Path)
{
    /// <summary>The agent built beside this harness (framework-dependent apphost), unless overridden.</summary>
    public static AgentBinary Default(string? overridePath) =>
        new(overridePath ?? Environment.GetEnvironmentVariable("HARNESS_AGENT") ?? System.IO.Path.Combine(AppContext.BaseDirectory, "harness-agent"));

    /// <summary>Why this binary cannot be started (missing, a folder, not executable), or null.</summary>
    public string? Problem()
    {
        if (Directory.Exists(Path)) return $"{Path} is a folder, not the agent binary";
        if (!File.Exists(Path)) return $"agent binary not found at {Path} (build the solution, or pass --agent / set HARNESS_AGENT)";
        if (Path.EndsWith(".dll", StringComparison.Ordinal)) return null;
        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(Path) & anyExecute) == 0) return $"{Path} is not executable (chmod +x it, or pass the built harness-agent)";
        return null;
    }

    public Task<AgentReport> RunAsync(AgentRequest request, string scratchDirectory, CancellationToken cancellationToken) =>
        RunAsync(request, scratchDirectory, null, cancellationToken);

    /// <summary>
    /// Runs one agent phase. <paramref name="launcher"/> starts the agent's command line elsewhere
    /// (docker-host: inside a container that sees the same paths); null starts it on the host.
    /// </summary>
    public async Task<AgentReport> RunAsync(AgentRequest request, string scratchDirectory, AgentLauncher? launcher, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(scratchDirectory);
        var requestPath = System.IO.Path.Combine(scratchDirectory, $"request-{request.Iteration}-{request.Phase}.json".ToLowerInvariant());
        var reportPath = System.IO.Path.Combine(scratchDirectory, $"report-{request.Iteration}-{request.Phase}.json".ToLowerInvariant());
        File.Delete(reportPath);
        await File.WriteAllTextAsync(requestPath, JsonSerializer.Serialize(request, AgentJsonContext.Default.AgentRequest), cancellationToken);

        var command = Path.EndsWith(".dll", StringComparison.Ordinal)
            ? Cli.Wrap("dotnet").WithArguments([Path, "run", "--request", requestPath, "--report", reportPath])
            : Cli.Wrap(Path).WithArguments(["run", "--request", requestPath, "--report", reportPath]);
        if (Problem() is { } problem) throw new MachineException(problem);
        (int ExitCode, string StandardError) result;
        if (launcher is not null)
        {
            result = await launcher([command.TargetFilePath, .. SplitArguments(requestPath, reportPath)], cancellationToken);
        }
        else
        {
            try
            {
                var buffered = await command.WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(cancellationToken);
                result = (buffered.ExitCode, buffered.StandardError);
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new MachineException($"cannot start the agent {Path}: {e.Message.Split(". ")[0]}", e);
            }
        }

        if (File.Exists(reportPath))
        {
            // A report is the agent's whole answer: a truncated or empty one is the agent's failure
            // (ERROR), never an exception with a stack.
            var text = await File.ReadAllTextAsync(reportPath, cancellationToken);
            try
            {
                if (JsonSerializer.Deserialize(text, AgentJsonContext.Default.AgentReport) is { } report) return report;
            }
            catch (JsonException e)
            {
                throw new MachineException($"agent report {reportPath} is not a whole report ({text.Length} bytes, exit code {result.ExitCode}): {e.Message}", e);
            }
            throw new MachineException($"agent report {reportPath} is empty (null), exit code {result.ExitCode}");
        }
        throw new MachineException(
            $"agent exited with code {result.ExitCode} and no report ({command}): {Last(result.StandardError)}");
    }

    private IReadOnlyList<string> SplitArguments(string requestPath, string reportPath) =>
        Path.EndsWith(".dll", StringComparison.Ordinal) ? [Path, "run", "--request", requestPath, "--report", reportPath] : ["run", "--request", requestPath, "--report", reportPath];

    private static string Last(string text) => text.Length <= 2000 ? text.Trim() : "..." + text[^2000..].Trim();
}
