// The docker-host machine for real: a container of the harness-built runner image on a real
// engine, mkfs, mount and the NativeAOT agent inside it against this host's kernel. PASS with the
// work really done on ext4 and xfs, a planted fault FAILing with the class the local machine
// reports, Ctrl-C and the end of a cell leaving no container and no loop device, a filesystem the
// kernel lacks SKIPped with the reason, and the container asking for nothing beyond SYS_ADMIN.
using System.Text.Json;
using Harness.Cases;
using Harness.Faults;
using Harness.Filesystems;
using Harness.Golden;
using Harness.Machines;
using Harness.Machines.Docker;
using Harness.Results;
using Harness.Runs;
using Harness.Tests.Kernels;
using Harness.Tests.Support;
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.Docker;

[Collection(DockerCollection.Name)]
public sealed class DockerHostMachineTests(DockerEngineFixture docker) : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("docker-host-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private DockerHostMachine Machine(IFaultInjector? fault = null) =>
        new(docker.Engine.Client, docker.Image.Tag, new DockerHostOptions(new AgentBinary(TestAgent.AotPath(DebianKernelFixture.CacheRoot)), 512L << 20, fault), TextWriter.Null);

    private Task<RunSummary> RunAsync(IMachine machine, string[] filesystems, string @case, int repeats, CancellationToken cancellationToken, string name = "results", TextWriter? progress = null) =>
        new RunExecutor(machine, new ResultStore(Path.Combine(_scratch, name)), TimeProvider.System, progress ?? TextWriter.Null).RunAsync(
            new RunRequest(filesystems.Select(FilesystemCatalog.Find).ToArray(), [new CaseCatalog(RepoPaths.Cases).Find(@case)], repeats, Path.Combine(_scratch, "work-" + name), "test"),
            cancellationToken);

    private static IterationResult Read(RunSummary summary, string cell, int iteration = 0) =>
        JsonSerializer.Deserialize<IterationResult>(File.ReadAllText(Path.Combine(summary.ResultsPath, "cells", cell, $"iteration-{iteration:D3}.json")), ResultStore.Json)!;

    /// <summary>Nothing of this test left: no container of this process, no loop device on an image under the scratch folder.</summary>
    private async Task AssertNothingLeftAsync()
    {
        Assert.Empty(await DockerQemuRuntime.ListAsync(docker.Engine.Client, Environment.ProcessId, CancellationToken.None));
        var (_, loops) = await HostCommand.TryRunAsync("losetup", ["-a"], "/", CancellationToken.None);
        Assert.DoesNotContain(_scratch, loops);
        Assert.Empty(Directory.Exists(Path.Combine(_scratch, "work-results")) ? Directory.GetDirectories(Path.Combine(_scratch, "work-results"), "*", SearchOption.AllDirectories).Where(d => d.EndsWith("/mnt", StringComparison.Ordinal)) : []);
    }

    [Fact]
    public async Task Seed_case_passes_on_ext4_and_xfs_with_the_work_done_and_nothing_left()
    {
        var machine = Machine();
        Assert.Null(await machine.CheckAsync(CancellationToken.None));

        var summary = await RunAsync(machine, ["ext4", "xfs"], "seed", repeats: 1, CancellationToken.None);

        Assert.Equal(Outcome.Pass, summary.Record.Outcome);
        Assert.Equal("docker-host", summary.Record.Machine.Kind);
        Assert.Equal(HostInfo.KernelRelease(), summary.Record.Machine.Kernel);
        foreach (var cell in new[] { "ext4-seed", "xfs-seed" })
        {
            var iteration = Read(summary, cell);
            Assert.Equal(Outcome.Pass, iteration.Outcome);
            Assert.Equal(8191, iteration.IoCount);
            Assert.Equal(0, iteration.IoErrors);
            Assert.Equal(["after-fsync", "after-remount"], iteration.Passes.Select(p => p.Pass));
            Assert.All(iteration.Passes, p => Assert.Equal(32L << 20 >> 9, p.SectorsChecked));
            Assert.True(iteration.Fsck is { Ran: true, Clean: true }, iteration.Fsck?.Output);
            // The cell's setup happened in its container: the phases say so.
            Assert.Equal(["losetup", "container", "mkfs", "mount"], iteration.Phases.Select(p => p.Name).Take(4));
        }
        await AssertNothingLeftAsync();
    }

    [Theory]
    [InlineData("zero-sub-block")]
    [InlineData("size")]
    public async Task Planted_fault_fails_as_it_does_on_the_local_machine(string name)
    {
        var fault = FaultCatalog.Create(name);

        var inContainer = await RunAsync(Machine(fault), ["ext4"], "seed", repeats: 1, CancellationToken.None);
        var onHost = await RunAsync(new LocalMachine(new LocalMachineOptions(TestAgent.Binary, 512L << 20, Fault: fault)), ["ext4"], "seed", repeats: 1, CancellationToken.None, "local");

        Assert.Equal(Outcome.Fail, onHost.Record.Outcome);
        Assert.Equal(Outcome.Fail, inContainer.Record.Outcome);
        var (container, host) = (Read(inContainer, "ext4-seed"), Read(onHost, "ext4-seed"));
        Assert.Equal(8191, container.IoCount);
        Assert.Equal(0, container.IoErrors);
        Assert.Equal(0, container.Passes.Single(p => p.Pass == "after-fsync").FindingCount);
        Assert.Equal([IterationJudge.ClassWord(fault.Proves)], container.Passes.Single(p => p.Pass == "after-remount").FindingsByClass.Keys);
        Assert.Equal(host.Passes.Select(p => (p.Pass, string.Join(",", p.FindingsByClass.Keys))), container.Passes.Select(p => (p.Pass, string.Join(",", p.FindingsByClass.Keys))));
        await AssertNothingLeftAsync();
    }

    [Fact]
    public async Task The_io_error_fault_is_refused_with_the_way_out()
    {
        var problem = await Machine(FaultCatalog.Create("io-error")).CheckAsync(CancellationToken.None);

        Assert.NotNull(problem);
        Assert.Contains("--machine local", problem);
    }

    [Fact]
    public async Task Cancel_mid_cell_leaves_no_container_and_no_loop_device()
    {
        using var cancel = new CancellationTokenSource();
        // Cancel once the cell's first iteration is judged: the container is up, the image mounted in it.
        var progress = new LineWatcher(line => { if (line.Contains("ext4-seed iteration 1/", StringComparison.Ordinal)) cancel.Cancel(); });

        var summary = await RunAsync(Machine(), ["ext4"], "seed", repeats: 5, cancel.Token, progress: progress);

        Assert.True(cancel.IsCancellationRequested, "the first iteration never finished");
        Assert.True(summary.Record.Interrupted);
        var cell = Assert.Single(summary.Record.Cells);
        Assert.True(cell.Passed is >= 1 and < 5, $"{cell.Passed} passed");
        await AssertNothingLeftAsync();
    }

    [Fact]
    public async Task A_filesystem_the_hosts_kernel_lacks_is_SKIP_with_the_reason_and_the_run_goes_on()
    {
        // A filesystem no kernel has (as ocfs2 and f2fs are missing from this host's): no container on it can mount one.
        var absent = FilesystemCatalog.Find("ext4") with { Name = "nosuchfs", MountType = "harness-nosuchfs", KernelModules = ["harness-nosuchfs"] };
        var request = new RunRequest([absent, FilesystemCatalog.Find("ext4")], [new CaseCatalog(RepoPaths.Cases).Find("tiny")], 1, Path.Combine(_scratch, "work-results"), "test");

        var summary = await new RunExecutor(Machine(), new ResultStore(Path.Combine(_scratch, "results")), TimeProvider.System, TextWriter.Null).RunAsync(request, CancellationToken.None);

        var skipped = Assert.Single(summary.Record.Cells, c => c.Input.CellId == "nosuchfs-tiny");
        Assert.Equal(Outcome.Skip, skipped.Outcome);
        Assert.Equal("skip", skipped.Failure!.Kind);
        Assert.Contains("has no nosuchfs", skipped.Error);
        Assert.Equal(0, skipped.Errored);
        Assert.Equal(Outcome.Pass, Assert.Single(summary.Record.Cells, c => c.Input.CellId == "ext4-tiny").Outcome);
        Assert.Equal(Outcome.Skip, summary.Record.Outcome);
        await AssertNothingLeftAsync();
    }

    [Fact]
    public async Task A_container_left_by_a_killed_harness_is_removed_by_the_next_check()
    {
        // A container labelled as the docker-host machine labels its own, owned by a pid that is gone.
        var parameters = Machine().Parameters("ext4-seed", "/dev/null", Directory.CreateDirectory(Path.Combine(_scratch, "w")).FullName, Directory.CreateDirectory(Path.Combine(_scratch, "a")).FullName);
        parameters.HostConfig.Devices = [];
        parameters.Labels[DockerQemuRuntime.OwnerLabel] = "999999999";
        var id = (await docker.Engine.Client.Containers.CreateContainerAsync(parameters, CancellationToken.None)).ID;

        Assert.Null(await Machine().CheckAsync(CancellationToken.None));

        var left = await DockerQemuRuntime.ListAsync(docker.Engine.Client, 999999999, CancellationToken.None);
        Assert.DoesNotContain(left, c => c.ID == id);
    }

    [Fact]
    public void Container_gets_SYS_ADMIN_the_cells_loop_device_no_network_and_a_read_only_agent()
    {
        var p = Machine().Parameters("ext4-seed", "/dev/loop7", "/w/cell", "/r/cells/ext4-seed/agent");

        Assert.Equal("none", p.HostConfig.NetworkMode);
        Assert.True(p.NetworkDisabled);
        Assert.False(p.HostConfig.Privileged);
        Assert.Equal(["SYS_ADMIN"], p.HostConfig.CapAdd);
        var device = Assert.Single(p.HostConfig.Devices);
        Assert.Equal("/dev/loop7", device.PathOnHost);
        Assert.Contains(p.HostConfig.Binds, b => b.StartsWith(TestAgent.AotPath(DebianKernelFixture.CacheRoot) + ":", StringComparison.Ordinal) && b.EndsWith(":ro", StringComparison.Ordinal));
        Assert.Contains("/w/cell:/w/cell:rw", p.HostConfig.Binds);
        Assert.Equal(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), p.Labels[DockerQemuRuntime.OwnerLabel]);
    }

    /// <summary>A progress writer that hands every complete line to a callback.</summary>
    private sealed class LineWatcher(Action<string> onLine) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            onLine(value ?? "");
        }
    }
}
