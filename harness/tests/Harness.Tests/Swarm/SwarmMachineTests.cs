// The swarm machine for real: a small matrix (Debian's 6.1 cloud kernel; ext4, xfs and btrfs;
// the tiny case) as one ReplicatedJob on a single-node swarm of the test engine, every cell
// judged on the host with its IOs and sectors checked; one shard given a damaged kernel, which
// its task refuses, the swarm retries once, and the cell ends ERROR with the reason; and nothing
// (service, task container, per-run image) left afterwards, checked with the API. The engine is
// made a swarm only when it is not in one, and leaves it again only if this class made it one.
using System.Text.Json;
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

namespace Harness.Tests.Swarm;

[Collection(DockerCollection.Name)]
public sealed class SwarmMachineTests(DockerEngineFixture docker, DebianKernelFixture kernel) : IAsyncLifetime
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("swarm-machine-").FullName;
    private bool _madeSwarm;

    /// <summary>What the machine said before the swarm existed (only when this class had to make one).</summary>
    private string? _outsideSwarm;

    private HarnessResult? _outsideSwarmCli;

    private static string Cache => DebianKernelFixture.CacheRoot;

    public async Task InitializeAsync()
    {
        var state = await docker.Engine.SwarmStateAsync(CancellationToken.None);
        if (state == "active") return;
        _outsideSwarm = await Machine(await OptionsAsync("ext4"), 1, null).CheckAsync(CancellationToken.None);
        _outsideSwarmCli = await HarnessProcess.Command(["run", "--machine", "swarm", "--fs", "ext4", "--case", "tiny", "--results", Path.Combine(_scratch, "cli")], Cache)
            .WithEnvironmentVariables(e => e.Set("DOCKER_HOST", docker.Engine.Endpoint))
            .ExecuteBufferedAsyncFor(TimeSpan.FromMinutes(2));
        // Not 2377: a swarm another engine on this host runs may hold it.
        await docker.Engine.Client.Swarm.InitSwarmAsync(new SwarmInitParameters { AdvertiseAddr = "127.0.0.1", ListenAddr = "127.0.0.1:2378" }, CancellationToken.None);
        _madeSwarm = true;
    }

    public async Task DisposeAsync()
    {
        if (_madeSwarm) await docker.Engine.Client.Swarm.LeaveSwarmAsync(new SwarmLeaveParameters { Force = true }, CancellationToken.None);
        Directory.Delete(_scratch, recursive: true);
    }

    private static async Task<QemuOptions> OptionsAsync(params string[] filesystems) =>
        await new QemuSetup(Cache, TextWriter.Null).PrepareAsync(
            (await new Harness.Kernels.KernelProvider(Cache, TextWriter.Null).GetAsync(
                new Harness.Kernels.KernelCatalog(Path.Combine(RepoPaths.Root, "kernels")).Find("debian-6.1-cloud"), CancellationToken.None)),
            filesystems.Select(FilesystemCatalog.Find).ToArray(), TestAgent.AotPath(Cache), "tcg", BlockBackend.Default,
            512L << 20, cpus: 1, memoryMiB: 768, TimeSpan.FromSeconds(180), TimeSpan.FromSeconds(300), CancellationToken.None);

    private SwarmMachine Machine(QemuOptions options, int cells, int? damagedShard, TextWriter? progress = null) =>
        new(docker.Engine, docker.Image.Tag, options, SwarmPayload.Find(), new SwarmSettings(cells, 2, cells, _scratch) { DamageKernelOfShard = damagedShard }, progress ?? TextWriter.Null);

    [Fact]
    public async Task Small_matrix_runs_as_a_replicated_job_every_cell_checked_and_a_damaged_shard_is_retried_once_then_ERROR()
    {
        // Only observable when the engine was not in a swarm before this class (CI's fresh engine; here, after `docker swarm leave`).
        if (_outsideSwarm is not null)
        {
            Assert.Contains("is not in a swarm (state inactive); make it a single-node swarm: `docker swarm init --advertise-addr 127.0.0.1`", _outsideSwarm);
            Assert.True(_outsideSwarmCli!.ExitCode == 3, _outsideSwarmCli.ToString());
            Assert.Equal($"harness: swarm machine: the engine at {docker.Engine.Endpoint} is not in a swarm (state inactive); make it a single-node swarm: `docker swarm init --advertise-addr 127.0.0.1`",
                _outsideSwarmCli.Stderr.Trim());
        }
        Assert.NotNull(kernel.Kernel);
        var filesystems = new[] { "ext4", "xfs", "btrfs" };
        var options = await OptionsAsync(filesystems);
        var progress = new StringWriter();
        // Shards are dealt in cell order: shard 2 is btrfs-tiny.
        var machine = Machine(options, 3, damagedShard: 2, TextWriter.Synchronized(progress));
        Assert.Null(await machine.CheckAsync(CancellationToken.None));

        RunSummary summary;
        await using (machine)
        {
            summary = await new RunExecutor(machine, new ResultStore(Path.Combine(_scratch, "results")), TimeProvider.System, TextWriter.Synchronized(progress)).RunAsync(
                new RunRequest(filesystems.Select(FilesystemCatalog.Find).ToArray(), [new CaseCatalog(RepoPaths.Cases).Find("tiny")], 1, Path.Combine(_scratch, "work"), "test", Jobs: 3),
                CancellationToken.None);
        }

        Assert.Equal("swarm", summary.Record.Machine.Kind);
        Assert.Contains("ReplicatedJob", summary.Record.Machine.Detail);
        var plan = new CaseCatalog(RepoPaths.Cases).Find("tiny").Workload;
        foreach (var fs in new[] { "ext4", "xfs" })
        {
            var cell = Assert.Single(summary.Record.Cells, c => c.Input.CellId == $"{fs}-tiny");
            Assert.True(cell.Outcome == Outcome.Pass, $"{fs}: {cell.Outcome} {cell.Error}\n{progress}");
            Assert.StartsWith("6.1.0-", cell.Kernel);
            var folder = Path.Combine(summary.ResultsPath, "cells", $"{fs}-tiny");
            var iteration = JsonSerializer.Deserialize<IterationResult>(File.ReadAllText(Path.Combine(folder, "iteration-000.json")), ResultStore.Json)!;
            Assert.Equal(plan.IoCount, iteration.IoCount);
            Assert.Equal(0, iteration.IoErrors);
            Assert.NotEmpty(iteration.Passes);
            Assert.All(iteration.Passes, p => Assert.Equal(plan.FileSize >> 9, p.SectorsChecked));
            // mkfs and fsck ran inside the task: the record names the task's disk, not the host's.
            Assert.True(iteration.Fsck is { Ran: true, Clean: true }, iteration.Fsck?.Output);
            Assert.Contains("/tmp/harness-swarm/work/", iteration.Fsck!.CommandLine);
            Assert.Contains("HARNESS-BOOTED", File.ReadAllText(Path.Combine(folder, "console.log")));
            Assert.True(File.Exists(Path.Combine(folder, "qemu-command.txt")));
        }

        var damaged = Assert.Single(summary.Record.Cells, c => c.Input.CellId == "btrfs-tiny");
        Assert.Equal(Outcome.Error, damaged.Outcome);
        Assert.Contains("swarm shard 2 failed on 2 attempt(s)", damaged.Error);
        Assert.Contains("bzImage-damaged is damaged: SHA-256", damaged.Error);
        Assert.Equal(2, machine.Attempts[2]);
        Assert.Equal(1, machine.Attempts[0]);
        Assert.Equal(Outcome.Error, summary.Record.Outcome);

        // Nothing left: no service of this process, no task container of the job, no per-run image.
        Assert.Empty(await SwarmMachine.ServicesAsync(docker.Engine.Client, Environment.ProcessId, CancellationToken.None));
        Assert.Empty(await SwarmMachine.ContainersOfAsync(docker.Engine.Client, machine.ServiceId!));
        var images = await docker.Engine.Client.Images.ListImagesAsync(new ImagesListParameters { All = true }, CancellationToken.None);
        Assert.DoesNotContain(images, i => i.RepoTags?.Any(t => t.StartsWith($"harness-swarm:{Environment.ProcessId}-", StringComparison.Ordinal)) == true);
    }

    [Fact]
    public async Task Cancel_while_the_job_runs_removes_the_service_its_containers_and_the_image()
    {
        var options = await OptionsAsync("ext4");
        using var cancel = new CancellationTokenSource();
        // Cancel as soon as a task runs: the guest is booting inside it.
        var progress = new LineWatcher(line => { if (line.Contains(" running", StringComparison.Ordinal) && line.StartsWith("swarm: shard", StringComparison.Ordinal)) cancel.Cancel(); });
        var machine = Machine(options, 1, null, progress);
        Assert.Null(await machine.CheckAsync(CancellationToken.None));

        RunSummary summary;
        await using (machine)
        {
            summary = await new RunExecutor(machine, new ResultStore(Path.Combine(_scratch, "results")), TimeProvider.System, TextWriter.Null).RunAsync(
                new RunRequest([FilesystemCatalog.Find("ext4")], [new CaseCatalog(RepoPaths.Cases).Find("tiny")], 1, Path.Combine(_scratch, "work"), "test", Jobs: 1),
                cancel.Token);
        }

        Assert.True(cancel.IsCancellationRequested, $"no task ever ran:\n{progress}");
        Assert.True(summary.Record.Interrupted);
        Assert.NotNull(machine.ServiceId);
        Assert.Empty(await SwarmMachine.ServicesAsync(docker.Engine.Client, Environment.ProcessId, CancellationToken.None));
        Assert.Empty(await SwarmMachine.ContainersOfAsync(docker.Engine.Client, machine.ServiceId!));
        var images = await docker.Engine.Client.Images.ListImagesAsync(new ImagesListParameters { All = true }, CancellationToken.None);
        Assert.DoesNotContain(images, i => i.RepoTags?.Any(t => t.StartsWith($"harness-swarm:{Environment.ProcessId}-", StringComparison.Ordinal)) == true);
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
}
