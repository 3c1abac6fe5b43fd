// Where a cell's QEMU process runs: on the host (the qemu machine) or inside a container (the
// docker machine). Everything else about a cell — formatting the disk, the initrd, the console
// watcher, result frames, deadlines, fsck — is the same, so QemuMachine owns it once and asks a
// runtime only to start QEMU, report its exit, and stop it (TuxRun's runtimes: null, docker).
using System.ComponentModel;
using System.Text;
using CliWrap;

namespace Harness.Machines.Qemu;

/// <summary>
/// One QEMU start: the program, its arguments, and the host files it touches, so a runtime that
/// isolates QEMU knows what to expose (read-only where QEMU only reads).
/// </summary>
public sealed record QemuLaunch(
    string CellId,
    string Binary,
    IReadOnlyList<string> Arguments,
    IReadOnlyList<string> ReadOnlyFiles,
    IReadOnlyList<string> WritableFiles,
    IReadOnlyList<string> WritableFolders,
    string ConsoleLog);

/// <summary>A started QEMU. Dispose stops it (if still running) and releases what the runtime made for it.</summary>
public interface IQemuProcess : IAsyncDisposable
{
    /// <summary>Completes with QEMU's exit code; cancelled when the kill token given at start fired.</summary>
    Task<int> Exited { get; }

    /// <summary>What QEMU wrote to stderr (and stdout) so far.</summary>
    string Output { get; }

    /// <summary>Where QEMU runs, for the cell's log ("host", or the container's name and id).</summary>
    string Where { get; }
}

/// <summary>Starts QEMU for one cell.</summary>
public interface IQemuRuntime
{
    /// <summary>The machine kind users type: "qemu" or "docker".</summary>
    string MachineKind { get; }

    /// <summary>Why QEMU cannot start here, or null.</summary>
    Task<string?> CheckAsync(CancellationToken cancellationToken);

    /// <summary>Starts QEMU; <paramref name="kill"/> stops it (QEMU killed, <see cref="IQemuProcess.Exited"/> cancelled).</summary>
    Task<IQemuProcess> StartAsync(QemuLaunch launch, CancellationToken kill);

    /// <summary>A line for the run record (image, limits); empty on the host.</summary>
    string Describe();
}

/// <summary>QEMU as a child process of the harness (CliWrap; killed through the token).</summary>
public sealed class HostQemuRuntime : IQemuRuntime
{
    public static HostQemuRuntime Instance { get; } = new();

    public string MachineKind => "qemu";

    public Task<string?> CheckAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(null);

    public string Describe() => "";

    public Task<IQemuProcess> StartAsync(QemuLaunch launch, CancellationToken kill)
    {
        var output = new StringBuilder();
        try
        {
            var task = Cli.Wrap(launch.Binary).WithArguments(launch.Arguments)
                .WithValidation(CommandResultValidation.None)
                .WithStandardErrorPipe(PipeTarget.ToStringBuilder(output))
                .ExecuteAsync(kill);
            return Task.FromResult<IQemuProcess>(new HostProcess(task, output));
        }
        catch (Win32Exception e)
        {
            throw new GuestFailureException(GuestFailureKind.QemuNotStarted, $"QEMU could not be started ({launch.Binary}): {e.Message}", null, launch.ConsoleLog);
        }
    }

    private sealed class HostProcess(CommandTask<CommandResult> task, StringBuilder output) : IQemuProcess
    {
        public Task<int> Exited { get; } = WaitAsync(task);
        public string Output { get { lock (output) return output.ToString(); } }
        public string Where => "host";

        private static async Task<int> WaitAsync(CommandTask<CommandResult> task) => (await task).ExitCode;

        public async ValueTask DisposeAsync()
        {
            // The kill token (the caller's) stops it; here we only wait for the end.
            try { await task; }
            catch (OperationCanceledException) { /* killed on purpose */ }
        }
    }
}
