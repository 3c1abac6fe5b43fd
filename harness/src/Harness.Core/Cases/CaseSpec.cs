// A test case: the workload plus what it is for, how to read back, and how often to repeat.
using Harness.Workload;

namespace Harness.Cases;

/// <summary>When the written file is read back and judged.</summary>
public enum ReadbackStep
{
    /// <summary>O_DIRECT read right after fsync, same mount.</summary>
    AfterFsync,
    /// <summary>O_DIRECT read after the filesystem was unmounted and mounted again (or caches dropped).</summary>
    AfterRemount,
}

/// <summary>A validated case file.</summary>
public sealed record CaseSpec(
    string Name,
    string Description,
    string Catches,
    string? FixedBy,
    WorkloadSpec Workload,
    IReadOnlyList<ReadbackStep> Readback,
    int Repeats,
    string SourceFile);
