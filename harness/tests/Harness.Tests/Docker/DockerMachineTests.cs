// The docker machine for real: Debian's 6.1 cloud kernel booted by QEMU inside a container of
// the harness-built runner image, created through Docker.DotNet on a real engine. PASS with the
// work really done, the ocfs2 race kernel FAILing with the same finding classes as plain qemu,
// Ctrl-C leaving no container, and the container's isolation as asked of the engine.
using System.Text.Json;
using Harness.Cases;
using Harness.Cli;
using Harness.Filesystems;
using Harness.Golden;
using Harness.Kernels;
using Harness.Machines;
using Harness.Machines.Docker;
using Harness.Machines.Qemu;
using Harness.Results;
using Harness.Runs;
using Harness.Tests.Kernels;
using Harness.Tests.Support;
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.Docker;

[Collection(DockerCollection.Name)]
public sealed class DockerMachineTests(DockerEngineFixture docker, DebianKernelFixture kernel) : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("docker-machine-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static string Cache => DebianKernelFixture.CacheRoot;

    private static async Task<QemuOptions> OptionsAsync(KernelImage image, params string[] filesystems) =>
        await new QemuSetup(Cache, TextWriter.Null).PrepareAsync(
            image, filesystems.Select(FilesystemCatalog.Find).ToArray(), TestAgent.AotPath(Cache), "auto", BlockBackend.Default,
            512L << 20, cpus: 2, memoryMiB: 1024, TimeSpan.FromSeconds(120), TimeSpan.FromSeconds(300), CancellationToken.None);

    private QemuMachine Machine(QemuOptions options, TextWriter? progress = null) =>
        new(options, progress ?? TextWriter.Null, new DockerQemuRuntime(docker.Engine.Client, docker.Image.Tag, options, TextWriter.Null));

    private Task<RunSummary> RunAsync(IMachine machine, string[] filesystems, string @case, int repeats, int jobs, CancellationToken cancellationToken, string name = "results") =>
        new RunExecutor(machine, new ResultStore(Path.Combine(_scratch, name)), TimeProvider.System, TextWriter.Null).RunAsync(
            new RunRequest(filesystems.Select(FilesystemCatalog.Find).ToArray(), [new CaseCatalog(RepoPaths.Cases).Find(@case)], repeats, Path.Combine(_scratch, "work"), "test", jobs),
            cancellationToken);

    private async Task<IList<global::Docker.DotNet.Models.ContainerListResponse>> OursAsync() =>
        await DockerQemuRuntime.ListAsync(docker.Engine.Client, Environment.ProcessId, CancellationToken.None);

    private static IterationResult Read(RunSummary summary, string cell) =>
        JsonSerializer.Deserialize<IterationResult>(File.ReadAllText(Path.Combine(summary.ResultsPath, "cells", cell, "iteration-000.json")), ResultStore.Json)!;

    [Fact]
    public async Task Seed_case_passes_in_a_container_and_the_container_is_gone_afterwards()
    {
        var options = await OptionsAsync(kernel.Kernel, "ext4");
        var machine = Machine(options);
        Assert.Null(await machine.CheckAsync(CancellationToken.None));

        var summary = await RunAsync(machine, ["ext4"], "seed", repeats: 1, jobs: 1, CancellationToken.None);

        Assert.Equal(Outcome.Pass, summary.Record.Outcome);
        Assert.Equal("docker", summary.Record.Machine.Kind);
        Assert.Contains("network none, unprivileged", summary.Record.Machine.Detail);
        var cell = Assert.Single(summary.Record.Cells);
        Assert.Equal(1, cell.Passed);
        Assert.Equal(2, cell.CpuCount);
        Assert.StartsWith("6.1.0-", cell.Kernel);
        var iteration = Read(summary, "ext4-seed");
        Assert.Equal(8191, iteration.IoCount);
        Assert.Equal(0, iteration.IoErrors);
        Assert.Equal(["after-fsync", "after-remount"], iteration.Passes.Select(p => p.Pass));
        Assert.All(iteration.Passes, p => Assert.Equal(32L << 20 >> 9, p.SectorsChecked));
        Assert.True(iteration.Fsck is { Ran: true, Clean: true }, iteration.Fsck?.Output);
        var folder = Path.Combine(summary.ResultsPath, "cells", "ext4-seed");
        Assert.Contains("HARNESS-BOOTED", File.ReadAllText(Path.Combine(folder, "console.log")));
        Assert.Contains("# in container harness-ext4-seed-", File.ReadAllText(Path.Combine(folder, "qemu-command.txt")));
        Assert.Empty(await OursAsync());
    }

    [Fact]
    public async Task Container_has_no_network_no_privilege_read_only_kernel_and_the_cells_limits()
    {
        var options = await OptionsAsync(kernel.Kernel, "ext4") with { Cpus = 1, MemoryMiB = 768 };
        var runtime = new DockerQemuRuntime(docker.Engine.Client, docker.Image.Tag, options, TextWriter.Null);
        var launch = new QemuLaunch("ext4-seed", "qemu-system-x86_64", ["-version"], ["/k/bzImage", "/w/initrd.cpio"], ["/w/disk.img"], ["/r/cells/ext4-seed"], "/r/console.log");

        var p = runtime.Parameters(launch);

        Assert.Equal("none", p.HostConfig.NetworkMode);
        Assert.True(p.NetworkDisabled);
        Assert.False(p.HostConfig.Privileged);
        Assert.Empty(p.HostConfig.CapAdd ?? []);
        Assert.Equal(["/k/bzImage:/k/bzImage:ro", "/w/initrd.cpio:/w/initrd.cpio:ro", "/w/disk.img:/w/disk.img:rw", "/r/cells/ext4-seed:/r/cells/ext4-seed:rw"], p.HostConfig.Binds);
        Assert.Equal(1_000_000_000, p.HostConfig.NanoCPUs);
        Assert.Equal((768L << 20) + DockerQemuRuntime.QemuOverheadBytes, p.HostConfig.Memory);
        // /dev/kvm only where the probe said KVM works: not on this host (TCG), always with KVM.
        Assert.Equal(options.Acceleration == Acceleration.Kvm, p.HostConfig.Devices.Count == 1);
        Assert.Single(new DockerQemuRuntime(docker.Engine.Client, docker.Image.Tag, options with { Acceleration = Acceleration.Kvm }, TextWriter.Null)
            .Parameters(launch).HostConfig.Devices, d => d.PathOnHost == "/dev/kvm");
        Assert.Equal(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), p.Labels[DockerQemuRuntime.OwnerLabel]);
    }

    [Fact]
    public async Task Race_kernel_fails_in_a_container_with_the_same_finding_classes_as_plain_qemu()
    {
        // The ocfs2 race kernel: the one `make test` already builds for the validate end-to-end
        // test (shared cache, built once); it corrupts nearly every repeat of the seed case.
        var spec = new KernelCatalog(Path.Combine(RepoPaths.Root, "kernels")).Find("linux-6.1-ocfs2-race");
        var race = await new KernelProvider(Cache, TextWriter.Null).GetAsync(spec, CancellationToken.None);
        var options = await OptionsAsync(race, "ocfs2");

        var inDocker = RunAsync(Machine(options), ["ocfs2"], "seed", repeats: 2, jobs: 1, CancellationToken.None, "docker");
        var onHost = RunAsync(new QemuMachine(options, TextWriter.Null), ["ocfs2"], "seed", repeats: 2, jobs: 1, CancellationToken.None, "qemu");
        var (dockerRun, qemuRun) = (await inDocker, await onHost);

        static string[] Classes(RunSummary run) => Directory.GetFiles(Path.Combine(run.ResultsPath, "cells", "ocfs2-seed"), "iteration-*.json")
            .Select(f => JsonSerializer.Deserialize<IterationResult>(File.ReadAllText(f), ResultStore.Json)!)
            .SelectMany(i => i.Passes).SelectMany(p => p.FindingsByClass.Keys).Distinct().Order().ToArray();
        Assert.Equal(Outcome.Fail, qemuRun.Record.Outcome);
        Assert.Equal(Outcome.Fail, dockerRun.Record.Outcome);
        Assert.Equal("docker", dockerRun.Record.Machine.Kind);
        Assert.Contains(EnumWords.Kebab(FindingClass.Zeroed), Classes(dockerRun));
        Assert.Equal(Classes(qemuRun), Classes(dockerRun));
        Assert.Empty(await OursAsync());
    }

    [Fact]
    public async Task Cancel_mid_cell_leaves_no_container_and_keeps_the_finished_cell()
    {
        var options = await OptionsAsync(kernel.Kernel, "ext4", "xfs");
        using var cancel = new CancellationTokenSource();
        // Cancel once the second cell's guest has booted inside its container.
        var progress = new LineWatcher(line => { if (line.Contains("xfs-tiny: booted", StringComparison.Ordinal)) cancel.Cancel(); });

        var summary = await RunAsync(Machine(options, progress), ["ext4", "xfs"], "tiny", repeats: 1, jobs: 1, cancel.Token);

        Assert.True(cancel.IsCancellationRequested, "the second cell never booted");
        Assert.True(summary.Record.Interrupted);
        var finished = Assert.Single(summary.Record.Cells, c => c.Input.CellId == "ext4-tiny");
        Assert.Equal(Outcome.Pass, finished.Outcome);
        Assert.Empty(await OursAsync());
    }

    [Fact]
    public async Task Qemu_that_cannot_start_in_the_container_is_an_ERROR_with_the_engines_reason_and_no_container_left()
    {
        var options = await OptionsAsync(kernel.Kernel, "ext4") with { QemuBinary = "/usr/bin/no-such-qemu" };

        var summary = await RunAsync(Machine(options), ["ext4"], "tiny", repeats: 1, jobs: 1, CancellationToken.None);

        var cell = Assert.Single(summary.Record.Cells);
        Assert.Equal(Outcome.Error, cell.Outcome);
        Assert.Equal("qemu-not-started", cell.Failure!.Kind);
        Assert.Contains("/usr/bin/no-such-qemu", cell.Failure.Message);
        Assert.Empty(await OursAsync());
    }

    [Fact]
    public async Task A_missing_input_file_is_reported_and_never_created_as_a_folder_by_the_engine()
    {
        // Seen for real: a cache record naming a bzImage in a removed checkout; the engine made that
        // path an empty folder (as root) before QEMU failed on it.
        var options = await OptionsAsync(kernel.Kernel, "ext4");
        var runtime = new DockerQemuRuntime(docker.Engine.Client, docker.Image.Tag, options, TextWriter.Null);
        var gone = Path.Combine(_scratch, "removed-checkout", "bzImage");
        var launch = new QemuLaunch("ext4-tiny", "qemu-system-x86_64", ["-version"], [gone], [], [], Path.Combine(_scratch, "console.log"));

        var e = await Assert.ThrowsAsync<GuestFailureException>(() => runtime.StartAsync(launch, CancellationToken.None));

        Assert.Equal(GuestFailureKind.QemuNotStarted, e.Kind);
        Assert.Contains($"{gone} does not exist", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.GetDirectoryName(gone)), "the engine created the missing bind source");
        Assert.Empty(await OursAsync());
    }

    [Fact]
    public async Task Doctor_sees_the_engine_its_api_and_the_runner_image()
    {
        var result = await HarnessProcess.RunAsync(["doctor"], Cache, TimeSpan.FromMinutes(2));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"engine +ok +unix://", result.Stdout);
        Assert.Matches(@"api +ok +1\.\d+", result.Stdout);
        Assert.Matches(@"image +ok +harness-runner:[0-9a-f]{16} present", result.Stdout);
        Assert.Matches(@"swarm +(ok|--) ", result.Stdout);
        Assert.Matches(@"kvm +(ok|NO|--) ", result.Stdout);
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
