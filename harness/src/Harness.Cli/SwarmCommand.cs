// `run --machine swarm`'s setup (runner image, payload, shards) and the hidden `swarm-task`
// command every swarm task runs inside the per-run image (Machines/Swarm/SwarmTask.cs).
using System.CommandLine;
using Harness.Machines.Docker;
using Harness.Machines.Qemu;
using Harness.Machines.Swarm;

namespace Harness.Cli;

/// <summary>`run --machine swarm`'s own options: the other nodes' engines and the number of shards.</summary>
internal sealed class SwarmCliOptions
{
    public Option<string[]> NodeEngines { get; } = new(SwarmNodeSpec.Option)
    {
        Description = "swarm: NODE=ENDPOINT, repeatable: the engine of another swarm node (NODE: hostname or node id as `docker node ls` shows; ENDPOINT as DOCKER_HOST takes it); " +
            "the per-run image is loaded into it through that engine; nodes not named get no task",
        Arity = ArgumentArity.OneOrMore,
    };

    public Option<string?> Shards { get; } = new("--shards") { Description = "swarm: split the cells round-robin into this many shards, one task each, running its cells in order (default: one cell per shard)" };

    public IEnumerable<Option> All => [NodeEngines, Shards];

    /// <summary>The options are the swarm machine's: given with another machine they are an input error.</summary>
    public void RefuseUnlessSwarm(ParseResult parse, string machine)
    {
        if (machine == "swarm") return;
        foreach (var option in All)
            if (parse.GetResult(option) is { Implicit: false })
                throw new Harness.Yaml.InputException(new Harness.Yaml.InputProblem(option.Name, 0, 0, option.Name, $"works with --machine swarm only (not {machine})"));
    }

    public IReadOnlyList<SwarmNodeSpec> Specs(ParseResult parse) => (parse.GetValue(NodeEngines) ?? []).Select(SwarmNodeSpec.Parse).ToArray();

    /// <summary>--shards, 1..cells; null: one cell per shard.</summary>
    public int ShardCount(ParseResult parse, int cells) =>
        CliApp.Bounded(parse, Shards, 1, Math.Max(1, cells), $"the run has {cells} cell(s); a shard holds at least one") ?? cells;
}

internal static class SwarmSetup
{
    /// <summary>
    /// The swarm machine: the runner image (built when missing, like the docker machine's), the harness and
    /// runtime to ship, <paramref name="shards"/> shards, <paramref name="jobs"/> tasks at once, and the named nodes.
    /// </summary>
    public static async Task<SwarmMachine> MachineAsync(DockerEngine engine, string cacheDir, QemuOptions options, int cells, int shards, int jobs, IReadOnlyList<SwarmNode> nodes,
        TextWriter progress, CancellationToken cancellationToken)
    {
        var recipe = await RunnerImage.ResolveAsync(cancellationToken);
        var image = await new RunnerImage(cacheDir, progress).EnsureAsync(engine.Client, recipe, rebuild: false, cancellationToken);
        if (image.How != "present") progress.WriteLine($"runner image: {image.Tag} ready ({image.How}, {image.Seconds:F0} s)");
        return new SwarmMachine(engine, image.Tag, options, SwarmPayload.Find(), new SwarmSettings(shards, jobs, cells, Path.Combine(cacheDir, "work")), progress, nodes);
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
