// The real thing: Debian's 6.1 cloud kernel booted under QEMU (TCG here), the NativeAOT agent
// running the seed case inside it, and a guest crashed on purpose through sysrq.
// Needs the NativeAOT agent (`make test` publishes it first) and the Debian mirror.
using Harness.Cases;
using Harness.Cli;
using Harness.Filesystems;
using Harness.Kernels;
using Harness.Machines;
using Harness.Machines.Qemu;
using Harness.Results;
using Harness.Runs;
using Harness.Tests.Kernels;
using Harness.Tests.Support;
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.Qemu;

[Collection(DebianKernelCollection.Name)]
public sealed class QemuBootTests(DebianKernelFixture kernel) : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("qemu-boot-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static string Cache => DebianKernelFixture.CacheRoot;


    private async Task<QemuOptions> Options(params string[] filesystems) =>
        await new QemuSetup(Cache, TextWriter.Null).PrepareAsync(
            kernel.Spec, filesystems.Select(FilesystemCatalog.Find).ToArray(), TestAgent.AotPath(Cache), "auto", BlockBackend.Default,
            512L << 20, cpus: 2, memoryMiB: 1024, TimeSpan.FromSeconds(120), TimeSpan.FromSeconds(300), CancellationToken.None);

    [Fact]
    public async Task Seed_case_passes_inside_a_booted_debian_6_1_kernel_on_ext4_and_xfs()
    {
        var options = await Options("ext4", "xfs");
        var machine = new QemuMachine(options, TextWriter.Null);
        var seed = new CaseCatalog(RepoPaths.Cases).Find("seed");
        var results = Path.Combine(_scratch, "results");

        var summary = await new RunExecutor(machine, new ResultStore(results), TimeProvider.System, TextWriter.Null).RunAsync(
            new RunRequest([FilesystemCatalog.Find("ext4"), FilesystemCatalog.Find("xfs")], [seed], Repeats: 1, Path.Combine(_scratch, "work"), "test", Jobs: 2),
            CancellationToken.None);

        Assert.Equal(Outcome.Pass, summary.Record.Outcome);
        Assert.StartsWith("6.1.0-", summary.Record.Machine.Kernel);
        // The record names what ran by content: the image and config booted, the emulator, the disk backend.
        var identity = summary.Record.Machine.Identity!;
        Assert.Equal(KernelIdentity.Sha256(options.Kernel.BzImage), identity.BzImageSha256);
        Assert.Equal(64, identity.BzImageSha256.Length);
        Assert.Equal(KernelIdentity.Sha256(options.Kernel.ConfigFile), identity.ConfigSha256);
        Assert.NotNull(identity.ConfigSha256);
        Assert.StartsWith("QEMU emulator version ", identity.QemuVersion);
        Assert.Equal("aio=threads,cache=unsafe", identity.Backend);
        Assert.All(summary.Record.Cells, cell =>
        {
            Assert.Equal(1, cell.Passed);
            Assert.Equal(2, cell.CpuCount); // ACPI on: -smp 2 reaches the guest
            Assert.StartsWith("6.1.0-", cell.Kernel);
            Assert.True(cell.BootSeconds > 0);
            var folder = Path.Combine(summary.ResultsPath, "cells", cell.Input.CellId);
            Assert.Contains("HARNESS-BOOTED", File.ReadAllText(Path.Combine(folder, "console.log")));
            Assert.True(File.Exists(Path.Combine(folder, "iteration-000.json")));
            Assert.True(File.Exists(Path.Combine(folder, "cell.json")));
            var iteration = System.Text.Json.JsonSerializer.Deserialize<IterationResult>(
                File.ReadAllText(Path.Combine(folder, "iteration-000.json")), ResultStore.Json)!;
            Assert.Equal(8191, iteration.IoCount);
            PhaseChecks.AddUp(iteration, "mkfs", "initrd", "boot", "mount", "agent-write start", "dirt", "workload", "fsync",
                "remount", "read-after-remount", "unmount", "fsck", "judge");
        });
    }

    [Fact]
    public async Task Guest_crashed_through_sysrq_is_a_kernel_panic_and_the_cell_a_crash()
    {
        var options = await Options("ext4") with { CrashAfterBoot = true };
        var machine = new QemuMachine(options, TextWriter.Null);
        var @case = new CaseCatalog(RepoPaths.Cases).Find("generic-240");
        var folder = new ResultStore(Path.Combine(_scratch, "results")).Create("crash");
        var input = new CellInput("ext4-crash", "ext4", @case.Name, @case.SourceFile, "", @case.Workload.Seed, 1);

        var (cell, _) = await new CellRunner(machine, TimeProvider.System, TextWriter.Null)
            .RunAsync(folder, input, FilesystemCatalog.Find("ext4"), @case, Path.Combine(_scratch, "work"), 0, CancellationToken.None);

        Assert.Equal(Outcome.Crash, cell.Outcome);
        Assert.Equal(1, cell.Crashed);
        Assert.Equal(0, cell.Errored);
        Assert.Equal("kernel-panic", cell.Failure!.Kind);
        Assert.Contains("sysrq triggered crash", cell.Failure.Excerpt);
        Assert.Contains("Kernel panic", File.ReadAllText(cell.Failure.ConsoleLog!));
        Assert.Equal(1, Outcomes.ExitCode(cell.Outcome));
    }

    [Fact]
    public async Task Writer_blocked_on_a_frozen_filesystem_is_a_real_hung_task_and_the_cell_a_crash()
    {
        // fsfreeze after mount: the agent's first write blocks in D state and the disk stands still,
        // so the kernel's own hung-task detector (timeout set from the host) reports it.
        var options = await Options("ext4") with { FreezeAfterMount = true, HungTaskTimeout = TimeSpan.FromSeconds(10) };
        var machine = new QemuMachine(options, TextWriter.Null);
        var @case = new CaseCatalog(RepoPaths.Cases).Find("generic-240");
        var folder = new ResultStore(Path.Combine(_scratch, "results")).Create("hung");
        var input = new CellInput("ext4-hung", "ext4", @case.Name, @case.SourceFile, "", @case.Workload.Seed, 1);

        var (cell, _) = await new CellRunner(machine, TimeProvider.System, TextWriter.Null)
            .RunAsync(folder, input, FilesystemCatalog.Find("ext4"), @case, Path.Combine(_scratch, "work"), 0, CancellationToken.None);

        Assert.Equal(Outcome.Crash, cell.Outcome);
        Assert.Equal("hung-task", cell.Failure!.Kind);
        Assert.Contains("blocked for more than", cell.Failure.Message);
        Assert.Contains("no progress for", cell.Failure.Message);
        Assert.True(cell.Seconds < 120, $"took {cell.Seconds:F0} s");
    }

    [Fact]
    public async Task Guest_that_reboots_itself_mid_cell_is_a_guest_reset_and_the_cell_a_crash()
    {
        // sysrq b: an immediate reboot with no panic message, as a triple fault would end the guest.
        var options = await Options("ext4") with { ResetAfterBoot = true };
        var machine = new QemuMachine(options, TextWriter.Null);
        var @case = new CaseCatalog(RepoPaths.Cases).Find("generic-240");
        var folder = new ResultStore(Path.Combine(_scratch, "results")).Create("reset");
        var input = new CellInput("ext4-reset", "ext4", @case.Name, @case.SourceFile, "", @case.Workload.Seed, 1);

        var (cell, _) = await new CellRunner(machine, TimeProvider.System, TextWriter.Null)
            .RunAsync(folder, input, FilesystemCatalog.Find("ext4"), @case, Path.Combine(_scratch, "work"), 0, CancellationToken.None);

        Assert.True(cell.Outcome == Outcome.Crash, $"{cell.Outcome}: {cell.Error}");
        Assert.Equal("guest-reset", cell.Failure!.Kind);
        Assert.DoesNotContain("Kernel panic", File.ReadAllText(cell.Failure.ConsoleLog!));
    }
}
