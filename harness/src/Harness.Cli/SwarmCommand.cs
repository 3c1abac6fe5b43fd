// `run --machine swarm`'s setup (runner image, payload, shards) and the hidden `swarm-task`
// command every swarm task runs inside the per-run image (Machines/Swarm/SwarmTask.cs).
using System.CommandLine;
using Harness.Machines.Docker;
using Harness.Machines.Qemu;
using Harness.Machines.Swarm;

namespace Harness.Cli;

internal static class SwarmSetup
{
    /// <summary>
    /// The swarm machine: the runner image (built when missing, like the docker machine's), the harness and
    /// runtime to ship, one shard per cell, <paramref name="jobs"/> tasks at once.
    /// </summary>
    public static async Task<SwarmMachine> MachineAsync(DockerEngine engine, string cacheDir, QemuOptions options, int cells, int jobs, TextWriter progress, CancellationToken cancellationToken)
    {
        var recipe = await RunnerImage.ResolveAsync(cancellationToken);
        var image = await new RunnerImage(cacheDir, progress).EnsureAsync(engine.Client, recipe, rebuild: false, cancellationToken);
        if (image.How != "present") progress.WriteLine($"runner image: {image.Tag} ready ({image.How}, {image.Seconds:F0} s)");
        return new SwarmMachine(engine, image.Tag, options, SwarmPayload.Find(), new SwarmSettings(cells, jobs, cells, Path.Combine(cacheDir, "work")), progress);
    }
}

public sealed class SwarmCommand(TextWriter stdout, TextWriter stderr)
{
    /// <summary>Hidden: what a swarm task runs (its plan is in the per-run image; its shard comes from the task slot).</summary>
    public Command Task(CancellationToken cancellationToken)
    {
        var plan = new Option<string>("--plan") { Description = "The plan in the per-run image", DefaultValueFactory = _ => SwarmPlan.PathInImage };
        var command = new Command("swarm-task", $"Run one shard of a swarm job (inside a swarm task: the shard comes from ${SwarmTask.SlotVariable}); frames on stdout, progress on stderr")
        {
            plan,
        };
        command.Hidden = true;
        command.SetAction(async (parse, _) =>
            await new SwarmTask(stdout, stderr).RunAsync(parse.GetValue(plan)!, Environment.GetEnvironmentVariable(SwarmTask.SlotVariable),
                Environment.GetEnvironmentVariable(SwarmTask.NodeVariable), cancellationToken));
        return command;
    }
}
