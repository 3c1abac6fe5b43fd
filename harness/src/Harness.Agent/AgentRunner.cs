// The agent's in-process entry point: runs one phase of one iteration and returns what it
// did and saw. It never judges the data; a failure to run is a report with Error set.
using Harness.Agent.Interop;
using Harness.Workload;

namespace Harness.Agent;

/// <summary>Executes an <see cref="AgentRequest"/> on this machine. Progress goes to the log writer.</summary>
public sealed class AgentRunner(AgentEnvironment environment, TextWriter log)
{
    public const string AfterFsync = "after-fsync";
    public const string AfterRemount = "after-remount";
    public const string AfterDropCaches = "after-drop-caches";

    /// <summary>Runs the phase on a pool thread (it blocks in system calls). Throws only when cancelled.</summary>
    public Task<AgentReport> RunAsync(AgentRequest request, CancellationToken cancellationToken) =>
        Task.Run(() => Run(request, cancellationToken), cancellationToken);

    /// <summary>A report for a request that could not even be read.</summary>
    public AgentReport Failed(AgentPhase phase, string error)
    {
        var facts = MachineFacts.Read(environment, log);
        return new AgentReport(phase, facts.Kernel, facts.CpuCount, [], [], 0, error);
    }

    private AgentReport Run(AgentRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var facts = MachineFacts.Read(environment, log);
        IReadOnlyList<IoRecord> ios = [];
        IReadOnlyList<OpRecord> ops = [];
        var passes = new List<ReadbackPass>();
        var seconds = 0.0;
        var evidence = new Evidence();
        try
        {
            var plan = Validate(request);
            var path = Path.Combine(request.Directory, request.FileName);
            log.WriteLine($"harness-agent: {request.Phase} phase, iteration {request.Iteration}, kernel {facts.Kernel}, {facts.CpuCount} CPUs");
            switch (request.Phase)
            {
                case AgentPhase.Write:
                {
                    if (evidence.Phases.Time("probe", () => ProbeSkip(path, plan, evidence)) is { } skip)
                    {
                        log.WriteLine($"harness-agent: not running the workload: {skip}");
                        return evidence.Apply(new AgentReport(request.Phase, facts.Kernel, facts.CpuCount, [], [], 0, null) { SkipReason = skip });
                    }
                    (evidence.FilesystemBytes, evidence.FilesystemFreeBytes) = Posix.FilesystemSpace(request.Directory);
                    var dirt = evidence.Phases.Time("dirt", () => FreeSpaceDirt.Write(request.Directory, request.Spec.DirtyBytes, SeedMix.Mix(plan.RunTag, 0xD1), log, cancellationToken));
                    using var file = evidence.Phases.Time("prepare", () => TargetFile.Create(path, request.Spec, plan.RunTag, log, cancellationToken));
                    log.WriteLine($"harness-agent: {plan.Ios.Count} writes, queue depth {request.Spec.QueueDepth}");
                    var workload = evidence.Phases.Time("workload", () => AioWorkload.Run(file, path, plan, environment.Time, cancellationToken));
                    (ios, ops, seconds) = (workload.Ios, workload.Ops, workload.Seconds);
                    foreach (var op in ops.Where(o => o.Result < 0))
                        log.WriteLine($"harness-agent: op {op.Index} ({OpWords.Word(plan.Ops[op.Index].Kind)}) failed: {LinuxErrno.Name((int)-op.Result)}");
                    log.WriteLine($"harness-agent: workload took {seconds:F3} s");
                    // A failed fsync is evidence, not the agent's failure: under a failing device the kernel
                    // may answer fsync with EIO (ext4 reports failed metadata writeback there). Recorded for
                    // the judge (io-error), and the read-back still runs.
                    evidence.FsyncErrno = -evidence.Phases.Time("fsync", () => Posix.TryFsync(file));
                    if (evidence.FsyncErrno != 0) log.WriteLine($"harness-agent: fsync of {path} failed: {LinuxErrno.Name(evidence.FsyncErrno)}");
                    (evidence.DirtReuse, evidence.DirtReuseUnknown) = evidence.Phases.Time("dirt-reuse",
                        () => DirtReuseMeter.Measure(dirt, ExtentMap.Read(file, path, "target file"), request.Spec.FsBlockSize));
                    log.WriteLine(evidence.DirtReuse is { } reuse
                        ? $"harness-agent: {reuse.ReusedBlocks} of {reuse.TargetBlocks} target blocks were dirt ({reuse.DirtBlocks} dirt blocks)"
                        : $"harness-agent: dirt reuse unknown: {evidence.DirtReuseUnknown}");
                    passes.Add(evidence.Phases.Time("read-" + AfterFsync, () => Readback.Read(file, path, plan.ReadbackLength, AfterFsync, cancellationToken)));
                    break;
                }
                case AgentPhase.Readback:
                {
                    if (request.DropCaches) evidence.Phases.Time("drop-caches", () => MachineFacts.DropCaches(environment));
                    var name = request.DropCaches ? AfterDropCaches : AfterRemount;
                    using var file = Posix.Open(path, OpenFlags.ReadOnly | OpenFlags.Direct | OpenFlags.CloseOnExec);
                    passes.Add(evidence.Phases.Time("read-" + name, () => Readback.Read(file, path, plan.ReadbackLength, name, cancellationToken)));
                    break;
                }
                default:
                    throw new AgentException($"unknown phase {request.Phase}; valid: {string.Join(", ", Enum.GetNames<AgentPhase>())}");
            }
            log.WriteLine($"harness-agent: read back {plan.ReadbackLength} bytes as {passes[^1].Runs.Count} runs");
            return evidence.Apply(new AgentReport(request.Phase, facts.Kernel, facts.CpuCount, ios, passes, seconds, null) { Ops = ops });
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Expected failures carry a message written for the reader; anything else is a bug
            // here, so keep its type and stack on stderr.
            var error = e is NativeErrorException or AgentException or IOException or UnauthorizedAccessException
                ? e.Message
                : $"{e.GetType().Name}: {e.Message}";
            log.WriteLine($"harness-agent: error: {error}");
            if (error != e.Message) log.WriteLine(e);
            return evidence.Apply(new AgentReport(request.Phase, facts.Kernel, facts.CpuCount, ios, passes, seconds, error) { Ops = ops });
        }
    }

    // A fresh empty target is probed (statx needs a file on the filesystem under test), then
    // the case's IOs are checked against the alignment before anything is written.
    private string? ProbeSkip(string path, WorkloadPlan plan, Evidence evidence)
    {
        Posix.Unlink(path);
        using (Posix.Open(path, OpenFlags.ReadWrite | OpenFlags.Create | OpenFlags.Exclusive | OpenFlags.CloseOnExec)) { }
        evidence.Alignment = DioProbe.Probe(path, environment.SysDevBlockPath, log);
        log.WriteLine($"harness-agent: direct-IO alignment {evidence.Alignment.OffsetAlign} ({evidence.Alignment.Source}: {evidence.Alignment.Detail})");
        return DioProbe.SkipReason(plan, evidence.Alignment, AlignedBuffer.DefaultAlignment);
    }

    /// <summary>What the write phase learnt besides the IOs, kept even when it fails part-way.</summary>
    private sealed class Evidence
    {
        public DioAlignment? Alignment { get; set; }
        public long FilesystemBytes { get; set; }
        public long FilesystemFreeBytes { get; set; }
        public DirtReuse? DirtReuse { get; set; }
        public string? DirtReuseUnknown { get; set; }
        public int FsyncErrno { get; set; }
        public PhaseClock Phases { get; } = new();

        public AgentReport Apply(AgentReport report) => report with
        {
            Phases = Phases.Done(),
            Alignment = Alignment,
            FilesystemBytes = FilesystemBytes,
            FilesystemFreeBytes = FilesystemFreeBytes,
            DirtReuse = DirtReuse,
            FsyncErrno = FsyncErrno,
            DirtReuseUnknown = DirtReuse is null ? DirtReuseUnknown ?? (report.Phase == AgentPhase.Write ? "not measured (the write phase stopped before it)" : null) : null,
        };
    }

    // The harness validated the spec; these checks only protect the agent itself (buffers,
    // paths) from a request that was built by hand or truncated in transit.
    private static WorkloadPlan Validate(AgentRequest request)
    {
        if (request.Spec is null) throw new AgentException("request has no spec");
        if (string.IsNullOrEmpty(request.Directory)) throw new AgentException("request has no directory");
        if (!System.IO.Directory.Exists(request.Directory)) throw new AgentException($"directory {request.Directory} does not exist");
        if (string.IsNullOrEmpty(request.FileName) || request.FileName is "." or ".." or FreeSpaceDirt.FileName
            || request.FileName.Contains('/'))
            throw new AgentException($"file name '{request.FileName}' must be a plain name other than '.', '..' and '{FreeSpaceDirt.FileName}'");
        if (request.Spec.QueueDepth < 1) throw new AgentException($"queue depth {request.Spec.QueueDepth} must be at least 1");
        var plan = PlanBuilder.Build(request.Spec, request.Iteration);
        foreach (var io in plan.Ios)
        {
            if (io.Length <= 0 || io.Length % SectorFormat.SectorSize != 0 || io.Offset < 0)
                throw new AgentException($"IO {io.Index} ({io.Length} bytes at {io.Offset}) is not whole 512-byte sectors at a non-negative offset");
        }
        foreach (var op in plan.Ops)
        {
            if (op.Offset < 0 || op.Length < 0 || (op.Kind == OpKind.BufferedWrite && (op.Length <= 0 || op.Length % SectorFormat.SectorSize != 0 || op.Length > 1 << 30)))
                throw new AgentException($"op {op.Index} ({op.Kind}, {op.Length} bytes at {op.Offset}) has a bad range");
        }
        return plan;
    }
}

/// <summary>Times the agent's phases with the monotonic clock; a phase that throws is still recorded.</summary>
internal sealed class PhaseClock
{
    private readonly List<PhaseTime> _phases = [];

    public T Time<T>(string name, Func<T> phase)
    {
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        try { return phase(); }
        finally { _phases.Add(new PhaseTime(name, System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds)); }
    }

    public void Time(string name, Action phase) => Time(name, () => { phase(); return 0; });

    public IReadOnlyList<PhaseTime> Done() => _phases.ToArray();
}
