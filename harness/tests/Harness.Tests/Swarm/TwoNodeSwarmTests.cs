// The swarm machine across two nodes for real (TwoNodeSwarmFixture: two engines on this host,
// unix sockets): with the worker's engine named (`--node-engine`), the per-run image is loaded
// into it through its own engine API and a task runs there (the task's NodeID from the tasks API);
// without it, the worker is kept off with a line and every cell runs on the manager; afterwards no
// service, task container or per-run image is left on either engine (checked with the API). The
// option's errors (unknown node, an engine that is another node, one that does not answer) are
// checked through the CLI.
using System.Text.Json;
using Docker.DotNet;
using Docker.DotNet.Models;
using Harness.Cases;
using Harness.Cli;
using Harness.Filesystems;
using Harness.Machines.Docker;
using Harness.Machines.Qemu;
using Harness.Machines.Swarm;
using Harness.Results;
using Harness.Runs;
using Harness.Tests.Docker;
using Harness.Tests.Kernels;
using Harness.Tests.Support;
using Harness.Verdicts;
using Xunit;
using Xunit.Abstractions;

namespace Harness.Tests.Swarm;

[Collection(DockerCollection.Name)]
public sealed class TwoNodeSwarmTests(TwoNodeSwarmFixture swarm, DebianKernelFixture kernel, ITestOutputHelper output) : IClassFixture<TwoNodeSwarmFixture>, IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("swarm-nodes-").FullName;

    private static string Cache => DebianKernelFixture.CacheRoot;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static async Task<QemuOptions> OptionsAsync(params string[] filesystems) =>
        await new QemuSetup(Cache, TextWriter.Null).PrepareAsync(
            await new Harness.Kernels.KernelProvider(Cache, TextWriter.Null).GetAsync(
                new Harness.Kernels.KernelCatalog(Path.Combine(RepoPaths.Root, "kernels")).Find("debian-6.1-cloud"), CancellationToken.None),
            filesystems.Select(FilesystemCatalog.Find).ToArray(), TestAgent.AotPath(Cache), "tcg", BlockBackend.Default,
            512L << 20, cpus: 1, memoryMiB: 768, TimeSpan.FromSeconds(180), TimeSpan.FromSeconds(300), CancellationToken.None);

    /// <summary>Runs ext4-tiny and xfs-tiny (1 repeat) as a job of <paramref name="shards"/> shard(s), 2 tasks at once.</summary>
    private async Task<(SwarmMachine Machine, RunSummary Summary, string Progress)> RunAsync(IReadOnlyList<SwarmNode> nodes, int shards)
    {
        var filesystems = new[] { "ext4", "xfs" };
        var options = await OptionsAsync(filesystems);
        var progress = new StringWriter();
        var log = TextWriter.Synchronized(progress);
        var machine = new SwarmMachine(swarm.Manager, swarm.Image.Tag, options, SwarmPayload.Find(), new SwarmSettings(shards, 2, 2, _scratch), log, nodes);
        Assert.Null(await machine.CheckAsync(CancellationToken.None));
        RunSummary summary;
        await using (machine)
        {
            summary = await new RunExecutor(machine, new ResultStore(Path.Combine(_scratch, "results")), TimeProvider.System, log).RunAsync(
                new RunRequest(filesystems.Select(FilesystemCatalog.Find).ToArray(), [new CaseCatalog(RepoPaths.Cases).Find("tiny")], 1, Path.Combine(_scratch, "work"), "test", Jobs: 2),
                CancellationToken.None);
        }
        output.WriteLine(progress.ToString());
        var plan = new CaseCatalog(RepoPaths.Cases).Find("tiny").Workload;
        foreach (var fs in filesystems)
        {
            var cell = Assert.Single(summary.Record.Cells, c => c.Input.CellId == $"{fs}-tiny");
            Assert.True(cell.Outcome == Outcome.Pass, $"{fs}: {cell.Outcome} {cell.Error}\n{progress}");
            var iteration = JsonSerializer.Deserialize<IterationResult>(
                File.ReadAllText(Path.Combine(summary.ResultsPath, "cells", $"{fs}-tiny", "iteration-000.json")), ResultStore.Json)!;
            Assert.Equal(plan.IoCount, iteration.IoCount);
            Assert.Equal(0, iteration.IoErrors);
            Assert.NotEmpty(iteration.Passes);
            Assert.All(iteration.Passes, p => Assert.Equal(plan.FileSize >> 9, p.SectorsChecked));
        }
        await AssertNothingLeftAsync(machine.ServiceId!);
        return (machine, summary, progress.ToString());
    }

    /// <summary>No service of this process on the manager; no task container of the job and no per-run image on either engine.</summary>
    private async Task AssertNothingLeftAsync(string serviceId)
    {
        Assert.Empty(await SwarmMachine.ServicesAsync(swarm.Manager.Client, Environment.ProcessId, CancellationToken.None));
        foreach (var engine in new[] { swarm.Manager, swarm.Worker })
        {
            Assert.Empty(await SwarmMachine.ContainersOfAsync(engine.Client, serviceId));
            Assert.Empty(await DockerQemuRuntime.ListAsync(engine.Client, Environment.ProcessId, CancellationToken.None));
            var images = await engine.Client.Images.ListImagesAsync(new ImagesListParameters { All = true }, CancellationToken.None);
            Assert.DoesNotContain(images, i => i.RepoTags?.Any(t => t.StartsWith($"harness-swarm:{Environment.ProcessId}-", StringComparison.Ordinal)) == true);
        }
    }

    [Fact]
    public async Task Named_worker_gets_the_image_through_its_engine_and_runs_a_task_every_cell_checked_nothing_left_on_either_node()
    {
        Assert.NotNull(kernel.Kernel);
        output.WriteLine($"two-node swarm set up in {swarm.SetupSeconds:F1} s (runner image into m: {swarm.Image.How}, {swarm.Image.Seconds:F1} s)");
        // By hostname, as a user reads it off `docker node ls`.
        using var nodes = await SwarmNodes.ResolveAsync(swarm.Manager, [SwarmNodeSpec.Parse($"{TwoNodeSwarmFixture.WorkerHostname}={TwoNodeSwarmFixture.WorkerEndpoint}")], CancellationToken.None);
        Assert.Equal(swarm.WorkerNodeId, Assert.Single(nodes.Nodes).Id);

        // Two shards, two at once: the swarm's spread puts one task on each node (no constraint forces it).
        var (machine, _, progress) = await RunAsync(nodes.Nodes, shards: 2);

        Assert.True(machine.Loaded[swarm.WorkerNodeId] > 100_000_000, progress);
        Assert.Matches(@"swarm: loaded image harness-swarm:\S+ into node \w+ \(harness-test-w\): \d+ MB in [\d.]+ s", progress);
        Assert.DoesNotContain("get no task", progress);
        Assert.Contains(machine.Placements, p => p.NodeId == swarm.WorkerNodeId && p.State == "complete");
        Assert.All(machine.Placements, p => Assert.Contains(p.NodeId, new[] { swarm.ManagerNodeId, swarm.WorkerNodeId }));
    }

    [Fact]
    public async Task Without_node_engine_the_worker_is_kept_off_with_a_line_and_every_cell_runs_on_the_manager()
    {
        // One shard: its task runs both cells in order.
        var (machine, _, progress) = await RunAsync([], shards: 1);

        Assert.Contains($"swarm: 1 of 2 node(s) get no task, they would lack the per-run image (no --node-engine names their engine): {swarm.WorkerNodeId[..12]} (harness-test-w); tasks run on {swarm.ManagerNodeId[..12]} (harness-test-m)", progress);
        Assert.Empty(machine.Loaded);
        var task = Assert.Single(machine.Placements);
        Assert.Equal(swarm.ManagerNodeId, task.NodeId);
        Assert.Equal("complete", task.State);
    }

    [Fact]
    public async Task Cancel_once_both_tasks_run_removes_service_task_containers_and_images_on_both_nodes()
    {
        var filesystems = new[] { "ext4", "xfs" };
        var options = await OptionsAsync(filesystems);
        using var nodes = await SwarmNodes.ResolveAsync(swarm.Manager, [new SwarmNodeSpec(swarm.WorkerNodeId, TwoNodeSwarmFixture.WorkerEndpoint)], CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        // Cancel (as Ctrl-C does) once both tasks run: one on each node, the guests booting in them.
        var running = 0;
        var progress = new LineWatcher(line =>
        {
            if (line.StartsWith("swarm: shard", StringComparison.Ordinal) && line.EndsWith(" running", StringComparison.Ordinal) && Interlocked.Increment(ref running) == 2) cancel.Cancel();
        });
        var machine = new SwarmMachine(swarm.Manager, swarm.Image.Tag, options, SwarmPayload.Find(), new SwarmSettings(2, 2, 2, _scratch), progress, nodes.Nodes);
        Assert.Null(await machine.CheckAsync(CancellationToken.None));
        RunSummary summary;
        await using (machine)
        {
            summary = await new RunExecutor(machine, new ResultStore(Path.Combine(_scratch, "results")), TimeProvider.System, TextWriter.Null).RunAsync(
                new RunRequest(filesystems.Select(FilesystemCatalog.Find).ToArray(), [new CaseCatalog(RepoPaths.Cases).Find("tiny")], 1, Path.Combine(_scratch, "work"), "test", Jobs: 2),
                cancel.Token);
        }
        output.WriteLine(progress.ToString());

        Assert.True(cancel.IsCancellationRequested, $"the two tasks never ran:\n{progress}");
        Assert.True(summary.Record.Interrupted);
        Assert.True(machine.Loaded[swarm.WorkerNodeId] > 0, progress.ToString());
        await AssertNothingLeftAsync(machine.ServiceId!);
    }

    /// <summary>A progress writer that hands every complete line to a callback.</summary>
    private sealed class LineWatcher(Action<string> onLine) : StringWriter
    {
        private readonly Lock _lock = new();

        public override void WriteLine(string? value)
        {
            lock (_lock) base.WriteLine(value);
            onLine(value ?? "");
        }
    }

    [Fact]
    public async Task Image_load_streams_into_the_node_and_is_skipped_when_the_node_has_that_image_id()
    {
        // A one-file image made on m (docker import of a tiny tar): the load path without the 450 MB.
        var tag = $"harness-swarm-load-test:{Environment.ProcessId}";
        var tar = new MemoryStream();
        await using (var writer = new System.Formats.Tar.TarWriter(tar, leaveOpen: true))
            await writer.WriteEntryAsync(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "hello") { DataStream = new MemoryStream("hello"u8.ToArray()) });
        tar.Position = 0;
        await swarm.Manager.Client.Images.CreateImageAsync(new ImagesCreateParameters { FromSrc = "-", Repo = tag.Split(':')[0], Tag = tag.Split(':')[1] }, tar, null, new Progress<JSONMessage>(), CancellationToken.None);
        using var nodes = await SwarmNodes.ResolveAsync(swarm.Manager, [new SwarmNodeSpec(swarm.WorkerNodeId, TwoNodeSwarmFixture.WorkerEndpoint)], CancellationToken.None);
        var worker = Assert.Single(nodes.Nodes);
        try
        {
            var progress = new StringWriter();
            var first = await SwarmNodes.LoadImageAsync(swarm.Manager.Client, worker, tag, progress, CancellationToken.None);
            var second = await SwarmNodes.LoadImageAsync(swarm.Manager.Client, worker, tag, progress, CancellationToken.None);

            Assert.True(first > 0, progress.ToString());
            Assert.Equal(0, second);
            Assert.Equal((await RunnerImage.InspectAsync(swarm.Manager.Client, tag, CancellationToken.None))!.ID, (await RunnerImage.InspectAsync(swarm.Worker.Client, tag, CancellationToken.None))!.ID);
            Assert.Contains($"swarm: loaded image {tag} into node {worker.Name}: 0 MB in ", progress.ToString());
            Assert.Contains($"swarm: node {worker.Name} has image {tag} already (", progress.ToString());
        }
        finally
        {
            foreach (var engine in new[] { swarm.Manager, swarm.Worker })
            {
                try { await engine.Client.Images.DeleteImageAsync(tag, new ImageDeleteParameters { Force = true }, CancellationToken.None); }
                catch (DockerApiException) { /* not there */ }
            }
        }
    }

    [Fact]
    public async Task Node_engine_errors_unknown_node_exit_2_listing_the_nodes_another_nodes_engine_exit_2_no_answer_exit_3()
    {
        async Task<HarnessResult> Run(string nodeEngine) =>
            await HarnessProcess.Command(["run", "--machine", "swarm", "--fs", "ext4", "--case", "tiny", "--results", Path.Combine(_scratch, "results"), "--node-engine", nodeEngine], Cache)
                .WithEnvironmentVariables(e => e.Set("DOCKER_HOST", swarm.Manager.Endpoint))
                .ExecuteBufferedAsyncFor(TimeSpan.FromMinutes(1));

        var unknown = await Run("nosuch=unix:///run/nothing.sock");
        Assert.True(unknown.ExitCode == 2, unknown.ToString());
        Assert.Contains("harness: --node-engine: nosuch: no such node in the swarm of unix:///run/harness-test-node-m.sock; its nodes: ", unknown.Stderr);
        Assert.Contains($"{swarm.WorkerNodeId} (harness-test-w)", unknown.Stderr);
        Assert.Contains($"{swarm.ManagerNodeId} (harness-test-m)", unknown.Stderr);

        // The manager's own engine named as the worker's: loading there would not reach w.
        var wrong = await Run($"{swarm.WorkerNodeId}={swarm.Manager.Endpoint}");
        Assert.True(wrong.ExitCode == 2, wrong.ToString());
        Assert.Equal($"harness: --node-engine: {swarm.WorkerNodeId}={swarm.Manager.Endpoint}: that engine is node {swarm.ManagerNodeId} (harness-test-m), not node {swarm.WorkerNodeId} (harness-test-w); the image would be loaded into the wrong machine",
            wrong.Stderr.Trim());

        var silent = await Run("harness-test-w=unix:///run/harness-test-node-none.sock");
        Assert.True(silent.ExitCode == 3, silent.ToString());
        Assert.StartsWith($"harness: --node-engine harness-test-w=unix:///run/harness-test-node-none.sock: node {swarm.WorkerNodeId} (harness-test-w): no Docker engine answers at unix:///run/harness-test-node-none.sock", silent.Stderr.Trim());
    }
}
