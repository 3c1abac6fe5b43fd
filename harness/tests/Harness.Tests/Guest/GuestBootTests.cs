// Boots the real Debian 6.1 cloud kernel under QEMU (TCG) with a built initramfs: modules load
// in the resolved order, the virtio disk and serial port appear, the agent's libraries work,
// and a cell archive's files override the base's (here: /init itself).
using System.Diagnostics;
using System.Text;
using Harness.Guest;
using Harness.Machines;
using Harness.Tests.Kernels;
using Xunit;
using Xunit.Abstractions;

namespace Harness.Tests.Guest;

[Collection(DebianKernelCollection.Name)]
public sealed class GuestBootTests(DebianKernelFixture debian, ITestOutputHelper output) : IDisposable
{
    private const string BaseInit = "#!/bin/busybox sh\necho BASE-INIT-RAN\n/bin/busybox reboot -f\n";

    private const string CellInit = """
        #!/bin/busybox sh
        /bin/busybox --install -s
        export PATH=/bin:/sbin:/usr/bin:/usr/sbin
        mount -t devtmpfs dev /dev
        mount -t proc proc /proc
        mount -t sysfs sys /sys
        while read -r m; do insmod "$m" || echo "INSMOD-FAILED $m"; done < /harness/modules
        n=0
        while [ $n -lt 50 ] && ! { [ -b /dev/vda ] && ls /dev/vport* >/dev/null 2>&1; }; do sleep 0.1; n=$((n + 1)); done
        echo "DEVICES $(ls /dev/vd* /dev/vport* | tr '\n' ' ')"
        for p in /sys/class/virtio-ports/*; do echo "PORT $(cat "$p/name")"; done
        grep -q xfs /proc/filesystems && echo "XFS-REGISTERED"
        /harness/harness-agent --help > /dev/null 2>&1; echo "AGENT-EXIT $?"
        echo "CPUS $(grep -c ^processor /proc/cpuinfo)"
        reboot -f

        """;

    private readonly string _dir = Directory.CreateDirectory(Path.Combine("/tmp", $"harness-boot-test-{Guid.NewGuid():N}")).FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Debian_kernel_boots_the_initramfs_and_loads_virtio_and_xfs_modules()
    {
        var agent = Environment.GetEnvironmentVariable("HARNESS_AGENT_AOT") is { } aot && File.Exists(aot) ? aot : "/bin/true";
        var baseArchive = await new InitramfsBuilder(Path.Combine(_dir, "initramfs"))
            .BuildBaseAsync(debian.Kernel, ["virtio_pci", "virtio_blk", "virtio_console", "xfs"], agent, BaseInit, CancellationToken.None);
        var initrd = Path.Combine(_dir, "cell.cpio");
        await InitramfsBuilder.WriteCellInitrdAsync(baseArchive, [new GuestFile("/init", Encoding.UTF8.GetBytes(CellInit), GuestFile.Executable)], initrd, CancellationToken.None);
        var disk = Path.Combine(_dir, "disk.img");
        using (var file = File.Create(disk)) file.SetLength(64 << 20);

        var clock = Stopwatch.StartNew();
        var console = await HostCommand.RunAsync("timeout", [
            "120", "qemu-system-x86_64", "-accel", "tcg,thread=multi", "-smp", "2", "-m", "1024",
            "-nographic", "-no-reboot", "-kernel", debian.Kernel.BzImage, "-initrd", initrd,
            "-append", "console=ttyS0 panic=-1",
            "-drive", $"file={disk},if=none,id=d0,format=raw", "-device", "virtio-blk-pci,drive=d0",
            "-device", "virtio-serial-pci", "-chardev", $"file,id=r,path={Path.Combine(_dir, "results.out")}",
            "-device", "virtserialport,chardev=r,name=harness.results"], CancellationToken.None);
        output.WriteLine($"boot to power-off: {clock.Elapsed.TotalSeconds:F1} s");
        output.WriteLine(console);

        Assert.DoesNotContain("BASE-INIT-RAN", console);
        Assert.DoesNotContain("INSMOD-FAILED", console);
        Assert.DoesNotContain("Unknown symbol", console, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("/dev/vda", console);
        Assert.Contains("/dev/vport", console);
        Assert.Contains("PORT harness.results", console);
        Assert.Contains("XFS-REGISTERED", console);
        Assert.Contains("AGENT-EXIT 0", console);
        Assert.Contains("CPUS 2", console);
    }
}
