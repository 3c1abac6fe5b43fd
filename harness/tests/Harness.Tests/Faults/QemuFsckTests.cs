// The QEMU machine checks the guest's disk on the host after a clean finish: against a fake
// QEMU that reports two iterations and, in one test, damages the disk image as a guest could.
// The disk is made by the real mkfs.ext4 and checked by the real e2fsck.
using System.Text.Json;
using Harness.Cases;
using Harness.Filesystems;
using Harness.Kernels;
using Harness.Machines;
using Harness.Machines.Qemu;
using Harness.Tests.Qemu;
using Harness.Tests.Support;
using Harness.Workload;
using Xunit;

namespace Harness.Tests.Faults;

public sealed class QemuFsckTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("qemu-fsck-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    // The fake finds the test disk in QEMU's -drive argument, as a guest would see it.
    private const string FindDisk = """
        for a in "$@"; do case $a in file=*,id=test,*) DISK=${a#file=}; DISK=${DISK%%,*} ;; esac; done
        """;

    private async Task<List<IterationRaw>> RunAsync(string guestBehaviour)
    {
        var frames = Path.Combine(_scratch, "frames");
        await File.WriteAllTextAsync(frames, Frame(0, "write") + Frame(0, "readback") + Frame(1, "write") + Frame(1, "readback") + "@@done\n");
        using var fake = new FakeQemu($"{FindDisk}\n{FakeQemu.Boot}\n{guestBehaviour}\ncat '{frames}' >> \"$RESULTS\"\nexit 0");
        var bz = Path.Combine(_scratch, "bzImage");
        var initrd = Path.Combine(_scratch, "base.cpio");
        await File.WriteAllTextAsync(bz, "not a kernel");
        await File.WriteAllBytesAsync(initrd, []);
        var machine = new QemuMachine(new QemuOptions(new KernelImage("fake", "0.0.0-fake", bz, null, "test"), initrd, Acceleration.Tcg, "test",
            BlockBackend.Default, 64L << 20, QemuBinary: fake.Path, BootTimeout: TimeSpan.FromSeconds(5),
            IterationDeadline: TimeSpan.FromSeconds(5), PowerOffGrace: TimeSpan.FromSeconds(2)), TextWriter.Null);
        var @case = new CaseCatalog(RepoPaths.Cases).Find("generic-240");
        var cell = new CellRequest("ext4-test", FilesystemCatalog.Find("ext4"), @case, 2, Path.Combine(_scratch, "work"), Path.Combine(_scratch, "logs"));

        var raws = new List<IterationRaw>();
        await foreach (var raw in machine.RunCellAsync(cell, CancellationToken.None)) raws.Add(raw);
        return raws;
    }

    private static string Frame(int iteration, string phase)
    {
        var report = new AgentReport(phase == "write" ? AgentPhase.Write : AgentPhase.Readback, "fake", 2, [], [new ReadbackPass("after-fsync", 0, [])], 0.1, null);
        return $"@@begin {iteration} {phase}\n{JsonSerializer.Serialize(report, AgentJsonContext.Default.AgentReport)}\n@@end {iteration} {phase} 0\n";
    }

    [Fact]
    public async Task A_clean_finish_checks_the_disk_on_the_host_and_attaches_it_to_the_last_iteration()
    {
        var raws = await RunAsync("");

        Assert.Equal([0, 1], raws.Select(r => r.Iteration));
        Assert.Null(raws[0].Fsck);
        Assert.True(raws[1].Fsck is { Ran: true, Clean: true, ExitCode: 0, Tool: "e2fsck" }, raws[1].Fsck?.Output);
        Assert.EndsWith("disk.img", raws[1].Fsck!.CommandLine);
    }

    [Fact]
    public async Task Metadata_the_guest_damaged_is_an_fsck_complaint()
    {
        var raws = await RunAsync("debugfs -w -R 'freeb 100' \"$DISK\" 2>/dev/null");

        Assert.True(raws[1].Fsck is { Complained: true, ExitCode: 4 }, raws[1].Fsck?.Output);
        Assert.Contains("Block bitmap differences", raws[1].Fsck!.Output);
    }
}
