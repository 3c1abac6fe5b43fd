// The KVM probe's answer is kept per host: a host where guests never boot under KVM pays the
// probe's timeout once, not on every command. Driven by a fake QEMU (it never boots, or boots at
// once) and a stand-in for /dev/kvm, so the test is about our logic, not this host's KVM.
using System.Diagnostics;
using Harness.Kernels;
using Harness.Machines.Qemu;
using Xunit;

namespace Harness.Tests.Qemu;

public sealed class KvmProbeCacheTests : IDisposable
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);
    private readonly string _scratch = Directory.CreateTempSubdirectory("kvm-probe-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private QemuOptions Options(FakeQemu fake)
    {
        var bz = Path.Combine(_scratch, "bzImage");
        var initrd = Path.Combine(_scratch, "base.cpio");
        File.WriteAllText(bz, "not a kernel");
        File.WriteAllBytes(initrd, []);
        return new QemuOptions(new KernelImage("fake", "0.0.0-fake", bz, null, "test"), initrd, Acceleration.Tcg, "", BlockBackend.Default, 64L << 20, QemuBinary: fake.Path);
    }

    private string FakeKvm()
    {
        var device = Path.Combine(_scratch, "kvm");
        File.WriteAllText(device, "");
        return device;
    }

    private Task<(Acceleration, string)> Decide(string requested, FakeQemu fake, KvmProbeCache cache, string kvm) =>
        AccelerationProbe.DecideAsync(requested, Options(fake), Path.Combine(_scratch, "probe-" + Guid.NewGuid().ToString("N")), ProbeTimeout,
            CancellationToken.None, cache, kvm);

    [Fact]
    public async Task A_probe_that_never_boots_costs_its_timeout_once_then_the_kept_answer_is_used()
    {
        using var hangs = new FakeQemu("sleep 60");
        var cache = new KvmProbeCache(Path.Combine(_scratch, "cache", "kvm-probe.json"));
        var kvm = FakeKvm();

        var clock = Stopwatch.StartNew();
        var (first, firstReason) = await Decide("auto", hangs, cache, kvm);
        var firstSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var (second, secondReason) = await Decide("auto", hangs, cache, kvm);
        var secondSeconds = clock.Elapsed.TotalSeconds;

        Assert.Equal(Acceleration.Tcg, first);
        Assert.Contains("KVM probe did not boot within 2 s", firstReason);
        Assert.True(firstSeconds >= ProbeTimeout.TotalSeconds, $"the first probe must really wait ({firstSeconds:F2} s)");
        Assert.True(File.Exists(cache.File));
        Assert.Equal(Acceleration.Tcg, second);
        Assert.Contains("KVM probe did not boot within 2 s", secondReason);
        Assert.Contains("kept in", secondReason);
        Assert.True(secondSeconds < ProbeTimeout.TotalSeconds, $"the kept answer must not probe again ({secondSeconds:F2} s)");
    }

    [Fact]
    public async Task Reprobe_probes_again_despite_a_kept_answer_and_keeps_the_new_one()
    {
        // One QEMU binary (same key) whose behaviour changes behind the key's back: it dies at once, then hangs.
        var hang = Path.Combine(_scratch, "hang-now");
        using var qemu = new FakeQemu($"[ -f '{hang}' ] && sleep 60; exit 1");
        var cache = new KvmProbeCache(Path.Combine(_scratch, "cache", "kvm-probe.json"));
        var kvm = FakeKvm();
        var (_, firstReason) = await Decide("auto", qemu, cache, kvm);
        Assert.Contains("QEMU ended after", firstReason);
        var kept = File.ReadAllText(cache.File);
        File.WriteAllText(hang, "");
        var (_, keptReason) = await Decide("auto", qemu, cache, kvm);
        Assert.Contains("kept in", keptReason);

        // --reprobe asks again.
        var clock = Stopwatch.StartNew();
        var (_, reason) = await AccelerationProbe.DecideAsync("auto", Options(qemu), Path.Combine(_scratch, "probe-re"), ProbeTimeout,
            CancellationToken.None, cache, kvm, reprobe: true);

        Assert.Contains("did not boot within", reason);
        Assert.DoesNotContain("kept in", reason);
        Assert.True(clock.Elapsed >= ProbeTimeout, "--reprobe must really probe");
        Assert.NotEqual(kept, File.ReadAllText(cache.File));
    }

    [Fact]
    public async Task A_QEMU_that_dies_under_KVM_is_told_apart_from_one_that_hangs()
    {
        using var dies = new FakeQemu("exit 1");
        var cache = new KvmProbeCache(Path.Combine(_scratch, "kvm-probe.json"));

        var (acceleration, reason) = await Decide("auto", dies, cache, FakeKvm());

        Assert.Equal(Acceleration.Tcg, acceleration);
        Assert.Contains("QEMU ended after", reason);
        Assert.DoesNotContain("within", reason);
    }

    [Fact]
    public async Task Another_QEMU_binary_is_probed_again_and_its_own_answer_kept()
    {
        using var hangs = new FakeQemu("sleep 60");
        using var boots = new FakeQemu(FakeQemu.Boot + "; sleep 60");
        var cache = new KvmProbeCache(Path.Combine(_scratch, "kvm-probe.json"));
        var kvm = FakeKvm();

        var (before, _) = await Decide("auto", hangs, cache, kvm);
        var (after, reason) = await Decide("auto", boots, cache, kvm);

        Assert.Equal(Acceleration.Tcg, before);
        Assert.Equal(Acceleration.Kvm, after);                 // a new key: probed, not taken from the old answer
        Assert.StartsWith("KVM probe booted in", reason);
        Assert.Equal(Acceleration.Kvm, cache.Find(KvmProbeCache.KeyFor(boots.Path, kvm))?.Acceleration);
        Assert.Null(cache.Find(KvmProbeCache.KeyFor(hangs.Path, kvm)));
    }

    [Fact]
    public async Task Accel_kvm_never_trusts_a_kept_answer_and_a_damaged_file_only_costs_a_probe()
    {
        using var boots = new FakeQemu(FakeQemu.Boot + "; sleep 60");
        var cache = new KvmProbeCache(Path.Combine(_scratch, "kvm-probe.json"));
        var kvm = FakeKvm();
        cache.Store(new KvmProbeAnswer(KvmProbeCache.KeyFor(boots.Path, kvm), Acceleration.Tcg, "an old answer", DateTimeOffset.UnixEpoch));

        var (forced, forcedReason) = await Decide("kvm", boots, cache, kvm);
        File.WriteAllText(cache.File, "{ not json");
        var (auto, autoReason) = await Decide("auto", boots, cache, kvm);

        Assert.Equal(Acceleration.Kvm, forced);
        Assert.DoesNotContain("an old answer", forcedReason);
        Assert.Equal(Acceleration.Kvm, auto);
        Assert.StartsWith("KVM probe booted in", autoReason);
    }
}
