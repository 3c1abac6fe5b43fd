// The agent's input and output, as JSON with a source-generated serializer (NativeAOT-safe).
// The same records travel over a pipe on the host or a virtio channel from a guest.
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Harness.Workload;

/// <summary>Which half of an iteration the agent runs.</summary>
public enum AgentPhase
{
    /// <summary>Dirty free space, prepare the file, run the workload, fsync, read back with O_DIRECT.</summary>
    Write,
    /// <summary>Read the file back again (after the machine remounted or dropped caches).</summary>
    Readback,
}

/// <summary>One agent invocation.</summary>
public sealed record AgentRequest(AgentPhase Phase, string Directory, string FileName, WorkloadSpec Spec, int Iteration, bool DropCaches);

/// <summary>What happened to one planned IO. Sequence numbers share one counter across submits and reaps.</summary>
public sealed record IoRecord(int Index, long SubmitSeq, long CompleteSeq, long Result, long SubmitNs, long CompleteNs);

/// <summary>One read of the whole file.</summary>
public sealed record ReadbackPass(string Name, long FileSize, IReadOnlyList<SectorRun> Runs);

/// <summary>What the agent did and saw. <see cref="Error"/> is set when it could not finish.</summary>
public sealed record AgentReport(
    AgentPhase Phase,
    string Kernel,
    int CpuCount,
    IReadOnlyList<IoRecord> Ios,
    IReadOnlyList<ReadbackPass> Passes,
    double WorkloadSeconds,
    string? Error);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, WriteIndented = false)]
[JsonSerializable(typeof(AgentRequest))]
[JsonSerializable(typeof(AgentReport))]
public sealed partial class AgentJsonContext : JsonSerializerContext;
