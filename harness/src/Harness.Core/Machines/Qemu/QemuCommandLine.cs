// The QEMU argument list for one cell, in one place so it can be snapshot-tested.
using System.Globalization;

namespace Harness.Machines.Qemu;

public static class QemuCommandLine
{
    /// <summary>Paths a cell's QEMU reads and writes.</summary>
    /// <summary>Paths a cell's QEMU reads and writes. <paramref name="AlivePort"/> receives the guest's once-a-second disk counters.</summary>
    public sealed record Paths(string Initrd, string Disk, string ConsoleLog, string ResultsPort, string AlivePort)
    {
        /// <summary>The host-to-guest control FIFO ("run first count", "stop"); none for a probe boot.</summary>
        public string? Control { get; init; }
    }

    public static IReadOnlyList<string> Build(QemuOptions o, Paths p, Setups.DiskGeometry? disk = null)
    {
        static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        var args = new List<string>();
        args.AddRange(o.Acceleration == Acceleration.Kvm
            ? ["-accel", "kvm", "-cpu", "host"]
            : ["-accel", "tcg,thread=multi"]);
        args.AddRange([
            "-smp", I(o.Cpus), "-m", I(o.MemoryMiB),
            // No default devices, no display: the console goes to a file, nothing to a terminal.
            "-nodefaults", "-display", "none", "-no-reboot",
            "-kernel", o.Kernel.BzImage, "-initrd", p.Initrd,
            // panic=-1: reboot at once on panic, which -no-reboot turns into QEMU exiting.
            // no_timer_check: a TCG guest on a loaded host can miss the boot-time IO-APIC timer check and
            // panic ("IO-APIC + timer doesn't work", seen with 4 vCPUs on 2 busy cores): the host's
            // slowness, not the kernel's fault, so that check is skipped as on most virtual machines.
            "-append", "console=ttyS0 panic=-1 loglevel=4 no_timer_check rdinit=/init",
            "-chardev", $"file,id=console,path={p.ConsoleLog}", "-serial", "chardev:console",
            // The test disk: 512-byte logical sectors under 4 KiB fs blocks, so a block has sub-block
            // parts, unless a setup asks for 512e or 4Kn or another bus (QemuDisk).
            "-drive", $"file={p.Disk},if=none,id=test,format=raw,aio={o.Backend.Aio},cache={o.Backend.Cache}",
        ]);
        foreach (var device in QemuDisk.Devices(disk ?? Setups.DiskGeometry.Default)) args.AddRange(["-device", device]);
        args.AddRange([
            // Results leave by their own channel, never mixed with kernel messages.
            "-device", "virtio-serial-pci",
            "-chardev", $"file,id=results,path={p.ResultsPort}",
            "-device", $"virtserialport,chardev=results,name={GuestInit.ResultsPortName}",
            // Liveness on a third channel: the test disk's IO counters every second, so the host can
            // tell a slow but moving guest from a stuck one when a hung task is reported.
            "-chardev", $"file,id=alive,path={p.AlivePort}",
            "-device", $"virtserialport,chardev=alive,name={GuestInit.AlivePortName}",
        ]);
        // Orders in: QEMU's pipe chardev opens the FIFO read-write, so it never waits for the host.
        if (p.Control is { } control)
            args.AddRange(["-chardev", $"pipe,id=control,path={control}", "-device", $"virtserialport,chardev=control,name={GuestInit.ControlPortName}"]);
        return args;
    }
}
