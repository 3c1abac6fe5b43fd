// The Docker host's own kernel as a machine (`--machine docker-host`): for comparing filesystems on
// machines users already run Docker on. Per cell, the image file is made and attached to a loop
// device on the host (losetup needs /dev/loop-control, which a container should not get); the
// container gets that one device, CAP_SYS_ADMIN (mount(2) needs it; measured: refused without)
// and nothing else: not privileged, NetworkMode none, the agent binary read-only, the cell's work
// folder and agent folder at their host paths. mkfs, mount, the agent's write and read-back and
// every unmount run inside it through exec; fsck and the sector faults stay on the host, on the
// image file, as on the local machine. The host reaches the container's mount (filefrag, the size
// fault) through /proc/<pid>/root. Container and loop device go however the cell ends; a run
// killed with -9 leaves a labelled container and a loop device under cache/work, released by the
// next run (DockerQemuRuntime.RemoveLeftoversAsync, then StaleResources).
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Docker.DotNet;
using Docker.DotNet.Models;
using Harness.Cases;
using Harness.Faults;
using Harness.Filesystems;
using Harness.Workload;

namespace Harness.Machines.Docker;

/// <summary>Options of the docker-host machine: the NativeAOT agent, the image size per cell, an optional fault.</summary>
public sealed record DockerHostOptions(AgentBinary Agent, long ImageSize, IFaultInjector? Fault = null);

/// <summary>Runs each cell in its own container against the Docker host's kernel (see the file's head).</summary>
public sealed class DockerHostMachine(DockerClient client, string image, DockerHostOptions options, TextWriter progress) : IMachine
{
    /// <summary>The one capability the container gets: mount(2) and umount(2) need it.</summary>
    public const string Capability = "SYS_ADMIN";

    public string Kind => "docker-host";

    public async Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        if (!Environment.IsPrivilegedProcess)
            return "the docker-host machine attaches each cell's image to a loop device on the host (losetup), which needs root; run as root";
        if (options.Agent.Path.EndsWith(".dll", StringComparison.Ordinal))
            return $"{options.Agent.Path} needs the .NET runtime, which the container has not; pass the NativeAOT agent (`make agent-aot`, then --agent .cache/agent/harness-agent)";
        if (options.Agent.Problem() is { } agent) return agent;
        if (options.Fault is IArmedFault armed)
            return $"--fault {armed.Name} keeps the journal on a second loop device and fails the data image's writes on the host; not built for docker-host: use --machine local";
        if (await RunnerImage.InspectAsync(client, image, cancellationToken) is null) return $"the engine has no image {image}";
        await DockerQemuRuntime.RemoveLeftoversAsync(client, progress, cancellationToken);
        return null;
    }

    public MachineFacts Describe() => new(Kind, HostInfo.KernelRelease(), Environment.ProcessorCount,
        $"container from {image} on the Docker host's kernel, network none, unprivileged + {Capability}, the cell's loop device passed; " +
        $"loop-mounted {Yaml.ByteSize.Format(options.ImageSize)} image per cell");

    /// <summary>The container's settings, in one place so a test can assert them.</summary>
    public CreateContainerParameters Parameters(string cellId, string loopDevice, string workFolder, string agentFolder) => new()
    {
        Name = $"harness-host-{new string(cellId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-' ? c : '-').ToArray())}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}",
        Image = image,
        // Nothing runs in it but what is exec'd; sleep keeps it (and its mount namespace) alive.
        Entrypoint = ["sleep", "infinity"],
        Labels = new Dictionary<string, string>
        {
            [DockerQemuRuntime.OwnerLabel] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
            [DockerQemuRuntime.CellLabel] = cellId,
        },
        NetworkDisabled = true,
        HostConfig = new HostConfig
        {
            Binds = [$"{options.Agent.Path}:{options.Agent.Path}:ro", $"{workFolder}:{workFolder}:rw", $"{agentFolder}:{agentFolder}:rw"],
            NetworkMode = "none",
            Privileged = false,
            CapAdd = [Capability],
            Devices = [new DeviceMapping { PathOnHost = loopDevice, PathInContainer = loopDevice, CgroupPermissions = "rwm" }],
        },
    };

    public async IAsyncEnumerable<IterationRaw> RunCellAsync(CellRequest cell, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var fs = cell.Filesystem;
        if (LocalMachine.GeometryProblem(fs.Geometry) is { } geometry) throw new MachineSkipException($"setup {fs.CellName}: {geometry.Replace("local machine", "docker-host machine", StringComparison.Ordinal)}");
        if (await KernelProblemAsync(fs, cancellationToken) is { } missing) throw new MachineSkipException(missing);

        Directory.CreateDirectory(cell.WorkDirectory);
        var work = OwnedDirectory.Create(cell.WorkDirectory, cell.CellId);
        var imagePath = Path.Combine(work.Path, "disk.img");
        var mountPoint = Path.Combine(work.Path, "mnt");
        var agentFolder = Path.Combine(cell.LogDirectory, "agent");
        Directory.CreateDirectory(mountPoint);
        Directory.CreateDirectory(agentFolder);
        string? loop = null;
        HostContainer? container = null;
        try
        {
            var setup = new PhaseTimer();
            await using (var f = new FileStream(imagePath, FileMode.Create, FileAccess.Write)) f.SetLength(Math.Max(options.ImageSize, fs.MinImageSize));
            List<string> attach = ["--find", "--show"];
            if (fs.Geometry.LogicalSector != 512) attach.AddRange(["--sector-size", fs.Geometry.LogicalSector.ToString(CultureInfo.InvariantCulture)]);
            // Not the caller's token: a losetup killed after attaching would leave a device we never learn of.
            loop = (await HostCommand.RunAsync("losetup", [.. attach, imagePath], CancellationToken.None)).Trim();
            setup.Mark("losetup");
            container = await HostContainer.StartAsync(client, Parameters(cell.CellId, loop, work.Path, agentFolder), cancellationToken);
            setup.Mark("container");
            var mount = new ContainerMount(container, loop, mountPoint, fs, MountOptions(fs));
            await container.RunAsync([fs.MkfsProgram, .. fs.MkfsArgumentsFor(cell.Case.Workload.FsBlockSize, loop)], cancellationToken);
            setup.Mark("mkfs");
            await mount.MountAsync(first: true, cancellationToken);
            setup.Mark("mount");
            await foreach (var item in IterationStream.WithSetupAndCheckAsync(RunIterationsAsync(cell, container, mount, imagePath, agentFolder, cancellationToken), setup,
                () => CheckAsync(mount, fs, imagePath, cancellationToken)))
                yield return item;
        }
        finally
        {
            // Removing the container kills what runs in it and ends its mount namespace, so the
            // mount goes with it; only then can the loop device be detached.
            if (container is not null) await container.DisposeAsync();
            if (loop is not null)
            {
                var (code, output) = await HostCommand.TryRunAsync("losetup", ["-d", loop], "/", CancellationToken.None);
                if (code != 0) progress.WriteLine($"harness: could not detach loop device {loop}: {output.Trim()}");
            }
            if (work.TryDelete() is { } leftover) progress.WriteLine($"harness: {leftover}");
        }
    }

    private IReadOnlyList<string> MountOptions(FilesystemSpec fs) =>
        options.Fault is ImageSectorFault { NeedsUnchecksummedData: true } ? [.. fs.MountOptions, .. fs.RawDataMountOptions] : fs.MountOptions;

    /// <summary>A filesystem the host kernel cannot mount (not built in, no module): a container cannot either.</summary>
    private static async Task<string?> KernelProblemAsync(FilesystemSpec fs, CancellationToken cancellationToken)
    {
        var known = File.Exists("/proc/filesystems")
            ? (await File.ReadAllLinesAsync("/proc/filesystems", cancellationToken)).Select(l => l.Split('\t').Last().Trim()).ToHashSet()
            : [];
        if (known.Contains(fs.MountType)) return null;
        var (code, _) = await HostCommand.TryRunAsync("modprobe", ["-n", fs.KernelModules.FirstOrDefault() ?? fs.MountType], "/", cancellationToken);
        return code == 0 ? null
            : $"the Docker host's kernel {HostInfo.KernelRelease()} has no {fs.Name} (not in /proc/filesystems, no module), so no container on it can mount one; use --machine qemu with a kernel that has it";
    }

    private static async Task<(FsckResult Fsck, ExceptionDispatchInfo? Failure)> CheckAsync(ContainerMount mount, FilesystemSpec fs, string image, CancellationToken cancellationToken)
    {
        try
        {
            await mount.UnmountAsync(cancellationToken);
            return (await FsckRunner.CheckAsync(fs, image, cancellationToken), null);
        }
        catch (Exception e) when (e is MachineException or OperationCanceledException)
        {
            return (FsckResult.NotRun($"not checked: {e.Message}"), ExceptionDispatchInfo.Capture(e));
        }
    }

    private async IAsyncEnumerable<IterationRaw> RunIterationsAsync(CellRequest cell, HostContainer container, ContainerMount mount, string imagePath, string agentFolder, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var i = cell.FirstIteration; i < cell.FirstIteration + cell.Repeats; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (raw, stop) = await RunIterationAsync(cell, container, mount, imagePath, agentFolder, i, cancellationToken);
            yield return raw;
            if (stop) break;
        }
        await container.TryRunAsync(["rm", "-f", Path.Combine(mount.MountPoint, CellRequest.TargetFile)], CancellationToken.None);
    }

    /// <summary>One iteration, as the local machine runs it, every step inside the container. Stop: the image is unusable.</summary>
    private async Task<(IterationRaw Raw, bool Stop)> RunIterationAsync(CellRequest cell, HostContainer container, ContainerMount mount, string imagePath, string agentFolder, int i, CancellationToken cancellationToken)
    {
        var fault = options.Fault;
        var plan = PlanBuilder.Build(cell.Case.Workload, i);
        var phases = new PhaseTimer();
        var write = await options.Agent.RunAsync(new AgentRequest(AgentPhase.Write, mount.MountPoint, CellRequest.TargetFile, cell.Case.Workload, i, DropCaches: false), agentFolder, container.LaunchAgentAsync, cancellationToken);
        phases.MarkAgent("agent-write", write);
        IterationRaw Raw(AgentReport? readback, string? error) => new(i, write, readback, error) { Phases = phases.Phases, Seconds = phases.Total };

        var wantsReadback = cell.Case.Readback.Contains(ReadbackStep.AfterRemount) || fault is not null;
        if (write.Error is not null || !wantsReadback) return (Raw(null, write.Error), false);
        try
        {
            // The host sees the container's mount through the container's root in /proc.
            await FaultRemount.RunAsync(cell, imagePath, container.HostPath(Path.Combine(mount.MountPoint, CellRequest.TargetFile)), plan, fault,
                mount.UnmountAsync, token => mount.MountAsync(first: false, token), cancellationToken);
            phases.Mark(fault is null ? "remount" : "fault+remount");
        }
        catch (MachineException e)
        {
            return (Raw(null, e.Message), true);
        }
        AgentReport readback;
        try
        {
            readback = await options.Agent.RunAsync(new AgentRequest(AgentPhase.Readback, mount.MountPoint, CellRequest.TargetFile, cell.Case.Workload, i, DropCaches: false), agentFolder, container.LaunchAgentAsync, cancellationToken);
            phases.MarkAgent("agent-readback", readback);
        }
        catch (MachineException e)
        {
            return (Raw(null, $"read-back: {e.Message}"), true);
        }
        return (Raw(readback, write.Error ?? readback.Error), false);
    }

    /// <summary>The cell's loop device mounted inside the container.</summary>
    private sealed class ContainerMount(HostContainer container, string device, string mountPoint, FilesystemSpec fs, IReadOnlyList<string> mountOptions)
    {
        private bool _mounted;

        public string MountPoint => mountPoint;

        public async Task MountAsync(bool first, CancellationToken cancellationToken)
        {
            List<string> arguments = ["mount", "-t", fs.MountType];
            if (mountOptions.Count > 0) arguments.AddRange(["-o", string.Join(',', mountOptions)]);
            arguments.AddRange([device, mountPoint]);
            // Not cancelled half-way (the local machine's rule); a container removed later takes its mounts with it anyway.
            var (code, output) = await container.TryRunAsync(arguments, CancellationToken.None);
            if (code != 0)
            {
                // What a container may not mount on this host is said, not failed: the run goes on.
                if (first && (output.Contains("permission denied", StringComparison.OrdinalIgnoreCase) || output.Contains("not permitted", StringComparison.OrdinalIgnoreCase)
                    || output.Contains("unknown filesystem type", StringComparison.OrdinalIgnoreCase)))
                    throw new MachineSkipException($"{fs.Name} cannot be mounted inside a container on this Docker host ({Flat(output)}); use --machine local or qemu");
                throw new MachineException($"`{string.Join(' ', arguments)}` in the container exited with {code}: {Flat(output)}");
            }
            _mounted = true;
            cancellationToken.ThrowIfCancellationRequested();
        }

        public async Task UnmountAsync(CancellationToken cancellationToken)
        {
            if (!_mounted) return;
            // A just-killed agent may hold the mount for a moment: retry, as the local machine does.
            for (var attempt = 0; ; attempt++)
            {
                var (code, output) = await container.TryRunAsync(["umount", mountPoint], cancellationToken);
                if (code == 0) break;
                if (attempt >= 5) throw new MachineException($"`umount {mountPoint}` in the container exited with {code}: {Flat(output)}");
                await Task.Delay(200 * (attempt + 1), cancellationToken);
            }
            _mounted = false;
        }
    }

    private static string Flat(string text) => string.Join(' ', text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}

/// <summary>
/// A long-lived container whose programs are started through the exec API. Disposing it removes
/// it (force: what runs in it is killed), never with the caller's token.
/// </summary>
internal sealed class HostContainer : IAsyncDisposable
{
    private readonly DockerClient _client;

    private HostContainer(DockerClient client, string id, string name, long pid)
    {
        _client = client;
        Id = id;
        Name = name;
        Pid = pid;
    }

    public string Id { get; }
    public string Name { get; }

    /// <summary>The container's first process on the host: /proc/&lt;pid&gt;/root is the container's view of the files.</summary>
    public long Pid { get; }

    public static async Task<HostContainer> StartAsync(DockerClient client, CreateContainerParameters parameters, CancellationToken cancellationToken)
    {
        string? id = null;
        try
        {
            // Not the caller's token for create and start: a create cut off mid-request can leave a
            // container we never learn the id of; a cancel is honoured right after.
            id = (await client.Containers.CreateContainerAsync(parameters, CancellationToken.None)).ID;
            if (!await client.Containers.StartContainerAsync(id, new ContainerStartParameters(), CancellationToken.None))
                throw new MachineException($"container {parameters.Name} did not start");
            var state = await client.Containers.InspectContainerAsync(id, CancellationToken.None);
            // Cancelled meanwhile: thrown while id is still set, so the finally removes the container.
            cancellationToken.ThrowIfCancellationRequested();
            var container = new HostContainer(client, id, parameters.Name, state.State.Pid);
            id = null;
            return container;
        }
        catch (Exception e) when (e is DockerApiException or HttpRequestException or IOException)
        {
            throw new MachineException($"the cell's container could not be started ({parameters.Image}): {e.Message.Trim()}", e);
        }
        finally
        {
            if (id is not null) await DockerQemuRuntime.RemoveAsync(client, id);
        }
    }

    /// <summary>A path inside the container as the host can open it.</summary>
    public string HostPath(string containerPath) => $"/proc/{Pid.ToString(CultureInfo.InvariantCulture)}/root{containerPath}";

    /// <summary>Runs a program in the container to its end: exit code and stdout + stderr. 126/127: not found or not runnable.</summary>
    public async Task<(int ExitCode, string Output)> TryRunAsync(IReadOnlyList<string> command, CancellationToken cancellationToken)
    {
        var (code, stdout, stderr) = await ExecAsync(command, cancellationToken);
        return (code, stdout + stderr);
    }

    /// <summary>Runs a program in the container; a non-zero exit is a <see cref="MachineException"/> naming the command and its output.</summary>
    public async Task<string> RunAsync(IReadOnlyList<string> command, CancellationToken cancellationToken)
    {
        var (code, stdout, stderr) = await ExecAsync(command, cancellationToken);
        if (code == 127 || (code == 126 && stderr.Contains("not found", StringComparison.OrdinalIgnoreCase)))
            throw new MachineSkipException($"{command[0]} is not in the runner image ({(stderr + stdout).Trim()}); add its package to RunnerImage.Packages");
        if (code != 0) throw new MachineException($"`{string.Join(' ', command)}` in the container exited with {code}: {(stderr + stdout).Trim()}");
        return stdout;
    }

    /// <summary>The agent's command line, run in the container (an <see cref="AgentLauncher"/>).</summary>
    public async Task<(int ExitCode, string StandardError)> LaunchAgentAsync(IReadOnlyList<string> command, CancellationToken cancellationToken)
    {
        var (code, _, stderr) = await ExecAsync(command, cancellationToken);
        return (code, stderr);
    }

    private async Task<(int ExitCode, string Stdout, string Stderr)> ExecAsync(IReadOnlyList<string> command, CancellationToken cancellationToken)
    {
        try
        {
            var exec = await _client.Exec.ExecCreateContainerAsync(Id, new ContainerExecCreateParameters
            {
                Cmd = command.ToList(),
                AttachStdout = true,
                AttachStderr = true,
            }, cancellationToken);
            using var stream = await _client.Exec.StartAndAttachContainerExecAsync(exec.ID, tty: false, cancellationToken);
            // A cancel leaves the program running in the container; removing the container ends it.
            var (stdout, stderr) = await stream.ReadOutputToEndAsync(cancellationToken);
            var inspect = await _client.Exec.InspectContainerExecAsync(exec.ID, cancellationToken);
            // The stream can end a moment before the engine records the exit code.
            for (var wait = 0; inspect.Running && wait < 100; wait++)
            {
                await Task.Delay(20, cancellationToken);
                inspect = await _client.Exec.InspectContainerExecAsync(exec.ID, cancellationToken);
            }
            return ((int)inspect.ExitCode, stdout, stderr);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is DockerApiException or HttpRequestException or IOException)
        {
            throw new MachineException($"exec of `{string.Join(' ', command)}` in container {Name} failed: {e.Message.Trim()}", e);
        }
    }

    public async ValueTask DisposeAsync() => await DockerQemuRuntime.RemoveAsync(_client, Id);
}
