// The other nodes of a swarm, as the user names them: the manager's API lists the nodes but not
// the address of each node's engine, so `--node-engine NODE=ENDPOINT` gives it. Each named engine
// is connected and asked who it is (`/info` Swarm.NodeID) before anything is loaded into it: an
// endpoint that points at another machine would get the image while the tasks went elsewhere.
// The per-run image is loaded into a named node by streaming the manager's `docker save` into the
// node's `docker load` (no registry, never the whole image in memory).
using System.Diagnostics;
using Docker.DotNet;
using Docker.DotNet.Models;
using Harness.Machines.Docker;
using Harness.Yaml;

namespace Harness.Machines.Swarm;

/// <summary>One `--node-engine NODE=ENDPOINT` as typed.</summary>
public sealed record SwarmNodeSpec(string Node, string Endpoint)
{
    public const string Option = "--node-engine";

    /// <summary>Parses NODE=ENDPOINT; a malformed one is an input error naming the option.</summary>
    public static SwarmNodeSpec Parse(string text)
    {
        var at = text.IndexOf('=', StringComparison.Ordinal);
        if (at <= 0 || at == text.Length - 1)
            throw Problem($"'{text}' is not NODE=ENDPOINT (NODE: a hostname or node id as `docker node ls` shows; ENDPOINT as DOCKER_HOST takes it, e.g. unix:///run/docker-w.sock or tcp://10.0.0.7:2376)");
        var node = text[..at].Trim();
        var endpoint = text[(at + 1)..].Trim();
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("unix" or "tcp" or "http" or "https"))
            throw Problem($"'{text}': the endpoint '{endpoint}' is not unix:///path or tcp://host:port");
        return new SwarmNodeSpec(node, endpoint);
    }

    internal static InputException Problem(string message) => new(new InputProblem(Option, 0, 0, Option, message));
}

/// <summary>A swarm node whose engine the harness reaches: its id and hostname (from the manager) and its connected engine.</summary>
public sealed record SwarmNode(string Id, string Hostname, DockerEngine Engine)
{
    /// <summary>How lines name a node: short id and hostname.</summary>
    public string Name => $"{Id[..Math.Min(12, Id.Length)]} ({Hostname})";
}

/// <summary>The named nodes of a run; disposing it closes their engines' clients.</summary>
public sealed class SwarmNodeSet(IReadOnlyList<SwarmNode> nodes) : IDisposable
{
    public IReadOnlyList<SwarmNode> Nodes { get; } = nodes;

    public void Dispose()
    {
        foreach (var node in Nodes) node.Engine.Dispose();
    }
}

public static class SwarmNodes
{
    /// <summary>
    /// Matches each spec to a node of the manager's swarm (by id or hostname), connects to its engine and
    /// checks the engine is that node. Unknown or ambiguous names, a repeated node and an engine that is
    /// another node are input errors (exit 2); an engine that does not answer is a <see cref="MachineException"/>
    /// (exit 3) naming node and endpoint. The caller disposes the set.
    /// </summary>
    public static async Task<SwarmNodeSet> ResolveAsync(DockerEngine manager, IReadOnlyList<SwarmNodeSpec> specs, CancellationToken cancellationToken)
    {
        if (specs.Count == 0) return new SwarmNodeSet([]);
        var nodes = (await manager.Client.Swarm.ListNodesAsync(cancellationToken)).ToList();
        string Listing() => string.Join(", ", nodes.Select(n => $"{n.ID} ({n.Description?.Hostname})"));
        var resolved = new List<SwarmNode>();
        try
        {
            foreach (var spec in specs)
            {
                var byId = nodes.Where(n => n.ID == spec.Node).ToList();
                var matches = byId.Count > 0 ? byId : nodes.Where(n => string.Equals(n.Description?.Hostname, spec.Node, StringComparison.Ordinal)).ToList();
                if (matches.Count == 0)
                    throw SwarmNodeSpec.Problem($"{spec.Node}: no such node in the swarm of {manager.Endpoint}; its nodes: {Listing()}");
                if (matches.Count > 1)
                    throw SwarmNodeSpec.Problem($"{spec.Node}: {matches.Count} nodes have that hostname; name one by its id: {string.Join(", ", matches.Select(n => n.ID))}");
                var node = matches[0];
                if (resolved.Any(r => r.Id == node.ID))
                    throw SwarmNodeSpec.Problem($"{spec.Node}: node {node.ID} is named twice");
                DockerEngine engine;
                try
                {
                    engine = await DockerEngine.ConnectAsync(spec.Endpoint, cancellationToken);
                }
                catch (MachineException e)
                {
                    throw new MachineException($"{SwarmNodeSpec.Option} {spec.Node}={spec.Endpoint}: node {node.ID} ({node.Description?.Hostname}): {e.Message}", e);
                }
                var hostname = node.Description?.Hostname ?? "?";
                resolved.Add(new SwarmNode(node.ID, hostname, engine));
                var info = await engine.Client.System.GetSystemInfoAsync(cancellationToken);
                var actual = info.Swarm?.NodeID;
                if (actual != node.ID)
                    throw SwarmNodeSpec.Problem($"{spec.Node}={spec.Endpoint}: that engine is " +
                        (string.IsNullOrEmpty(actual) ? $"in no swarm (state {info.Swarm?.LocalNodeState})" : $"node {actual} ({info.Name})") +
                        $", not node {node.ID} ({hostname}); the image would be loaded into the wrong machine");
            }
            return new SwarmNodeSet(resolved);
        }
        catch
        {
            foreach (var r in resolved) r.Engine.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Gives <paramref name="node"/> the image <paramref name="tag"/> of the manager's engine: nothing when the node
    /// already has that image id, else the manager's `GET /images/{tag}/get` streamed into the node's `POST /images/load`,
    /// with a progress line every few seconds (bytes, seconds). Returns the bytes moved (0 when skipped).
    /// </summary>
    public static async Task<long> LoadImageAsync(DockerClient manager, SwarmNode node, string tag, TextWriter progress, CancellationToken cancellationToken)
    {
        var wanted = await RunnerImage.InspectAsync(manager, tag, cancellationToken)
            ?? throw new MachineException($"the manager's engine has no image {tag} to load into node {node.Name}");
        if (await RunnerImage.InspectAsync(node.Engine.Client, tag, cancellationToken) is { } present && present.ID == wanted.ID)
        {
            progress.WriteLine($"swarm: node {node.Name} has image {tag} already ({wanted.ID[7..19]}); not loaded");
            return 0;
        }
        var clock = Stopwatch.StartNew();
        string? error = null;
        await using (var saved = await manager.Images.SaveImageAsync(tag, cancellationToken))
        await using (var counted = new CountingStream(saved, bytes => progress.WriteLine(
            $"swarm: loading image {tag} into node {node.Name}: {bytes / 1e6:F0} MB in {clock.Elapsed.TotalSeconds:F1} s")))
        {
            await node.Engine.Client.Images.LoadImageAsync(new ImageLoadParameters { Quiet = true }, counted, new Progress<JSONMessage>(m =>
            {
                if (m.Error is not null) error = m.Error.Message;
                else if (m.ErrorMessage is { Length: > 0 } message) error = message;
            }), cancellationToken);
            if (error is not null) throw new MachineException($"loading image {tag} into node {node.Name} at {node.Engine.Endpoint} failed: {error}");
            var loaded = await RunnerImage.InspectAsync(node.Engine.Client, tag, cancellationToken);
            if (loaded?.ID != wanted.ID)
                throw new MachineException($"after loading, node {node.Name} has {(loaded is null ? "no image " + tag : $"image {loaded.ID} as {tag}")}, not {wanted.ID}");
            progress.WriteLine($"swarm: loaded image {tag} into node {node.Name}: {counted.Total / 1e6:F0} MB in {clock.Elapsed.TotalSeconds:F1} s");
            return counted.Total;
        }
    }

    /// <summary>A read-only pass-through that counts bytes and reports every few seconds.</summary>
    private sealed class CountingStream(Stream inner, Action<long> report) : Stream
    {
        private readonly Stopwatch _since = Stopwatch.StartNew();

        public long Total { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Total; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Counted(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Counted(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int Counted(int read)
        {
            Total += read;
            if (_since.Elapsed >= TimeSpan.FromSeconds(5))
            {
                _since.Restart();
                report(Total);
            }
            return read;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
