// harness-agent: the NativeAOT program the harness runs inside each guest (or on the host).
// All the work is in AgentCommand and AgentRunner; this only wires the process to them.
using Harness.Agent;

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // Let in-flight IOs finish and a report be written rather than dying mid-run.
    e.Cancel = true;
    cancellation.Cancel();
};
await using var input = Console.OpenStandardInput();
await using var output = Console.OpenStandardOutput();
var command = new AgentCommand(input, output, Console.Error, AgentEnvironment.Linux);
return await command.RunAsync(args, cancellation.Token);
