// Everything that decides how a cell's QEMU is started. The block backend is part of the
// cell's identity: aio mode and cache mode change how requests reorder on the host.
using Harness.Kernels;
using Harness.Yaml;

namespace Harness.Machines.Qemu;

/// <summary>How QEMU runs guest code.</summary>
public enum Acceleration { Tcg, Kvm }

/// <summary>QEMU's block backend for the test disk: `aio=` and `cache=` of -drive.</summary>
public sealed record BlockBackend(string Aio, string Cache)
{
    public static readonly IReadOnlyList<string> AioModes = ["threads", "native", "io_uring"];
    public static readonly IReadOnlyList<string> CacheModes = ["none", "writeback", "writethrough", "directsync", "unsafe"];

    /// <summary>
    /// cache=unsafe: the test disk is disposable, so QEMU may keep its writes in the host's page cache and
    /// ignore the guest's flushes (the guest kernel under test is unchanged; only the emulated device
    /// completes sooner). Measured against cache=none on the ocfs2 race kernel, seed-quick, two
    /// interleaved rounds of 10 repeats: 0.84 and 0.85 s a repeat against 2.15 and 1.97, every repeat
    /// still corrupt (`make bench`, QEMU backend rows). The host's fsck reads the image through the
    /// same page cache, after the guest unmounted, so it sees every write.
    /// </summary>
    public static BlockBackend Default { get; } = new("threads", "unsafe");

    public override string ToString() => $"aio={Aio},cache={Cache}";

    /// <summary>Parses "aio=native,cache=none" (either key may be left out).</summary>
    public static BlockBackend Parse(string text)
    {
        var backend = Default;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kv = part.Split('=', 2);
            backend = kv switch
            {
                ["aio", var v] when AioModes.Contains(v) => backend with { Aio = v },
                ["cache", var v] when CacheModes.Contains(v) => backend with { Cache = v },
                _ => throw Bad($"'{part}' is not aio=<{string.Join("|", AioModes)}> or cache=<{string.Join("|", CacheModes)}>"),
            };
        }
        // QEMU refuses aio=native without O_DIRECT on the image.
        if (backend.Aio == "native" && backend.Cache is not ("none" or "directsync"))
            throw Bad("aio=native needs cache=none or cache=directsync");
        return backend;
    }

    private static InputException Bad(string message) => new(new InputProblem("--backend", 0, 0, "--backend", message));
}

/// <summary>Options of the QEMU machine.</summary>
public sealed record QemuOptions(
    KernelImage Kernel,
    string BaseInitramfs,
    Acceleration Acceleration,
    string AccelerationReason,
    BlockBackend Backend,
    long ImageSize,
    int Cpus = 2,
    int MemoryMiB = 1024,
    string QemuBinary = "qemu-system-x86_64",
    TimeSpan? BootTimeout = null,
    TimeSpan? IterationDeadline = null,
    TimeSpan? PowerOffGrace = null,
    bool CrashAfterBoot = false,
    TimeSpan? HungTaskTimeout = null,
    bool FreezeAfterMount = false,
    bool ResetAfterBoot = false)
{
    /// <summary>`qemu-system-x86_64 --version`'s first line, as read when the machine was prepared ("" when not read).</summary>
    public string QemuVersion { get; init; } = "";

    public TimeSpan Boot => BootTimeout ?? TimeSpan.FromSeconds(60);
    public TimeSpan Deadline => IterationDeadline ?? TimeSpan.FromMinutes(5);
    public TimeSpan Grace => PowerOffGrace ?? TimeSpan.FromSeconds(10);

    /// <summary>
    /// The guest's hung_task_timeout_secs, and how long the workload must then show no progress for a
    /// hung task to be a CRASH. TCG runs guest code many times slower than KVM, so it gets more time;
    /// the kernel's default (120 s) would let a deadlock sit for up to four minutes.
    /// </summary>
    public TimeSpan HungTask => HungTaskTimeout ?? TimeSpan.FromSeconds(Acceleration == Acceleration.Kvm ? 30 : 60);
}
