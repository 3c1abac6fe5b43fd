// A dockerd a test fixture starts and stops itself (the default engine when none answers, the
// private TLS engine, the two swarm nodes): started with its stderr in a log, waited for until it
// answers, stopped with SIGINT (dockerd then stops its containers and its containerd and removes
// its sockets), killed only if it has not stopped 30 s later.
using CliWrap;
using Harness.Machines;
using Harness.Machines.Docker;

namespace Harness.Tests.Docker;

public sealed class TestDockerd
{
    private readonly CancellationTokenSource _graceful = new();
    private readonly CancellationTokenSource _forceful = new();
    private readonly CommandTask<CommandResult> _process;

    // Field initialisers run first: the tokens exist when the process starts.
    private TestDockerd(Command command) => _process = command.ExecuteAsync(_forceful.Token, _graceful.Token);

    /// <summary>
    /// Starts <paramref name="program"/> (dockerd, or a wrapper that execs it) and calls
    /// <paramref name="connect"/> until the engine answers (60 s at most); an engine that never
    /// comes up is stopped and reported with the tail of <paramref name="log"/>.
    /// </summary>
    public static async Task<(TestDockerd Dockerd, DockerEngine Engine)> StartAsync(
        string program, IReadOnlyList<string> arguments, string log, Func<Task<DockerEngine>> connect, string what)
    {
        var dockerd = new TestDockerd(CliWrap.Cli.Wrap(program).WithArguments(arguments)
            .WithStandardOutputPipe(PipeTarget.ToFile(log + ".out"))
            .WithStandardErrorPipe(PipeTarget.ToFile(log))
            .WithValidation(CommandResultValidation.None));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return (dockerd, await connect());
            }
            catch (MachineException e) when (clock.Elapsed < TimeSpan.FromSeconds(60) && !dockerd._process.Task.IsCompleted
                                             && e.Message.Contains("no Docker engine answers", StringComparison.Ordinal))
            {
                await Task.Delay(250);
            }
            catch (MachineException e)
            {
                await dockerd.StopAsync();
                var tail = File.Exists(log) ? string.Join('\n', File.ReadLines(log).TakeLast(20)) : "(no log)";
                throw new InvalidOperationException($"{what} did not come up: {e.Message}\n{tail}", e);
            }
        }
    }

    /// <summary>
    /// A dockerd of an earlier, killed test run on a fixture's own paths: stopped gracefully (SIGINT)
    /// if the pid in <paramref name="pidFile"/> is still a process whose command line names
    /// <paramref name="dataRoot"/> (so a reused pid of anything else is left alone).
    /// </summary>
    public static async Task StopStaleAsync(string pidFile, string dataRoot)
    {
        if (!File.Exists(pidFile) || !int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid)) return;
        var cmdline = $"/proc/{pid}/cmdline";
        if (!File.Exists(cmdline) || !File.ReadAllText(cmdline).Contains(dataRoot, StringComparison.Ordinal)) return;
        try
        {
            using var stale = System.Diagnostics.Process.GetProcessById(pid);
            await CliWrap.Cli.Wrap("kill").WithArguments(["-INT", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])
                .WithValidation(CommandResultValidation.None).ExecuteAsync();
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await stale.WaitForExitAsync(wait.Token);
        }
        catch (ArgumentException) { /* gone meanwhile */ }
    }

    /// <summary>SIGINT, then a kill if it has not stopped within 30 s.</summary>
    public async Task StopAsync()
    {
        await _graceful.CancelAsync();
        _forceful.CancelAfter(TimeSpan.FromSeconds(30));
        try { await _process; }
        catch (OperationCanceledException) { /* stopped */ }
    }
}
