// A real two-node swarm on this one host: two private engines (`dockerd --iptables=false
// --bridge=none`, each with its own data root, exec root, pidfile and unix socket; without
// --containerd each starts its own containerd), each in its own UTS namespace so the nodes have
// their own hostnames (harness-test-m, harness-test-w) as two machines would. m inits a swarm on
// 127.0.0.1:2391, w joins it as a worker on 127.0.0.1:2392 (2377 and 2378 belong to the default
// engine's swarm and the single-node tests). The runner image gets into m from the cached tar
// (RunnerImage.EnsureAsync), never into w: the swarm machine must load what w needs. Both engines
// are stopped gracefully and their folders deleted at the end; a pair left by a killed test run
// is stopped and wiped first.
using CliWrap;
using Docker.DotNet.Models;
using Harness.Machines;
using Harness.Machines.Docker;
using Harness.Tests.Docker;
using Harness.Tests.Kernels;
using Xunit;

namespace Harness.Tests.Swarm;

public sealed class TwoNodeSwarmFixture : IAsyncLifetime
{
    private readonly List<Node> _nodes = [];

    public DockerEngine Manager => _nodes[0].Engine!;
    public DockerEngine Worker => _nodes[1].Engine!;

    /// <summary>The worker's engine endpoint, as `--node-engine` takes it.</summary>
    public static string WorkerEndpoint => Node.Socket("w");

    public const string WorkerHostname = "harness-test-w";

    public string ManagerNodeId { get; private set; } = "";
    public string WorkerNodeId { get; private set; } = "";

    public RunnerImageResult Image { get; private set; } = null!;

    /// <summary>Seconds the setup took (two engines, the runner image into m, the swarm).</summary>
    public double SetupSeconds { get; private set; }

    public async Task InitializeAsync()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (var name in new[] { "m", "w" })
        {
            var node = new Node(name);
            _nodes.Add(node);
            await node.StartAsync();
        }
        Image = await new RunnerImage(DebianKernelFixture.CacheRoot, TextWriter.Null).EnsureAsync(
            Manager.Client, await RunnerImage.ResolveAsync(CancellationToken.None), rebuild: false, CancellationToken.None);
        await Manager.Client.Swarm.InitSwarmAsync(new SwarmInitParameters { ListenAddr = "127.0.0.1:2391", AdvertiseAddr = "127.0.0.1:2391" }, CancellationToken.None);
        var token = (await Manager.Client.Swarm.InspectSwarmAsync(CancellationToken.None)).JoinTokens.Worker;
        await Worker.Client.Swarm.JoinSwarmAsync(new SwarmJoinParameters
        {
            JoinToken = token, RemoteAddrs = ["127.0.0.1:2391"], ListenAddr = "127.0.0.1:2392", AdvertiseAddr = "127.0.0.1:2392",
        }, CancellationToken.None);
        ManagerNodeId = (await Manager.Client.System.GetSystemInfoAsync(CancellationToken.None)).Swarm.NodeID;
        WorkerNodeId = (await Worker.Client.System.GetSystemInfoAsync(CancellationToken.None)).Swarm.NodeID;
        // The manager schedules only on nodes it sees ready.
        while (true)
        {
            var nodes = (await Manager.Client.Swarm.ListNodesAsync(CancellationToken.None)).ToList();
            if (nodes.Count == 2 && nodes.All(n => n.Status?.State == "ready")) break;
            if (clock.Elapsed > TimeSpan.FromMinutes(2)) throw new TimeoutException($"the two-node swarm is not ready: {string.Join(", ", nodes.Select(n => $"{n.Description?.Hostname} {n.Status?.State}"))}");
            await Task.Delay(250);
        }
        SetupSeconds = clock.Elapsed.TotalSeconds;
    }

    public async Task DisposeAsync()
    {
        foreach (var node in Enumerable.Reverse(_nodes)) await node.StopAsync();
    }

    private sealed class Node(string name)
    {
        private TestDockerd? _dockerd;

        public DockerEngine? Engine { get; private set; }

        public static string Socket(string name) => $"unix:///run/harness-test-node-{name}.sock";

        private string DataRoot => $"/var/lib/harness-test-node-{name}";
        private string ExecRoot => $"/run/harness-test-node-{name}";
        private string PidFile => $"/run/harness-test-node-{name}.pid";
        private string Log => Path.Combine(Path.GetTempPath(), $"harness-test-node-{name}.log");

        public async Task StartAsync()
        {
            await TestDockerd.StopStaleAsync(PidFile, DataRoot);  // a pair left by a killed test run
            Wipe();
            // unshare -u without --fork execs: the pid CliWrap signals is dockerd's.
            (_dockerd, Engine) = await TestDockerd.StartAsync("unshare",
                ["--uts", "sh", "-c", $"hostname harness-test-{name} && exec dockerd --iptables=false --bridge=none " +
                    $"--data-root {DataRoot} --exec-root {ExecRoot} --pidfile {PidFile} -H {Socket(name)}"],
                Log, () => DockerEngine.ConnectAsync(Socket(name), CancellationToken.None), $"dockerd for node {name}");
        }

        public async Task StopAsync()
        {
            Engine?.Dispose();
            if (_dockerd is null) return;
            await _dockerd.StopAsync();
            Wipe();
        }

        private void Wipe()
        {
            foreach (var folder in new[] { DataRoot, ExecRoot })
                if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }
}
