// A cell inside a freshly booted kernel under QEMU: the machine that `run` and `validate` use.
// The boot itself (disk, initrd, QEMU, the ports it watches, deadlines) is a GuestSession;
// this class says what a guest needs (its initrd files) and turns framed reports into iterations.
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Harness.Cases;
using Harness.Guest;
using Harness.Workload;

namespace Harness.Machines.Qemu;

public sealed class QemuMachine(QemuOptions options, TextWriter progress, IQemuRuntime? runtime = null) : IMachine, ISessionMachine
{
    /// <summary>Where QEMU runs: a host process, or a container (the docker machine).</summary>
    internal IQemuRuntime Runtime { get; } = runtime ?? HostQemuRuntime.Instance;

    public string Kind => Runtime.MachineKind;

    public async Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(options.Kernel.BzImage)) return $"kernel image {options.Kernel.BzImage} does not exist";
        if (!File.Exists(options.BaseInitramfs)) return $"initramfs {options.BaseInitramfs} does not exist";
        // In a container QEMU comes from the runner image; the runtime checks that instead.
        if (Runtime is HostQemuRuntime && !options.QemuBinary.Contains('/') && HostCommand.FindOnPath(options.QemuBinary) is null)
            return $"'{options.QemuBinary}' is not on PATH (Debian package qemu-system-x86; `make deps` installs it)";
        return await Runtime.CheckAsync(cancellationToken);
    }

    public MachineFacts Describe() => new(Kind, options.Kernel.Release, options.Cpus,
        $"{options.Kernel.Origin}; {options.Acceleration.ToString().ToLowerInvariant()} ({options.AccelerationReason}); " +
        $"{options.Backend}; {options.Cpus} vCPU, {options.MemoryMiB} MiB" + (Runtime.Describe() is { Length: > 0 } more ? $"; {more}" : ""))
    {
        // Hashed once per machine: a bzImage is a few MiB, and every run and validation record names it.
        Identity = _identity ??= new KernelIdentity(
            KernelIdentity.Sha256(options.Kernel.BzImage) ?? "", KernelIdentity.Sha256(options.Kernel.ConfigFile),
            options.QemuVersion, options.Backend.ToString(), options.Acceleration.ToString().ToLowerInvariant()),
    };

    private KernelIdentity? _identity;

    /// <summary>One cell, one boot: a session that runs the cell's iterations and powers off.</summary>
    public async IAsyncEnumerable<IterationRaw> RunCellAsync(CellRequest cell, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var session = await GuestSession.StartAsync(options, progress, cell, this, cancellationToken);
        try
        {
            await foreach (var raw in session.RunAsync(cell, cancellationToken)) yield return raw;
        }
        finally
        {
            await session.DisposeAsync();
        }
    }

    /// <summary>Boots a guest for <paramref name="cell"/>'s filesystem and case that runs cell after cell until disposed.</summary>
    public async Task<IMachineSession> OpenSessionAsync(CellRequest cell, CancellationToken cancellationToken) =>
        await GuestSession.StartAsync(options, progress, cell, this, cancellationToken);

    /// <summary>
    /// The per-cell files appended to the base initramfs: settings and one request per phase. The
    /// guest runs whatever iterations the host asks for on its control port, passing each number to
    /// the agent (--iteration), so one boot can serve several cells of the same filesystem and case.
    /// </summary>
    internal IReadOnlyList<GuestFile> CellFiles(CellRequest cell, bool remount, bool probe)
    {
        var env = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"FS_TYPE={cell.Filesystem.MountType}\n")
            .Append(CultureInfo.InvariantCulture, $"TEST_DISK={QemuDisk.GuestDevice(cell.Filesystem.Geometry)}\n")
            .Append(CultureInfo.InvariantCulture, $"MOUNT_OPTS='{string.Join(',', cell.Filesystem.MountOptions)}'\n")
            .Append(CultureInfo.InvariantCulture, $"REMOUNT={(remount ? 1 : 0)}\n")
            .Append(CultureInfo.InvariantCulture, $"CRASH={(options.CrashAfterBoot ? 1 : 0)}\n")
            .Append(CultureInfo.InvariantCulture, $"FREEZE={(options.FreezeAfterMount ? 1 : 0)}\n")
            .Append(CultureInfo.InvariantCulture, $"RESET={(options.ResetAfterBoot ? 1 : 0)}\n")
            .Append(CultureInfo.InvariantCulture, $"PROBE={(probe ? 1 : 0)}\n")
            .Append(CultureInfo.InvariantCulture, $"HUNG_TASK_TIMEOUT={(int)Math.Ceiling(options.HungTask.TotalSeconds)}\n");
        var files = new List<GuestFile> { new("/harness/cell.env", Encoding.UTF8.GetBytes(env.ToString()), 0x1A4) };
        foreach (var phase in new[] { AgentPhase.Write, AgentPhase.Readback })
        {
            var request = new AgentRequest(phase, GuestInit.TestMountPoint, CellRequest.TargetFile, cell.Case.Workload, 0, DropCaches: false);
            files.Add(new GuestFile($"/harness/req-{phase.ToString().ToLowerInvariant()}.json",
                JsonSerializer.SerializeToUtf8Bytes(request, AgentJsonContext.Default.AgentRequest), 0x1A4));
        }
        return files;
    }

    internal static IterationRaw ToRaw(int iteration, Frame? write, Frame? readback, double bootSeconds)
    {
        string? error = null;
        if (write?.Report is null)
            error = $"agent (write) exited with {write?.ExitCode} and no readable report: {Head(write?.Raw)}";
        else if (readback is not null && readback.Report is null)
            error = $"agent (read-back) exited with {readback.ExitCode} and no readable report: {Head(readback.Raw)}";
        error ??= write?.Report?.Error ?? readback?.Report?.Error;
        return new IterationRaw(iteration, write?.Report, readback?.Report, error)
        {
            BootSeconds = bootSeconds,
            Phases = [.. write?.GuestPhases ?? [], .. readback?.GuestPhases ?? []],
        };
    }

    internal static string Head(string? text) => text is null ? "(none)" : text.Length <= 300 ? text.Trim() : text[..300] + "...";

    internal static string Word(GuestFailureKind kind) => Results.EnumWords.Kebab(kind);
}

/// <summary>The alive port: "reads writes" lines; <see cref="Moved"/> says whether the counters changed since the last look.</summary>
internal sealed class AliveCounters(string path)
{
    private readonly GrowingFile _file = new(path);
    private string _partial = "";
    private string? _last;

    /// <summary>True once the guest has written any counters (its init got past the port setup).</summary>
    public bool Seen => _last is not null;

    public bool Moved()
    {
        var text = _partial + _file.ReadNew();
        var end = text.LastIndexOf('\n');
        if (end < 0) { _partial = text; return false; }
        _partial = text[(end + 1)..];
        var moved = false;
        foreach (var line in text[..end].Split('\n'))
        {
            var counters = line.Trim();
            if (counters.Length == 0) continue;
            if (_last is not null && counters != _last) moved = true;
            _last = counters;
        }
        return moved;
    }
}
