// Entry point of `harness`. All logic is in CliApp so tests can drive it in-process.
using System.Runtime.InteropServices;
using Harness.Cli;

using var cancel = new CancellationTokenSource();
var interrupts = 0;
Console.CancelKeyPress += (_, e) =>
{
    // First Ctrl-C: stop gracefully (kill the agent/QEMU, unmount, keep finished cells). A second
    // one (an impatient user, or a CI runner that sends two) must not cut the cleanup short and
    // leave a mounted loop device behind: it only says what is happening. A third aborts; the
    // run's lock then lets the next run, or 'harness cache release', free what is left.
    var n = Interlocked.Increment(ref interrupts);
    if (n >= 3)
    {
        Console.Error.WriteLine("aborting: mounts, loop devices or machines may be left; 'harness cache release' (or the next run) releases them");
        return;
    }
    e.Cancel = true;
    if (n == 2)
    {
        Console.Error.WriteLine("still stopping: unmounting and detaching so nothing is left behind (Ctrl-C once more to abort at once)");
        return;
    }
    Console.Error.WriteLine("cancelling: stopping the current cell and keeping finished results (Ctrl-C twice more to abort at once)");
    cancel.Cancel();
};
// SIGTERM (CI timeouts, `kill`) and SIGHUP get the same graceful path: without it the
// runtime exits at once and QEMU children outlive the harness.
void Terminate(PosixSignalContext context)
{
    context.Cancel = true;
    Console.Error.WriteLine($"{context.Signal}: stopping, killing machines and keeping finished results");
    cancel.Cancel();
}
using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Terminate);
using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Terminate);
return await new CliApp(Console.Out, Console.Error, TimeProvider.System).RunAsync(args, cancel.Token);
