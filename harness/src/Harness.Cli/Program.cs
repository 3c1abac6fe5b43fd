// Entry point of `harness`. All logic is in CliApp so tests can drive it in-process.
using System.Runtime.InteropServices;
using Harness.Cli;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // First Ctrl-C: stop gracefully (kill the agent/QEMU, unmount, keep finished cells).
    // A second one falls through to the runtime and ends the process.
    if (cancel.IsCancellationRequested) return;
    e.Cancel = true;
    Console.Error.WriteLine("cancelling: stopping the current cell and keeping finished results (Ctrl-C again to abort)");
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
