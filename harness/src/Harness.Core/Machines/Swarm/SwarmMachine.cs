// `--machine swarm`: the run's cells split into shards and run as one Docker Swarm service in
// ReplicatedJob mode (a task per shard, MaxConcurrent at once) from a per-run image that carries
// everything a shard needs, so no node needs a bind mount or a shared folder. Each task runs its
// cells on the qemu machine inside its container and sends the raw iterations back through the
// service logs API; here they are handed to the cell runner like any machine's, so judging,
// records, reports and outcome words are those of a local run. The swarm retries a failed task
// once (restart policy on-failure, one attempt more); a shard that fails twice leaves its cells
// ERROR with the reason. The service and the image are removed at the end and on Ctrl-C.
//
// The run executor asks for cells one at a time; a swarm job wants them all at once. So this
// machine collects the requests (the CLI lets every cell start at once) and launches the job when
// all expected cells have asked, or when none more has come for a moment (a resumed run).
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using Docker.DotNet;
using Docker.DotNet.Models;
using Harness.Machines.Docker;
using Harness.Machines.Qemu;

namespace Harness.Machines.Swarm;

/// <summary>How a swarm job is cut and run.</summary>
public sealed record SwarmSettings(int Shards, int MaxConcurrent, int ExpectedCells, string Scratch)
{
    /// <summary>Test hook: this shard gets a kernel with a flipped byte, which its task must refuse (twice).</summary>
    public int? DamageKernelOfShard { get; init; }

    /// <summary>How long a task may wait for a node (no node with room, image missing) before its shard fails.</summary>
    public TimeSpan PendingLimit { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>How long after the last request the job starts anyway (a resumed run asks for fewer cells).</summary>
    public TimeSpan Quiet { get; init; } = TimeSpan.FromSeconds(1.5);
}

/// <summary>Where a task of the job ran: its shard, the node the swarm gave it and how it ended.</summary>
public sealed record SwarmTaskPlacement(int Shard, string NodeId, string State);

/// <summary>
/// The swarm machine. <paramref name="nodes"/> are the other nodes whose engines the user named
/// (`--node-engine`): the per-run image is loaded into each of them; nodes not named get no task.
/// </summary>
public sealed class SwarmMachine(DockerEngine engine, string runnerTag, QemuOptions options, SwarmPayload payload, SwarmSettings settings, TextWriter progress,
    IReadOnlyList<SwarmNode>? nodes = null) : IMachine, IAsyncDisposable
{
    /// <summary>The command that makes this engine a single-node swarm (the fix printed when it is not in one).</summary>
    public const string InitCommand = "docker swarm init --advertise-addr 127.0.0.1";

    private readonly QemuMachine _described = new(options, TextWriter.Null);
    private readonly Lock _lock = new();
    private readonly List<PendingCell> _pending = [];
    private DateTime _lastArrival;
    private Task? _launcher;
    private bool _launched;

    public string Kind => "swarm";

    /// <summary>The last job's service id (tests check it is gone).</summary>
    public string? ServiceId { get; private set; }

    /// <summary>Tasks the last job's service ran (each attempt counts), by shard.</summary>
    public IReadOnlyDictionary<int, int> Attempts { get; private set; } = new Dictionary<int, int>();

    /// <summary>Every task of the last job (each attempt), with the node it ran on (tests check a task ran on another node).</summary>
    public IReadOnlyList<SwarmTaskPlacement> Placements { get; private set; } = [];

    /// <summary>The named nodes the per-run image of the last job was loaded into, and the bytes moved to each (0: it had it).</summary>
    public IReadOnlyDictionary<string, long> Loaded { get; private set; } = new Dictionary<string, long>();

    private readonly IReadOnlyList<SwarmNode> _nodes = nodes ?? [];

    public MachineFacts Describe()
    {
        var inner = _described.Describe();
        return inner with
        {
            Kind = Kind,
            Detail = $"{options.Kernel.Origin}; tcg (swarm tasks get no /dev/kvm); {options.Backend}; {options.Cpus} vCPU, {options.MemoryMiB} MiB; " +
                $"swarm ReplicatedJob from {runnerTag} + a per-run layer, {settings.MaxConcurrent} task(s) at once, {settings.Shards} shard(s), no network",
            Identity = inner.Identity! with { Acceleration = "tcg" },
        };
    }

    /// <summary>Why this engine cannot take a swarm job (API too old, not in a swarm, a worker), with the fix; null when it can.</summary>
    public static async Task<string?> SwarmProblemAsync(DockerEngine engine, CancellationToken cancellationToken)
    {
        if (engine.ApiVersion < DockerEngine.MinimumApi)
            return $"the engine at {engine.Endpoint} speaks API {engine.Version.APIVersion}; swarm jobs need {DockerEngine.MinimumApi} (Docker 20.10 or newer)";
        var info = await engine.Client.System.GetSystemInfoAsync(cancellationToken);
        var state = info.Swarm?.LocalNodeState ?? "unknown";
        if (state != "active")
            return $"the engine at {engine.Endpoint} is not in a swarm (state {state}); make it a single-node swarm: `{InitCommand}`";
        if (info.Swarm?.ControlAvailable != true)
            return $"the engine at {engine.Endpoint} is a swarm worker; point DOCKER_HOST at a manager (`docker node ls` on one lists them)";
        return null;
    }

    public async Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        if (await SwarmProblemAsync(engine, cancellationToken) is { } problem) return problem;
        if (await RunnerImage.InspectAsync(engine.Client, runnerTag, cancellationToken) is null) return $"the engine has no image {runnerTag}";
        await RemoveLeftoversAsync(engine.Client, progress, services: true, cancellationToken);
        // Task containers carry the owner label too: those of a killed harness whose service is gone.
        await DockerQemuRuntime.RemoveLeftoversAsync(engine.Client, progress, cancellationToken);
        // A killed harness's task containers and per-run images on the named nodes (services live on the manager only).
        foreach (var node in _nodes)
        {
            // Containers first: an image a (still running) task container uses is not removed.
            await DockerQemuRuntime.RemoveLeftoversAsync(node.Engine.Client, progress, cancellationToken);
            await RemoveLeftoversAsync(node.Engine.Client, progress, services: false, cancellationToken);
        }
        // Which nodes can take a task is known now (this one and the named ones): none is exit 3, before any work.
        var (_, noNode) = await PlacementAsync(_nodes.Select(n => n.Id).ToHashSet(), announce: true, cancellationToken);
        return noNode;
    }

    public async IAsyncEnumerable<IterationRaw> RunCellAsync(CellRequest cell, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var pending = new PendingCell(cell);
        lock (_lock)
        {
            if (_launched)
                throw new MachineException($"the swarm job of this run already started; cell {cell.CellId} came too late (the swarm machine runs one job per run)");
            _pending.Add(pending);
            _lastArrival = DateTime.UtcNow;
            // Every cell shares the run's token: the first one's is the job's.
            _launcher ??= Task.Run(() => LaunchAsync(cancellationToken), CancellationToken.None);
        }
        await foreach (var item in pending.Items.Reader.ReadAllAsync(cancellationToken))
        {
            if (item is Exception e) throw e;
            yield return (IterationRaw)item;
        }
    }

    private async Task LaunchAsync(CancellationToken cancellationToken)
    {
        PendingCell[] cells;
        try
        {
            while (true)
            {
                await Task.Delay(100, cancellationToken);
                lock (_lock)
                {
                    if (_pending.Count >= settings.ExpectedCells || DateTime.UtcNow - _lastArrival >= settings.Quiet)
                    {
                        _launched = true;
                        cells = [.. _pending];
                        break;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            lock (_lock) { _launched = true; cells = [.. _pending]; }
            foreach (var c in cells) c.Items.Writer.TryComplete();
            return;
        }
        try
        {
            await RunJobAsync(cells, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Each cell's reader sees the same token and reports the cell interrupted.
        }
        catch (Exception e) when (e is MachineException or DockerApiException or HttpRequestException or IOException or TimeoutException)
        {
            foreach (var c in cells.Where(c => !c.Ended))
                c.Items.Writer.TryWrite(new MachineException($"swarm: {e.Message.Trim()}", e));
        }
        finally
        {
            foreach (var c in cells) c.Items.Writer.TryComplete();
        }
    }

    /// <summary>Shards round-robin: cells of one filesystem spread over tasks, so no task gets all the slow ones.</summary>
    internal static IReadOnlyList<IReadOnlyList<T>> Split<T>(IReadOnlyList<T> cells, int shards)
    {
        var count = Math.Clamp(shards, 1, Math.Max(1, cells.Count));
        return Enumerable.Range(0, count).Select(s => (IReadOnlyList<T>)cells.Where((_, i) => i % count == s).ToArray()).ToArray();
    }

    private async Task RunJobAsync(PendingCell[] cells, CancellationToken cancellationToken)
    {
        var shards = Split(cells, settings.Shards);
        var byId = cells.ToDictionary(c => c.Request.CellId);
        var name = $"harness-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
        var tag = $"harness-swarm:{name["harness-".Length..]}";
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await SwarmImage.BuildAsync(engine.Client, runnerTag, payload, options,
            shards.Select(s => (IReadOnlyList<SwarmImageCell>)s.Select(c => new SwarmImageCell(
                new SwarmCell(c.Request.CellId, c.Request.Filesystem.Name, "", c.Request.Repeats, c.Request.FirstIteration), c.Request.Case.SourceFile)).ToArray()).ToArray(),
            tag, settings.Scratch, settings.DamageKernelOfShard, progress, cancellationToken);
        progress.WriteLine($"swarm: image {tag} built in {clock.Elapsed.TotalSeconds:F1} s");
        var touched = new List<SwarmNode>();
        string? serviceId = null;
        try
        {
            var have = new HashSet<string>();
            var loaded = new Dictionary<string, long>();
            foreach (var node in _nodes)
            {
                touched.Add(node);
                try
                {
                    loaded[node.Id] = await SwarmNodes.LoadImageAsync(engine.Client, node, tag, progress, cancellationToken);
                    have.Add(node.Id);
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is MachineException or DockerApiException or HttpRequestException or IOException)
                {
                    // One node that cannot take the image costs that node, not the run.
                    progress.WriteLine($"swarm: node {node.Name} gets no task: loading the image into it failed: {e.Message.Trim()}");
                }
            }
            Loaded = loaded;
            var (placement, problem) = await PlacementAsync(have, announce: false, cancellationToken);
            if (problem is not null) throw new MachineException(problem);
            // Created without the caller's token: a create cut off mid-request could leave a service we never learn the id of.
            var created = await engine.Client.Swarm.CreateServiceAsync(new ServiceCreateParameters { Service = Spec(name, tag, shards.Count, placement) }, CancellationToken.None);
            ServiceId = serviceId = created.ID;
            progress.WriteLine($"swarm: service {name} ({created.ID[..12]}): ReplicatedJob, {shards.Count} shard(s), {Math.Min(settings.MaxConcurrent, shards.Count)} at once");
            await WatchAsync(created.ID, shards, byId, cancellationToken);
        }
        finally
        {
            // Service first (the swarm stops its tasks), then on every engine the run touched: task containers, image.
            if (serviceId is not null) await RemoveServiceAsync(engine.Client, serviceId);
            foreach (var node in touched.Where(n => n.Engine.Endpoint != engine.Endpoint))
            {
                if (serviceId is not null) await RemoveTaskContainersAsync(node.Engine.Client, serviceId, progress, node.Name);
                await RemoveImageAsync(node.Engine.Client, tag, progress, node.Name);
            }
            await RemoveImageAsync(engine.Client, tag, progress, "this one");
        }
    }

    private static async Task RemoveImageAsync(DockerClient client, string tag, TextWriter progress, string node)
    {
        try { await client.Images.DeleteImageAsync(tag, new ImageDeleteParameters { Force = true }, CancellationToken.None); }
        catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound) { /* never loaded there, or gone */ }
        catch (Exception e) when (e is DockerApiException or HttpRequestException or IOException)
        {
            progress.WriteLine($"swarm: could not remove image {tag} on node {node}: {e.Message.Trim()} (the next swarm run that names the node removes it)");
        }
    }

    /// <summary>
    /// Where tasks may run: nodes that are ready, active, and have (or will have) the per-run image, i.e. this
    /// engine's node and <paramref name="have"/>. Every other node is kept off with a `node.id!=` constraint
    /// (constraints are ANDed), with one line saying which and why when <paramref name="announce"/>. No node
    /// left is the problem returned, with the fix.
    /// </summary>
    private async Task<(Placement? Placement, string? Problem)> PlacementAsync(IReadOnlySet<string> have, bool announce, CancellationToken cancellationToken)
    {
        var all = (await engine.Client.Swarm.ListNodesAsync(cancellationToken)).ToList();
        var self = (await engine.Client.System.GetSystemInfoAsync(cancellationToken)).Swarm?.NodeID;
        static string Name(NodeListResponse n) => $"{n.ID[..Math.Min(12, n.ID.Length)]} ({n.Description?.Hostname})";
        var without = all.Where(n => n.ID != self && !have.Contains(n.ID)).ToList();
        var usable = all.Where(n => (n.ID == self || have.Contains(n.ID)) && n.Status?.State == "ready" && n.Spec?.Availability == "active").ToList();
        if (usable.Count == 0)
        {
            var states = string.Join(", ", all.Select(n => $"{Name(n)} {n.Status?.State}/{n.Spec?.Availability}" + (n.ID == self ? " (this one)" : have.Contains(n.ID) ? " (named)" : " (no --node-engine)")));
            return (null, $"no swarm node can run the tasks: a task needs a ready, active node with the per-run image, i.e. this manager or a node named with {SwarmNodeSpec.Option} NODE=ENDPOINT " +
                $"(nodes: {states}); name a node's engine with {SwarmNodeSpec.Option}, or make this node active (`docker node update --availability active {self}`)");
        }
        if (announce && without.Count > 0)
            progress.WriteLine($"swarm: {without.Count} of {all.Count} node(s) get no task, they would lack the per-run image (no {SwarmNodeSpec.Option} names their engine): " +
                $"{string.Join(", ", without.Select(Name))}; tasks run on {string.Join(", ", usable.Select(Name))}");
        return (without.Count == 0 ? null : new Placement { Constraints = without.Select(n => $"node.id!={n.ID}").ToList() }, null);
    }

    private ServiceSpec Spec(string name, string tag, int shards, Placement? placement)
    {
        var owner = new Dictionary<string, string> { [SwarmImage.OwnerLabel] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture) };
        return new ServiceSpec
        {
            Name = name,
            Labels = owner,
            Mode = new ServiceMode { ReplicatedJob = new ReplicatedJob { MaxConcurrent = (ulong)Math.Max(1, settings.MaxConcurrent), TotalCompletions = (ulong)shards } },
            TaskTemplate = new TaskSpec
            {
                ContainerSpec = new ContainerSpec
                {
                    Image = tag,
                    Labels = owner,
                    Env = [$"{SwarmTask.SlotVariable}={{{{.Task.Slot}}}}", $"{SwarmTask.NodeVariable}={{{{.Node.ID}}}}"],
                },
                // The swarm itself retries a failed task once. Measured here (20.10.24): with condition none a
                // failed job task was still re-run one to two times; on-failure with one attempt is exact.
                RestartPolicy = new SwarmRestartPolicy { Condition = "on-failure", MaxAttempts = 1, Delay = 0 },
                // Limits only: a reservation of the guest's CPUs would let a 2-core node run one task at a time.
                Resources = new ResourceRequirements
                {
                    Limits = new SwarmLimit { NanoCPUs = options.Cpus * 1_000_000_000L, MemoryBytes = ((long)options.MemoryMiB << 20) + DockerQemuRuntime.QemuOverheadBytes },
                },
                Placement = placement,
            },
        };
    }

    private async Task WatchAsync(string serviceId, IReadOnlyList<IReadOnlyList<PendingCell>> shards, Dictionary<string, PendingCell> byId, CancellationToken cancellationToken)
    {
        var done = new HashSet<int>();
        var fatal = new Dictionary<int, string>();
        using var stopLogs = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var logs = await engine.Client.Swarm.GetServiceLogsAsync(serviceId, tty: false,
            new ServiceLogsParameters { ShowStdout = true, ShowStderr = true, Follow = true }, cancellationToken);
        var reader = Task.Run(() => ReadLogsAsync(logs, message => Dispatch(message, shards, byId, done, fatal), stopLogs.Token), CancellationToken.None);
        try
        {
            var seen = new Dictionary<string, TaskState>();
            var pendingSince = new Dictionary<string, DateTime>();
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                if (reader.IsFaulted) await reader;
                var tasks = await engine.Client.Tasks.ListAsync(new TasksListParameters
                {
                    Filters = new Dictionary<string, IDictionary<string, bool>> { ["service"] = new Dictionary<string, bool> { [serviceId] = true } },
                }, cancellationToken);
                foreach (var t in tasks)
                {
                    var state = t.Status?.State ?? TaskState.New;
                    if (seen.TryGetValue(t.ID, out var was) && was == state) continue;
                    seen[t.ID] = state;
                    if (state is TaskState.Running or TaskState.Complete or TaskState.Failed or TaskState.Rejected)
                        progress.WriteLine($"swarm: shard {t.Slot} task {t.ID[..12]} {state.ToString().ToLowerInvariant()}{(t.Status?.Err is { Length: > 0 } err ? $": {err}" : "")}");
                }
                var settled = true;
                for (var s = 0; s < shards.Count; s++)
                {
                    var mine = tasks.Where(t => t.Slot == s).ToList();
                    var failed = mine.Count(t => t.Status?.State is TaskState.Failed or TaskState.Rejected or TaskState.Shutdown or TaskState.Orphaned);
                    if (mine.Any(t => t.Status?.State == TaskState.Complete)) continue;
                    if (failed >= 2 && mine.All(t => IsTerminal(t.Status?.State))) continue;
                    // A task no node takes (no room, no image) would wait for ever.
                    foreach (var t in mine.Where(t => t.Status?.State is TaskState.New or TaskState.Pending or TaskState.Allocated or TaskState.Assigned))
                    {
                        var since = pendingSince.TryGetValue(t.ID, out var at) ? at : pendingSince[t.ID] = DateTime.UtcNow;
                        if (DateTime.UtcNow - since > settings.PendingLimit)
                            throw new MachineException($"shard {s}'s task {t.ID[..12]} found no node in {settings.PendingLimit.TotalSeconds:F0} s: {t.Status?.Err ?? t.Status?.Message}");
                    }
                    settled = false;
                }
                if (settled)
                {
                    Attempts = Enumerable.Range(0, shards.Count).ToDictionary(s => s, s => tasks.Count(t => t.Slot == s));
                    Placements = tasks.Select(t => new SwarmTaskPlacement((int)t.Slot, t.NodeID ?? "", (t.Status?.State ?? TaskState.New).ToString().ToLowerInvariant())).ToArray();
                    // The last frames may still be on their way through the log stream.
                    var drain = System.Diagnostics.Stopwatch.StartNew();
                    bool Heard(int s) { lock (done) return done.Contains(s) || fatal.ContainsKey(s); }
                    while (drain.Elapsed < TimeSpan.FromSeconds(15) && Enumerable.Range(0, shards.Count).Any(s => !Heard(s)) && !reader.IsCompleted)
                        await Task.Delay(200, cancellationToken);
                    for (var s = 0; s < shards.Count; s++)
                    {
                        string? told;
                        lock (done)
                        {
                            if (done.Contains(s)) continue;
                            told = fatal.GetValueOrDefault(s);
                        }
                        var last = tasks.Where(t => t.Slot == s).OrderBy(t => t.CreatedAt).LastOrDefault();
                        var why = told
                            ?? (last?.Status is { } st ? $"{st.Err ?? st.Message} (exit {st.ContainerStatus?.ExitCode})" : "no task ran");
                        foreach (var c in shards[s].Where(c => !c.Ended))
                        {
                            c.Ended = true;
                            c.Items.Writer.TryWrite(new MachineException($"swarm shard {s} failed on {Attempts[s]} attempt(s) (the swarm retries a task once): {why}"));
                        }
                    }
                    return;
                }
            }
        }
        finally
        {
            await stopLogs.CancelAsync();
            try { await reader; }
            catch (Exception) when (stopLogs.IsCancellationRequested) { /* stopped on purpose */ }
            logs.Dispose();
        }
    }

    private static bool IsTerminal(TaskState? state) =>
        state is TaskState.Complete or TaskState.Failed or TaskState.Rejected or TaskState.Shutdown or TaskState.Orphaned or TaskState.Remove;

    private void Dispatch(SwarmMessage message, IReadOnlyList<IReadOnlyList<PendingCell>> shards, Dictionary<string, PendingCell> byId, HashSet<int> done, Dictionary<int, string> fatal)
    {
        switch (message.Kind)
        {
            case SwarmMessage.ShardDoneKind:
                lock (done) done.Add(message.Shard);
                return;
            case SwarmMessage.FatalKind:
                lock (done) fatal[message.Shard] = message.Text ?? "no reason given";
                return;
        }
        if (message.CellId is null || !byId.TryGetValue(message.CellId, out var cell) || cell.Ended) return;
        if (message.Kind == SwarmMessage.IterationKind && message.Iteration is { } raw)
        {
            // A retried task runs its shard again: iterations already handed on are not taken twice.
            if (cell.Iterations.Add(raw.Iteration)) cell.Items.Writer.TryWrite(raw);
        }
        else if (message.Kind == SwarmMessage.CellEndKind)
        {
            Directory.CreateDirectory(cell.Request.LogDirectory);
            foreach (var (file, text) in message.Files)
                File.WriteAllText(Path.Combine(cell.Request.LogDirectory, Path.GetFileName(file)), text);
            if (message.Failure is { } failure) cell.Items.Writer.TryWrite(failure.ToException(cell.Request.LogDirectory, $"swarm shard {message.Shard}: "));
            cell.Ended = true;
            cell.Items.Writer.TryComplete();
        }
    }

    private async Task ReadLogsAsync(MultiplexedStream logs, Action<SwarmMessage> dispatch, CancellationToken cancellationToken)
    {
        var frames = new SwarmFrameReader();
        var lines = new[] { new StringBuilder(), new StringBuilder() };
        var buffer = new byte[81920];
        var decoder = new[] { Encoding.UTF8.GetDecoder(), Encoding.UTF8.GetDecoder() };
        var chars = new char[Encoding.UTF8.GetMaxCharCount(buffer.Length)];
        while (true)
        {
            var read = await logs.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken);
            if (read.EOF) return;
            var which = read.Target == MultiplexedStream.TargetStream.StandardError ? 1 : 0;
            var count = decoder[which].GetChars(buffer, 0, read.Count, chars, 0);
            for (var i = 0; i < count; i++)
            {
                if (chars[i] != '\n') { lines[which].Append(chars[i]); continue; }
                var line = lines[which].ToString();
                lines[which].Clear();
                if (which == 1) progress.WriteLine($"    swarm task: {line}");
                else if (frames.Accept(line) is { } message) dispatch(message);
            }
        }
    }

    /// <summary>
    /// Removes a service and then its task containers on this node: the engine (20.10) keeps the exited
    /// containers of a job's tasks after the service is gone. Never the caller's token (this runs on the way out).
    /// </summary>
    public static async Task RemoveServiceAsync(DockerClient client, string id)
    {
        try { await client.Swarm.RemoveServiceAsync(id, CancellationToken.None); }
        catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound) { /* gone already; its containers may not be */ }
        await RemoveTaskContainersAsync(client, id, TextWriter.Null, "this one");
    }

    /// <summary>
    /// The task containers of a removed service on one engine's node, removed (the node's agent may still be
    /// stopping them: up to a minute). A node that cannot be reached gets a line, not an exception: this runs on the way out.
    /// </summary>
    public static async Task RemoveTaskContainersAsync(DockerClient client, string serviceId, TextWriter progress, string node)
    {
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                var left = await ContainersOfAsync(client, serviceId);
                if (left.Count == 0) return;
                foreach (var c in left) await DockerQemuRuntime.RemoveAsync(client, c.ID);
                await Task.Delay(250);
            }
        }
        catch (Exception e) when (e is DockerApiException or HttpRequestException or IOException)
        {
            progress.WriteLine($"swarm: could not remove the task containers of service {serviceId[..12]} on node {node}: {e.Message.Trim()} (the next swarm run that names the node removes them)");
        }
    }

    /// <summary>The task containers of a service on this engine's node (swarm labels them with the service id).</summary>
    public static async Task<IList<ContainerListResponse>> ContainersOfAsync(DockerClient client, string serviceId) =>
        await client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"com.docker.swarm.service.id={serviceId}"] = true } },
        }, CancellationToken.None);

    /// <summary>The harness's services (by label), optionally only one process's.</summary>
    public static async Task<IList<SwarmService>> ServicesAsync(DockerClient client, int? ownerPid, CancellationToken cancellationToken) =>
        (await client.Swarm.ListServicesAsync(new ServicesListParameters
        {
            Filters = new ServiceFilter { Label = [ownerPid is { } pid ? $"{SwarmImage.OwnerLabel}={pid}" : SwarmImage.OwnerLabel] },
        }, cancellationToken)).ToList();

    /// <summary>
    /// Services (on a manager: <paramref name="services"/>) and per-run images whose harness is gone (kill -9) are
    /// removed, with a line each; a worker's engine has no services to list.
    /// </summary>
    public static async Task RemoveLeftoversAsync(DockerClient client, TextWriter progress, bool services, CancellationToken cancellationToken)
    {
        var live = Cache.LiveProcesses.Snapshot();
        bool Gone(IDictionary<string, string>? labels, DateTime created) =>
            labels is not null && labels.TryGetValue(SwarmImage.OwnerLabel, out var owner) && int.TryParse(owner, CultureInfo.InvariantCulture, out var pid)
            && pid != Environment.ProcessId && !live.IsAlive(pid, new DateTimeOffset(created.ToUniversalTime(), TimeSpan.Zero));
        foreach (var service in services ? await ServicesAsync(client, null, cancellationToken) : [])
        {
            if (!Gone(service.Spec?.Labels, service.CreatedAt)) continue;
            progress.WriteLine($"swarm: removing service {service.Spec?.Name} left by a harness process that is gone");
            await RemoveServiceAsync(client, service.ID);
        }
        var images = await client.Images.ListImagesAsync(new ImagesListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [SwarmImage.OwnerLabel] = true } },
        }, cancellationToken);
        foreach (var image in images.Where(i => i.RepoTags?.Any(t => t.StartsWith("harness-swarm:", StringComparison.Ordinal)) == true))
        {
            if (!Gone(image.Labels, image.Created)) continue;
            progress.WriteLine($"swarm: removing image {string.Join(",", image.RepoTags)} left by a harness process that is gone");
            try { await client.Images.DeleteImageAsync(image.ID, new ImageDeleteParameters { Force = true }, cancellationToken); }
            catch (DockerApiException) { /* in use by a service being removed: the next run takes it */ }
        }
    }

    /// <summary>
    /// Waits for the job's end: the last cell's records can be written while the service and the image are
    /// still being removed, and the harness must not exit before they are (nor on Ctrl-C).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        Task? launcher;
        lock (_lock) launcher = _launcher;
        if (launcher is not null) await launcher;
    }

    private sealed class PendingCell(CellRequest request)
    {
        public CellRequest Request { get; } = request;

        /// <summary>Iterations (IterationRaw) and at most one failure (an exception), in order.</summary>
        public Channel<object> Items { get; } = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });

        /// <summary>Iteration numbers already handed on.</summary>
        public HashSet<int> Iterations { get; } = [];

        public bool Ended { get; set; }
    }
}
