// KVM only when it actually works: on some hosts /dev/kvm opens but a normal guest hangs
// (DESIGN.md), so "auto" boots the real kernel once under KVM with a deadline and falls
// back to TCG (thread=multi) if the boot marker does not appear.
using System.Diagnostics;
using System.Text;
using CliWrap;
using Harness.Guest;

namespace Harness.Machines.Qemu;

public static class AccelerationProbe
{
    /// <summary>
    /// Decides the acceleration for <paramref name="requested"/> (auto, kvm, tcg); the reason goes in the run record.
    /// With a <paramref name="cache"/>, a probe boot's answer is reused while its key holds (see
    /// <see cref="KvmProbeCache.KeyFor"/>); `--accel kvm` always probes again, so it can never be
    /// refused on an old answer, and <paramref name="reprobe"/> (`--reprobe`) probes again and stores the new answer.
    /// </summary>
    public static async Task<(Acceleration Acceleration, string Reason)> DecideAsync(
        string requested, QemuOptions tcgOptions, string scratch, TimeSpan probeTimeout, CancellationToken cancellationToken,
        KvmProbeCache? cache = null, string kvmDevice = "/dev/kvm", TimeProvider? time = null, bool reprobe = false)
    {
        if (requested == "tcg") return (Acceleration.Tcg, "requested");
        string? why = null;
        if (!File.Exists(kvmDevice)) why = $"no {kvmDevice}";
        else
        {
            try { using var _ = new FileStream(kvmDevice, FileMode.Open, FileAccess.ReadWrite); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { why = $"{kvmDevice} not usable: {e.Message}"; }
        }
        if (why is null)
        {
            var key = cache is null ? "" : KvmProbeCache.KeyFor(tcgOptions.QemuBinary, kvmDevice);
            // --reprobe: the answer is probed again (and stored), whatever the cache holds.
            if (requested == "auto" && !reprobe && cache?.Find(key) is { } known)
                return (known.Acceleration, $"{known.Reason} (KVM probe answer of {known.ProbedAt:yyyy-MM-dd HH:mm} kept in {cache.File}: same host kernel, boot, QEMU and KVM device)");
            var probeClock = Stopwatch.StartNew();
            var seconds = await ProbeBootAsync(tcgOptions with { Acceleration = Acceleration.Kvm }, scratch, probeTimeout, cancellationToken);
            var now = (time ?? TimeProvider.System).GetUtcNow();
            if (seconds is { } s)
            {
                cache?.Store(new KvmProbeAnswer(key, Acceleration.Kvm, $"KVM probe booted in {s:F1} s", now));
                return (Acceleration.Kvm, $"KVM probe booted in {s:F1} s");
            }
            // Say which: a QEMU that dies under KVM at once and a guest that hangs under it cost very different times.
            why = probeClock.Elapsed < probeTimeout
                ? $"KVM probe: QEMU ended after {probeClock.Elapsed.TotalSeconds:F1} s before the guest booted"
                : $"KVM probe did not boot within {probeTimeout.TotalSeconds:F0} s";
            if (requested == "auto") cache?.Store(new KvmProbeAnswer(key, Acceleration.Tcg, why + "; using TCG thread=multi", now));
        }
        if (requested == "kvm")
            throw new MachineException($"--accel kvm: {why}");
        return (Acceleration.Tcg, why + "; using TCG thread=multi");
    }

    /// <summary>
    /// Boots the guest to its marker and stops it; returns seconds to boot, or null on timeout or exit.
    /// <paramref name="scratch"/> is the probe's own folder (one per process: two harnesses probe at
    /// once on a shared cache), deleted when the probe ends.
    /// </summary>
    public static async Task<double?> ProbeBootAsync(QemuOptions options, string scratch, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(scratch);
        var paths = new QemuCommandLine.Paths(Path.Combine(scratch, "probe-initrd"), Path.Combine(scratch, "probe-disk.img"),
            Path.Combine(scratch, "probe-console.log"), Path.Combine(scratch, "probe-results.log"), Path.Combine(scratch, "probe-alive.log"));
        await using (var f = new FileStream(paths.Disk, FileMode.Create, FileAccess.Write)) f.SetLength(1 << 20);
        var env = "FS_TYPE=none\nREPEATS=0\nREMOUNT=0\nCRASH=0\nPROBE=1\n";
        await InitramfsBuilder.WriteCellInitrdAsync(options.BaseInitramfs, [new GuestFile("/harness/cell.env", Encoding.UTF8.GetBytes(env), 0x1A4)], paths.Initrd, cancellationToken);
        using var kill = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var qemu = Cli.Wrap(options.QemuBinary).WithArguments(QemuCommandLine.Build(options, paths))
            .WithValidation(CommandResultValidation.None).ExecuteAsync(kill.Token);
        var console = new ConsoleWatcher(paths.ConsoleLog);
        var clock = Stopwatch.StartNew();
        try
        {
            while (clock.Elapsed < timeout && !qemu.Task.IsCompleted)
            {
                console.Poll();
                if (console.Booted) return clock.Elapsed.TotalSeconds;
                await Task.Delay(100, cancellationToken);
            }
            console.Poll();
            return console.Booted ? clock.Elapsed.TotalSeconds : null;
        }
        finally
        {
            await kill.CancelAsync();
            try { await qemu; } catch (OperationCanceledException) { }
            try { Directory.Delete(scratch, recursive: true); }
            catch (IOException) { /* scratch only */ }
        }
    }
}
