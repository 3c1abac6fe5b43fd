// QEMU inside its own container, one per cell, created through Docker.DotNet. The container sees
// only the cell's files, bind-mounted at their host paths (kernel and initrd read-only, the test
// disk and the log folder writable), so the QEMU command line and the console watcher are the
// qemu machine's own: console, results and alive ports are files the host reads as it always
// does. No network (NetworkMode none), not privileged, /dev/kvm only when the KVM probe
// succeeded, CPU and memory capped from the cell's settings. QEMU's stdout and stderr come back
// through the attach stream. The container is removed however the cell ends; containers of a
// harness that was killed (-9) are found by their labels and removed by the next run.
using System.Globalization;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;
using Harness.Machines.Qemu;

namespace Harness.Machines.Docker;

public sealed class DockerQemuRuntime(DockerClient client, string image, QemuOptions options, TextWriter progress) : IQemuRuntime
{
    /// <summary>Every container the harness makes carries this label (value: the owning harness's pid).</summary>
    public const string OwnerLabel = "org.harness.pid";
    public const string CellLabel = "org.harness.cell";

    /// <summary>QEMU's own memory beside the guest's RAM (TCG translation cache, device state).</summary>
    public const long QemuOverheadBytes = 512L << 20;

    public string MachineKind => "docker";

    public string Describe() =>
        $"container from {image}, network none, unprivileged, {Limits().Cpus} CPUs and {ByteSizeText(Limits().Memory)} max" +
        (options.Acceleration == Acceleration.Kvm ? ", /dev/kvm passed" : "");

    private (double Cpus, long Memory) Limits() => (options.Cpus, ((long)options.MemoryMiB << 20) + QemuOverheadBytes);

    private static string ByteSizeText(long bytes) => Yaml.ByteSize.Format(bytes);

    public async Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        if (await RunnerImage.InspectAsync(client, image, cancellationToken) is null) return $"the engine has no image {image}";
        await RemoveLeftoversAsync(client, progress, cancellationToken);
        return null;
    }

    /// <summary>The container's settings, in one place so a test can assert them.</summary>
    public CreateContainerParameters Parameters(QemuLaunch launch)
    {
        var binds = launch.ReadOnlyFiles.Select(f => $"{f}:{f}:ro")
            .Concat(launch.WritableFiles.Select(f => $"{f}:{f}:rw"))
            .Concat(launch.WritableFolders.Select(d => $"{d}:{d}:rw"))
            .ToList();
        var (cpus, memory) = Limits();
        return new CreateContainerParameters
        {
            Name = ContainerName(launch.CellId),
            Image = image,
            Entrypoint = [launch.Binary],
            Cmd = launch.Arguments.ToList(),
            Labels = new Dictionary<string, string>
            {
                [OwnerLabel] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
                [CellLabel] = launch.CellId,
            },
            AttachStdout = true,
            AttachStderr = true,
            NetworkDisabled = true,
            HostConfig = new HostConfig
            {
                Binds = binds,
                NetworkMode = "none",
                Privileged = false,
                NanoCPUs = (long)(cpus * 1e9),
                Memory = memory,
                MemorySwap = memory,
                Devices = options.Acceleration == Acceleration.Kvm
                    ? [new DeviceMapping { PathOnHost = "/dev/kvm", PathInContainer = "/dev/kvm", CgroupPermissions = "rwm" }]
                    : [],
            },
        };
    }

    private static string ContainerName(string cellId)
    {
        var safe = new string(cellId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-' ? c : '-').ToArray());
        return $"harness-{safe}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
    }

    public async Task<IQemuProcess> StartAsync(QemuLaunch launch, CancellationToken kill)
    {
        string? id = null;
        try
        {
            // Not the kill token for these three calls: a create cut off mid-request can leave a
            // container we never learn the id of. They take milliseconds; a kill during them is
            // honoured by Watch, which kills at once when the token has already fired.
            // The engine makes a missing bind source into an empty folder (as root, wherever the path
            // points: once inside another checkout's tree); a missing input is ours to report instead.
            if (launch.ReadOnlyFiles.Concat(launch.WritableFiles).FirstOrDefault(f => !File.Exists(f)) is { } missing)
                throw new MachineException($"{missing} does not exist (not mounted into the container)");
            var parameters = Parameters(launch);
            id = (await client.Containers.CreateContainerAsync(parameters, CancellationToken.None)).ID;
            var attached = await client.Containers.AttachContainerAsync(id, tty: false,
                new ContainerAttachParameters { Stream = true, Stdout = true, Stderr = true }, CancellationToken.None);
            var container = new Container(client, id, parameters.Name, attached, kill);
            if (!await client.Containers.StartContainerAsync(id, new ContainerStartParameters(), CancellationToken.None))
                throw new MachineException($"container {parameters.Name} did not start");
            container.Watch();
            return container;
        }
        catch (Exception e) when (e is DockerApiException or HttpRequestException or IOException or MachineException)
        {
            if (id is not null) await RemoveAsync(client, id);
            throw new GuestFailureException(GuestFailureKind.QemuNotStarted, $"QEMU's container could not be started ({image}): {e.Message.Trim()}", null, launch.ConsoleLog);
        }
    }

    /// <summary>Removes a container whatever its state; never the caller's token (this runs on the way out).</summary>
    internal static async Task RemoveAsync(DockerClient client, string id)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                await client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, CancellationToken.None);
                return;
            }
            catch (DockerContainerNotFoundException) { return; }
            catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound) { return; }
            catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.Conflict)
            {
                // "removal already in progress": wait for it.
                await Task.Delay(500);
            }
        }
    }

    /// <summary>The harness's containers (by label), optionally only those of one process.</summary>
    public static async Task<IList<ContainerListResponse>> ListAsync(DockerClient client, int? ownerPid, CancellationToken cancellationToken) =>
        await client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [ownerPid is { } pid ? $"{OwnerLabel}={pid}" : OwnerLabel] = true },
            },
        }, cancellationToken);

    /// <summary>Containers whose harness is gone (killed with -9, host crash) are removed, with a line each.</summary>
    public static async Task RemoveLeftoversAsync(DockerClient client, TextWriter progress, CancellationToken cancellationToken)
    {
        var containers = await ListAsync(client, null, cancellationToken);
        if (containers.Count == 0) return;
        var live = Cache.LiveProcesses.Snapshot();
        foreach (var c in containers)
        {
            if (!c.Labels.TryGetValue(OwnerLabel, out var owner) || !int.TryParse(owner, CultureInfo.InvariantCulture, out var pid)) continue;
            // A pid alive now but started after the container was made is another program reusing it.
            if (pid == Environment.ProcessId || live.IsAlive(pid, new DateTimeOffset(c.Created.ToUniversalTime(), TimeSpan.Zero))) continue;
            progress.WriteLine($"docker: removing container {string.Join(",", c.Names)} left by harness process {pid}, which is gone");
            await RemoveAsync(client, c.ID);
        }
    }

    private sealed class Container(DockerClient client, string id, string name, MultiplexedStream attached, CancellationToken kill) : IQemuProcess
    {
        private readonly StringBuilder _output = new();
        private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Task _reader = Task.CompletedTask;
        private CancellationTokenRegistration _onKill;

        public Task<int> Exited => _exited.Task;
        public string Where => $"container {name} ({id[..12]})";
        public string Output { get { lock (_output) return _output.ToString(); } }

        public void Watch()
        {
            _reader = ReadAsync();
            _ = WaitAsync();
            _onKill = kill.Register(() => _ = KillAsync());
        }

        private async Task ReadAsync()
        {
            var buffer = new byte[8192];
            try
            {
                while (true)
                {
                    var read = await attached.ReadOutputAsync(buffer, 0, buffer.Length, CancellationToken.None);
                    if (read.EOF) return;
                    lock (_output) _output.Append(Encoding.UTF8.GetString(buffer, 0, read.Count));
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or HttpRequestException)
            {
                // The stream ends with the container; what was read is kept.
            }
        }

        private async Task WaitAsync()
        {
            try
            {
                var answer = await client.Containers.WaitContainerAsync(id, CancellationToken.None);
                // QEMU's last words (the reason it refused to start) arrive just before the stream
                // ends; an attach stream that never ends must not hold the exit back.
                await Task.WhenAny(_reader, Task.Delay(TimeSpan.FromSeconds(5)));
                if (kill.IsCancellationRequested) _exited.TrySetCanceled(kill);
                else _exited.TrySetResult((int)answer.StatusCode);
            }
            catch (Exception e)
            {
                if (kill.IsCancellationRequested) _exited.TrySetCanceled(kill);
                else _exited.TrySetException(new MachineException($"lost the container {name} ({id[..12]}): {e.Message}", e));
            }
        }

        private async Task KillAsync()
        {
            try { await client.Containers.KillContainerAsync(id, new ContainerKillParameters { Signal = "KILL" }, CancellationToken.None); }
            catch (DockerApiException) { /* already stopped or gone */ }
            catch (HttpRequestException) { /* the engine is gone: nothing left to kill */ }
        }

        public async ValueTask DisposeAsync()
        {
            await _onKill.DisposeAsync();
            if (!_exited.Task.IsCompleted) await KillAsync();
            try { await _exited.Task.WaitAsync(TimeSpan.FromSeconds(30)); }
            catch (Exception) { /* killed, lost or slow: removed below either way */ }
            attached.Dispose();
            await RemoveAsync(client, id);
        }
    }
}
