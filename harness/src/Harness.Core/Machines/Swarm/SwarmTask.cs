// The entry point of a swarm task, inside the per-run image on whichever node the swarm picked:
// finds its shard from the task slot, checks every input's SHA-256, then runs the shard's cells
// one after another on the qemu machine (QEMU, mkfs and fsck all inside this container) and
// sends each iteration, unjudged, as frames on stdout. Judging and records stay on the host,
// in the one golden model, exactly as for a local run. A task that cannot run its shard says
// why in a fatal frame and exits 3, which makes the swarm retry it once.
using Harness.Cases;
using Harness.Filesystems;
using Harness.Machines.Qemu;

namespace Harness.Machines.Swarm;

public sealed class SwarmTask(TextWriter stdout, TextWriter progress)
{
    /// <summary>Environment variables the service sets from its templates.</summary>
    public const string SlotVariable = "HARNESS_SWARM_SLOT";
    public const string NodeVariable = "HARNESS_SWARM_NODE";

    /// <summary>Where the task keeps disk images and cell logs (the container's own layer).</summary>
    public const string Scratch = "/tmp/harness-swarm";

    /// <summary>The largest log file sent back per cell; a runaway console is cut, with a note.</summary>
    public const int MaxFileBytes = 8 << 20;

    private readonly SwarmFrameWriter _frames = new(stdout);

    /// <summary>
    /// The shard of a task slot. Swarmkit renders slot 0 as the node's id in templates (it treats 0 as
    /// "no slot", as in global services), so a slot equal to the node id is shard 0.
    /// </summary>
    public static int ShardOf(string? slot, string? node) =>
        int.TryParse(slot, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n
        : slot is { Length: > 0 } && slot == node ? 0
        : throw new MachineException($"{SlotVariable}='{slot}' is not a task slot (the service sets it from {{{{.Task.Slot}}}})");

    /// <summary>Runs the shard this slot names; 0 when it ran (cell failures included), 3 when it could not.</summary>
    public async Task<int> RunAsync(string planFile, string? slot, string? node, CancellationToken cancellationToken)
    {
        var shardIndex = -1;
        try
        {
            shardIndex = ShardOf(slot, node);
            var plan = System.Text.Json.JsonSerializer.Deserialize<SwarmPlan>(await File.ReadAllTextAsync(planFile, cancellationToken), SwarmPlan.Json)
                ?? throw new MachineException($"{planFile} is empty");
            if (plan.Format != SwarmPlan.FormatVersion)
                throw new MachineException($"{planFile} is plan format {plan.Format}, this harness reads {SwarmPlan.FormatVersion}");
            var shard = plan.Shards.FirstOrDefault(s => s.Index == shardIndex)
                ?? throw new MachineException($"the plan has no shard {shardIndex} (it has {plan.Shards.Count})");
            progress.WriteLine($"shard {shard.Index}: {shard.Cells.Count} cell(s) on node {node}");
            await CheckInputsAsync(plan, shard, cancellationToken);
            var options = plan.Options with { Kernel = plan.Options.Kernel with { BzImage = shard.Kernel } };
            var machine = new QemuMachine(options, progress);
            if (await machine.CheckAsync(cancellationToken) is { } problem) throw new MachineException(problem);
            foreach (var cell in shard.Cells) await RunCellAsync(machine, shard.Index, cell, cancellationToken);
            _frames.Write(new SwarmMessage(shard.Index, SwarmMessage.ShardDoneKind));
            return 0;
        }
        catch (Exception e) when (e is MachineException or IOException or System.Text.Json.JsonException or Yaml.InputException or UnauthorizedAccessException)
        {
            progress.WriteLine($"shard {shardIndex}: {e.Message}");
            _frames.Write(new SwarmMessage(shardIndex, SwarmMessage.FatalKind) { Text = e.Message.Split('\n')[0] });
            return 3;
        }
    }

    /// <summary>Every file this shard reads must be the one the host put in the image.</summary>
    private static async Task CheckInputsAsync(SwarmPlan plan, SwarmShard shard, CancellationToken cancellationToken)
    {
        var needed = new HashSet<string>(shard.Cells.Select(c => c.CaseFile).Append(plan.Options.BaseInitramfs));
        foreach (var file in plan.Files)
        {
            var path = file.Path == plan.Options.Kernel.BzImage ? shard.Kernel : file.Path;
            if (!needed.Contains(file.Path) && file.Path != plan.Options.Kernel.BzImage) continue;
            if (!File.Exists(path)) throw new MachineException($"input {path} is missing from the image");
            await using var stream = File.OpenRead(path);
            var actual = Convert.ToHexStringLower(await System.Security.Cryptography.SHA256.HashDataAsync(stream, cancellationToken));
            if (actual != file.Sha256)
                throw new MachineException($"input {path} is damaged: SHA-256 {actual[..16]}..., the plan says {file.Sha256[..16]}...; the image did not reach this node intact");
        }
    }

    private async Task RunCellAsync(QemuMachine machine, int shard, SwarmCell cell, CancellationToken cancellationToken)
    {
        var logs = Path.Combine(Scratch, "logs", cell.CellId);
        var work = Path.Combine(Scratch, "work");
        Directory.CreateDirectory(logs);
        Directory.CreateDirectory(work);
        var request = new CellRequest(cell.CellId, FilesystemCatalog.Find(cell.Filesystem), new CaseCatalog(Path.GetDirectoryName(cell.CaseFile)!).Find(cell.CaseFile),
            cell.Repeats, work, logs) { FirstIteration = cell.FirstIteration };
        SwarmFailure? failure = null;
        try
        {
            await foreach (var raw in machine.RunCellAsync(request, cancellationToken))
                _frames.Write(new SwarmMessage(shard, SwarmMessage.IterationKind) { CellId = cell.CellId, Iteration = raw });
        }
        catch (MachineException e)
        {
            // The cell's outcome (CRASH for the kernel's failures, ERROR otherwise) is decided on the
            // host from the same exception; the shard goes on with its next cell, as a local run would.
            failure = SwarmFailure.From(e);
            progress.WriteLine($"shard {shard}: {cell.CellId}: {e.Message.Split('\n')[0]}");
        }
        var files = new Dictionary<string, string>();
        foreach (var name in new[] { "console.log", "qemu-command.txt" })
        {
            var path = Path.Combine(logs, name);
            if (!File.Exists(path)) continue;
            var bytes = await File.ReadAllBytesAsync(path, cancellationToken);
            files[name] = bytes.Length <= MaxFileBytes
                ? System.Text.Encoding.UTF8.GetString(bytes)
                : System.Text.Encoding.UTF8.GetString(bytes, 0, MaxFileBytes) + $"\n[harness: cut at {MaxFileBytes} of {bytes.Length} bytes by the swarm task]\n";
        }
        _frames.Write(new SwarmMessage(shard, SwarmMessage.CellEndKind) { CellId = cell.CellId, Failure = failure, Files = files });
    }
}
