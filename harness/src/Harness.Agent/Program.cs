// harness-agent: the NativeAOT program the harness runs inside each guest (or on the host).
// All the work is in AgentCommand and AgentRunner; this only wires the process to them.
using System.Runtime.InteropServices;
using Harness.Agent;

// SIGINT/SIGTERM: let in-flight IOs finish and a report be written rather than dying mid-run.
using var cancellation = new CancellationTokenSource();
void Cancel(PosixSignalContext signal)
{
    signal.Cancel = true;
    cancellation.Cancel();
}
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
await using var input = Console.OpenStandardInput();
await using var output = Console.OpenStandardOutput();
var command = new AgentCommand(input, output, Console.Error, AgentEnvironment.Linux);
return await command.RunAsync(args, cancellation.Token);
