// What a swarm task runs, as data: the qemu machine's options (paths inside the per-run image),
// the shards (each a list of cells, run one after another by one task) and the SHA-256 of every
// input file, which the task checks before it boots anything: an image that reached a node
// damaged must fail loudly, not boot a different kernel.
using System.Text.Json;
using System.Text.Json.Serialization;
using Harness.Machines.Qemu;

namespace Harness.Machines.Swarm;

/// <summary>One cell of a shard: names the task resolves again (catalog filesystem, case file in the image).</summary>
public sealed record SwarmCell(string CellId, string Filesystem, string CaseFile, int Repeats, int FirstIteration);

/// <summary>A sub-matrix run by one task; <see cref="Kernel"/> is the bzImage path in the image.</summary>
public sealed record SwarmShard(int Index, string Kernel, IReadOnlyList<SwarmCell> Cells);

/// <summary>An input file in the image and the SHA-256 it must have.</summary>
public sealed record SwarmFile(string Path, string Sha256);

/// <summary>The plan of one swarm job, written into the per-run image as <see cref="PathInImage"/>.</summary>
public sealed record SwarmPlan(QemuOptions Options, IReadOnlyList<SwarmShard> Shards, IReadOnlyList<SwarmFile> Files)
{
    /// <summary>Where the run's own files sit in the per-run image.</summary>
    public const string RunFolder = "/harness-run";

    public const string PathInImage = RunFolder + "/plan.json";

    /// <summary>Bumped when the plan's shape changes: a task refuses a plan it does not know.</summary>
    public const int FormatVersion = 1;

    public int Format { get; init; } = FormatVersion;

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };
}
