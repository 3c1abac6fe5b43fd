// Entry point of `harness`. All logic is in CliApp so tests can drive it in-process.
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
return await new CliApp(Console.Out, Console.Error, TimeProvider.System).RunAsync(args, cancel.Token);
