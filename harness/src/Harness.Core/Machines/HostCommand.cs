// Host programs (mkfs, mount, filefrag) through CliWrap with argument lists. A failure
// carries the command line, exit code and stderr, so the user sees what broke.
using CliWrap;
using CliWrap.Buffered;

namespace Harness.Machines;

public static class HostCommand
{
    public static async Task<string> RunAsync(string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var command = Cli.Wrap(program).WithArguments(arguments).WithValidation(CommandResultValidation.None);
        BufferedCommandResult result;
        try
        {
            result = await command.ExecuteBufferedAsync(cancellationToken);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new MachineException($"cannot start '{program}': {e.Message} (is it installed? `make deps` installs the harness's packages)", e);
        }
        if (result.ExitCode != 0)
            throw new MachineException($"`{program} {string.Join(' ', arguments)}` exited with {result.ExitCode}: {(result.StandardError + result.StandardOutput).Trim()}");
        return result.StandardOutput;
    }
}
