// Everything a QEMU run needs before its first cell: the kernel (fetched), the NativeAOT
// agent, the base initramfs (cached by content) and the acceleration decision.
using Harness.Filesystems;
using Harness.Guest;
using Harness.Kernels;
using Harness.Machines;
using Harness.Machines.Qemu;

namespace Harness.Cli;

public sealed class QemuSetup(string cacheDirectory, TextWriter progress)
{
    /// <summary>--reprobe: probe KVM again instead of reusing the answer kept in the cache.</summary>
    public bool Reprobe { get; init; }

    /// <summary>virtio transport, the test disk and the results port; filesystems add their own.</summary>
    public static readonly IReadOnlyList<string> BaseModules = ["virtio_pci", "virtio_blk", "virtio_console"];

    public async Task<QemuOptions> PrepareAsync(
        KernelSpec spec, IReadOnlyList<FilesystemSpec> filesystems, string? agentOverride, string accel, BlockBackend backend,
        long imageSize, int cpus, int memoryMiB, TimeSpan bootTimeout, TimeSpan deadline, CancellationToken cancellationToken) =>
        await PrepareAsync(await new KernelProvider(cacheDirectory, progress).GetAsync(spec, cancellationToken),
            filesystems, agentOverride, accel, backend, imageSize, cpus, memoryMiB, bootTimeout, deadline, cancellationToken);

    public async Task<QemuOptions> PrepareAsync(
        KernelImage kernel, IReadOnlyList<FilesystemSpec> filesystems, string? agentOverride, string accel, BlockBackend backend,
        long imageSize, int cpus, int memoryMiB, TimeSpan bootTimeout, TimeSpan deadline, CancellationToken cancellationToken)
    {
        // A setup's bus (virtio-scsi, NVMe) adds its drivers: modules where the kernel has them as modules.
        var buses = filesystems.Select(f => QemuDisk.For(f.Geometry.Bus)).Distinct().ToArray();
        var modules = BaseModules.Concat(buses.SelectMany(b => b.Modules)).Concat(filesystems.SelectMany(f => f.KernelModules)).Distinct().ToArray();
        // Before anything boots: a kernel that cannot run the guest is the spec's fault (exit 2), not a CRASH.
        if (!KernelConfigCheck.Check(kernel, filesystems, kernel.ModulesDirectory is null ? [] : modules, buses.SelectMany(b => b.Config)))
            progress.WriteLine($"kernel {kernel.Name}: no config file found beside the image; not checked for what the guest needs");
        var agent = AgentPath(agentOverride);
        progress.WriteLine($"initramfs: busybox, agent, modules {string.Join(", ", modules)} for {kernel.Release}");
        var initramfs = await new InitramfsBuilder(Path.Combine(cacheDirectory, "initramfs"), progress: progress)
            .BuildBaseAsync(kernel, modules, agent, GuestInit.Script, cancellationToken);
        var options = new QemuOptions(kernel, initramfs, Acceleration.Tcg, "", backend, imageSize, cpus, memoryMiB,
            BootTimeout: bootTimeout, IterationDeadline: deadline);
        var (acceleration, reason) = await AccelerationProbe.DecideAsync(accel, options, Path.Combine(cacheDirectory, "work", $"probe-{Environment.ProcessId}-{Guid.NewGuid():N}"), TimeSpan.FromSeconds(30), cancellationToken,
            new KvmProbeCache(Path.Combine(cacheDirectory, "kvm-probe.json")), reprobe: Reprobe);
        progress.WriteLine($"acceleration: {acceleration.ToString().ToLowerInvariant()} ({reason})");
        // The emulator's version goes in every record: a QEMU upgrade can change what a guest sees.
        var (code, version) = await HostCommand.TryRunAsync(options.QemuBinary, ["--version"], "/", cancellationToken);
        return options with
        {
            Acceleration = acceleration, AccelerationReason = reason,
            QemuVersion = code == 0 ? version.Split('\n')[0].Trim() : $"unknown ({options.QemuBinary} --version exited with {code})",
        };
    }

    /// <summary>Cells at once: one guest per <c>cpus</c> host cores, and what memory allows (1 GiB kept for the host).</summary>
    public static int DefaultJobs(QemuOptions options)
    {
        var byCores = Environment.ProcessorCount / Math.Max(1, options.Cpus);
        var total = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        var byMemory = (int)((total - (1L << 30)) / ((options.MemoryMiB + 256L) << 20));
        return Math.Max(1, Math.Min(byCores, byMemory));
    }

    // The guest has no .NET runtime: only the NativeAOT agent runs there.
    private string AgentPath(string? agentOverride)
    {
        var candidates = new[] { agentOverride, Environment.GetEnvironmentVariable("HARNESS_AGENT_AOT"), Path.Combine(cacheDirectory, "agent", "harness-agent") };
        return candidates.FirstOrDefault(p => p is not null && File.Exists(p))
            ?? throw new MachineException($"no NativeAOT agent at {Path.Combine(cacheDirectory, "agent", "harness-agent")}; run `make agent-aot` (or pass --agent)");
    }
}
