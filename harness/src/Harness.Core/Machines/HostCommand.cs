// Host programs (mkfs, mount, filefrag) through CliWrap with argument lists. A failure
// carries the command line, exit code and stderr, so the user sees what broke.
using CliWrap;
using CliWrap.Buffered;

namespace Harness.Machines;

public static class HostCommand
{
    /// <summary>Runs a program to completion; throws <see cref="MachineException"/> with its output when it fails.</summary>
    public static async Task<string> RunAsync(string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken,
        string? workingDirectory = null, string? log = null)
    {
        var command = Cli.Wrap(program).WithArguments(arguments).WithValidation(CommandResultValidation.None);
        if (workingDirectory is not null) command = command.WithWorkingDirectory(workingDirectory);
        BufferedCommandResult result;
        try
        {
            result = await command.ExecuteBufferedAsync(cancellationToken);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new MachineException($"cannot start '{program}': {e.Message} (is it installed? `make deps` installs the harness's packages)", e);
        }
        if (log is not null)
            await File.AppendAllTextAsync(log, $"$ {program} {string.Join(' ', arguments)}\n{result.StandardOutput}{result.StandardError}", cancellationToken);
        if (result.ExitCode != 0)
            throw new MachineException($"`{program} {string.Join(' ', arguments)}`{(workingDirectory is null ? "" : $" in {workingDirectory}")} exited with {result.ExitCode}: {(result.StandardError + result.StandardOutput).Trim()}");
        return result.StandardOutput;
    }

    /// <summary>Runs a program to completion and returns its exit code and combined output, never throwing on failure.</summary>
    public static async Task<(int ExitCode, string Output)> TryRunAsync(string program, IReadOnlyList<string> arguments, string workingDirectory, CancellationToken cancellationToken)
    {
        var result = await Cli.Wrap(program).WithArguments(arguments).WithWorkingDirectory(workingDirectory)
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(cancellationToken);
        return (result.ExitCode, result.StandardOutput + result.StandardError);
    }

    /// <summary>The full path of a program on PATH, or null.</summary>
    public static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program)).FirstOrDefault(File.Exists);
}
