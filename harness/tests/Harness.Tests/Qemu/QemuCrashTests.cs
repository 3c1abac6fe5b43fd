// Kernel failures count against the kernel (CRASH); the harness's and host's failures do not
// (ERROR). Driven through a fake QEMU that prints what a real kernel prints, and through the
// CellRunner, which turns a machine's failure into the cell's outcome word.
using System.Text.Json;
using Harness.Cases;
using Harness.Filesystems;
using Harness.Golden;
using Harness.Kernels;
using Harness.Machines;
using Harness.Machines.Qemu;
using Harness.Results;
using Harness.Runs;
using Harness.Tests.Golden;
using Harness.Tests.Support;
using Harness.Verdicts;
using Harness.Workload;
using Xunit;

namespace Harness.Tests.Qemu;

public sealed class QemuCrashTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("qemu-crash-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static readonly CaseSpec Generic240 = new CaseCatalog(RepoPaths.Cases).Find("generic-240");

    private QemuMachine Machine(string qemuBinary, double bootSeconds = 5, double deadlineSeconds = 10, double hungTaskSeconds = 1)
    {
        var bz = Path.Combine(_scratch, "bzImage");
        var initrd = Path.Combine(_scratch, "base.cpio");
        File.WriteAllText(bz, "not a kernel");
        File.WriteAllBytes(initrd, []);
        var kernel = new KernelImage("fake", "0.0.0-fake", bz, null, "test");
        return new QemuMachine(new QemuOptions(kernel, initrd, Acceleration.Tcg, "test", BlockBackend.Default, 64L << 20,
            QemuBinary: qemuBinary,
            BootTimeout: TimeSpan.FromSeconds(bootSeconds),
            IterationDeadline: TimeSpan.FromSeconds(deadlineSeconds),
            PowerOffGrace: TimeSpan.FromSeconds(0.5),
            HungTaskTimeout: TimeSpan.FromSeconds(hungTaskSeconds)), TextWriter.Null);
    }

    private static CaseSpec Case(bool remount) =>
        Generic240 with { Readback = remount ? [ReadbackStep.AfterFsync, ReadbackStep.AfterRemount] : [ReadbackStep.AfterFsync] };

    private CellRequest Cell(int repeats = 1, bool remount = false) =>
        new("ext4-test", FilesystemCatalog.Find("ext4"), Case(remount), repeats, Path.Combine(_scratch, "work"), Path.Combine(_scratch, "logs"));

    private async Task<(CellResult Cell, string ResultsPath)> RunCell(QemuMachine machine, int repeats = 1, bool remount = false)
    {
        var folder = new ResultStore(Path.Combine(_scratch, "results")).Create("run");
        var @case = Case(remount);
        var input = new CellInput("ext4-test", "ext4", @case.Name, @case.SourceFile, "", @case.Workload.Seed, repeats);
        var (cell, cancelled) = await new CellRunner(machine, TimeProvider.System, TextWriter.Null)
            .RunAsync(folder, input, FilesystemCatalog.Find("ext4"), @case, Path.Combine(_scratch, "work"), 0, CancellationToken.None);
        Assert.False(cancelled);
        return (cell, folder.CellDirectory("ext4-test"));
    }

    private static async Task<(List<IterationRaw> Raws, Exception? Error)> Drain(QemuMachine machine, CellRequest cell)
    {
        var raws = new List<IterationRaw>();
        try
        {
            await foreach (var raw in machine.RunCellAsync(cell, CancellationToken.None)) raws.Add(raw);
            return (raws, null);
        }
        catch (Exception e) { return (raws, e); }
    }

    /// <summary>A framed agent report as the guest sends it: the plan's IOs all acknowledged, the file as they left it (optionally damaged).</summary>
    private static string RealFrame(int iteration, AgentPhase phase, Func<SyntheticDisk, SyntheticDisk>? damage = null)
    {
        var plan = PlanBuilder.Build(Generic240.Workload, iteration);
        var disk = new SyntheticDisk(plan).LandAll();
        var pass = (damage?.Invoke(disk) ?? disk).Read(phase == AgentPhase.Write ? "after-fsync" : "after-remount");
        var report = new AgentReport(phase, "6.1.0-fake", 2, phase == AgentPhase.Write ? SyntheticIos.Sequential(plan) : [], [pass], 0.5, null);
        var word = phase == AgentPhase.Write ? "write" : "readback";
        return $"@@begin {iteration} {word}\n{JsonSerializer.Serialize(report, AgentJsonContext.Default.AgentReport)}\n@@end {iteration} {word} 0\n";
    }

    private string FramesFile(string text)
    {
        var path = Path.Combine(_scratch, $"frames-{Guid.NewGuid():N}");
        File.WriteAllText(path, text);
        return path;
    }

    // What 6.1 prints for each (mm/kasan/report.c, kernel/kcsan/report.c, lib/ubsan.c, kernel/locking/lockdep.c, die()).
    [Theory]
    [InlineData("[   7.0] Oops: 0002 [#1] PREEMPT SMP NOPTI", GuestFailureKind.Oops, "oops")]
    [InlineData("[   7.0] general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP", GuestFailureKind.Oops, "oops")]
    [InlineData("[   7.0] kernel BUG at fs/direct-io.c:1234!", GuestFailureKind.KernelBug, "kernel-bug")]
    [InlineData("[   7.0] BUG: sleeping function called from invalid context at fs/direct-io.c:300", GuestFailureKind.KernelBug, "kernel-bug")]
    [InlineData("[   7.0] BUG: KASAN: use-after-free in dio_bio_end_aio+0x2a/0x120", GuestFailureKind.Sanitizer, "sanitizer")]
    [InlineData("[   7.0] BUG: KCSAN: data-race in dio_zero_block / dio_zero_block", GuestFailureKind.Sanitizer, "sanitizer")]
    [InlineData("[   7.0] UBSAN: shift-out-of-bounds in fs/direct-io.c:1012:20", GuestFailureKind.Sanitizer, "sanitizer")]
    [InlineData("[   7.0] WARNING: possible circular locking dependency detected", GuestFailureKind.Lockdep, "lockdep")]
    [InlineData("[   7.0] WARNING: possible recursive locking detected", GuestFailureKind.Lockdep, "lockdep")]
    [InlineData("[   7.0] WARNING: inconsistent lock state", GuestFailureKind.Lockdep, "lockdep")]
    [InlineData("[   7.0] WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected", GuestFailureKind.Lockdep, "lockdep")]
    [InlineData("[   7.0] Kernel panic - not syncing: Fatal exception", GuestFailureKind.KernelPanic, "kernel-panic")]
    public async Task Kernel_failure_on_the_console_makes_the_cell_a_crash(string line, GuestFailureKind kind, string word)
    {
        using var fake = new FakeQemu(FakeQemu.Boot + $"\necho '{line}' >> \"$CONSOLE\"\nsleep 600");

        var (cell, _) = await RunCell(Machine(fake.Path));

        Assert.Equal(Outcome.Crash, cell.Outcome);
        Assert.Equal(1, cell.Crashed);
        Assert.Equal(0, cell.Errored);
        Assert.Equal(word, cell.Failure!.Kind);
        Assert.Equal(word, QemuMachine.Word(kind));
        Assert.Contains(line[10..], cell.Failure.Message);
        Assert.Contains(line, cell.Failure.Excerpt);
        Assert.False(fake.StillRunning());
    }

    [Theory]
    [InlineData("[   7.0] traps: harness-agent[97] general protection fault ip:7f31c2a0 sp:7ffd1c20 error:0 in libc.so.6[7f31c000+155000]")]
    [InlineData("[   7.0] harness-agent[97]: segfault at 8 ip 00007f31c2a0 sp 00007ffd1c20 error 4 in libc.so.6")]
    [InlineData("[   7.0] EXT4-fs (vda): mounted filesystem with ordered data mode. Quota mode: none.")]
    [InlineData("[   7.0] BUG: MAX_LOCKDEP_CHAIN_HLOCKS too low!")]
    [InlineData("[   7.0] rcu: INFO: rcu_preempt self-detected stall on CPU")]
    [InlineData("[   7.0] watchdog: BUG: soft lockup - CPU#1 stuck for 23s! [harness-agent:97]")]
    public async Task User_program_faults_kernel_chatter_and_stalls_of_a_moving_guest_are_not_crashes(string line)
    {
        // A stall or lockup report from a guest whose disk keeps moving (TCG on a loaded host) is a warning.
        var frames = FramesFile(RealFrame(0, AgentPhase.Write) + "@@done\n");
        using var fake = new FakeQemu(FakeQemu.Boot + $"\necho '{line}' >> \"$CONSOLE\"\n" + FakeQemu.Alive(2, moving: true) +
            $"\ncat '{frames}' >> \"$RESULTS\"\nsleep 600");

        var (cell, _) = await RunCell(Machine(fake.Path));

        Assert.Null(cell.Failure);
        Assert.Equal(Outcome.Pass, cell.Outcome);
        Assert.Equal(0, cell.Crashed);
    }

    [Fact]
    public async Task Hung_task_with_the_disk_standing_still_is_a_crash()
    {
        using var fake = new FakeQemu(FakeQemu.Boot + "\n" +
            "echo '[  45.0] INFO: task harness-agent:97 blocked for more than 1 seconds.' >> \"$CONSOLE\"\n" +
            FakeQemu.Alive(30, moving: false));

        var (cell, _) = await RunCell(Machine(fake.Path, hungTaskSeconds: 1));

        Assert.Equal(Outcome.Crash, cell.Outcome);
        Assert.Equal("hung-task", cell.Failure!.Kind);
        Assert.Contains("no progress for", cell.Failure.Message);
        Assert.Contains("harness-agent:97 blocked", cell.Failure.Message);
        Assert.False(fake.StillRunning());
    }

    [Fact]
    public async Task Hung_task_while_the_disk_keeps_moving_is_a_warning_and_the_cell_passes()
    {
        var frames = FramesFile(RealFrame(0, AgentPhase.Write) + "@@done\n");
        // The report comes, then 3 s of a slow but moving disk (3x the hung-task timeout), then the result.
        using var fake = new FakeQemu(FakeQemu.Boot + "\n" +
            "echo '[  45.0] INFO: task harness-agent:97 blocked for more than 1 seconds.' >> \"$CONSOLE\"\n" +
            FakeQemu.Alive(3, moving: true) + $"\ncat '{frames}' >> \"$RESULTS\"\nsleep 600");

        var (cell, _) = await RunCell(Machine(fake.Path, hungTaskSeconds: 1));

        Assert.Null(cell.Failure);
        Assert.Equal(Outcome.Pass, cell.Outcome);
        Assert.Equal(1, cell.Passed);
        Assert.Equal(0, cell.Crashed);
        Assert.Equal(1, cell.KernelWarnings.Count);
        Assert.Contains("blocked for more than 1 seconds", cell.KernelWarnings.First[0]);
        Assert.Contains("not a crash", cell.KernelWarnings.First[0]);
    }

    [Theory]
    [InlineData("[  45.0] watchdog: BUG: soft lockup - CPU#1 stuck for 23s! [harness-agent:97]")]
    [InlineData("[  45.0] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:")]
    public async Task Lockup_or_stall_with_the_disk_standing_still_is_a_crash(string line)
    {
        using var fake = new FakeQemu(FakeQemu.Boot + $"\necho '{line}' >> \"$CONSOLE\"\n" + FakeQemu.Alive(30, moving: false));

        var (cell, _) = await RunCell(Machine(fake.Path, hungTaskSeconds: 1));

        Assert.Equal(Outcome.Crash, cell.Outcome);
        Assert.Equal("stall", cell.Failure!.Kind);
        Assert.Contains(line[9..], cell.Failure.Message);
    }

    [Fact]
    public async Task Guest_that_resets_itself_during_the_workload_is_a_crash()
    {
        // -no-reboot: a triple fault or reboot ends QEMU with status 0, before any result.
        using var fake = new FakeQemu(FakeQemu.Boot + "\nsleep 0.3\nexit 0");

        var (cell, _) = await RunCell(Machine(fake.Path));

        Assert.Equal(Outcome.Crash, cell.Outcome);
        Assert.Equal("guest-reset", cell.Failure!.Kind);
    }

    [Fact]
    public async Task Boot_timeout_without_a_kernel_message_is_an_error_not_a_crash()
    {
        using var fake = new FakeQemu("echo 'SeaBIOS (version 1.16.2)' >> \"$CONSOLE\"\nsleep 600");

        var (cell, _) = await RunCell(Machine(fake.Path, bootSeconds: 1));

        Assert.Equal(Outcome.Error, cell.Outcome);
        Assert.Equal(0, cell.Crashed);
        Assert.Equal(1, cell.Errored);
        Assert.Equal("boot-timeout", cell.Failure!.Kind);
        Assert.False(fake.StillRunning());
    }

    [Fact]
    public async Task Deadline_without_a_kernel_message_is_an_error_not_a_crash()
    {
        using var fake = new FakeQemu(FakeQemu.Boot + "\n" + FakeQemu.Alive(30, moving: false));

        var (cell, _) = await RunCell(Machine(fake.Path, deadlineSeconds: 1));

        Assert.Equal(Outcome.Error, cell.Outcome);
        Assert.Equal("workload-deadline", cell.Failure!.Kind);
    }

    [Fact]
    public async Task Qemu_that_cannot_start_is_an_error()
    {
        var (cell, _) = await RunCell(Machine(Path.Combine(_scratch, "no-such-qemu")));

        Assert.Equal(Outcome.Error, cell.Outcome);
        Assert.Equal(0, cell.Crashed);
        Assert.Equal("qemu-not-started", cell.Failure!.Kind);
        Assert.Contains("no-such-qemu", cell.Failure.Message);
    }

    [Fact]
    public async Task Qemu_refusing_its_arguments_is_an_error()
    {
        using var fake = new FakeQemu("echo 'qemu-system-x86_64: -device virtio-blk-pci: drive not found' >&2\nexit 1");

        var (cell, _) = await RunCell(Machine(fake.Path));

        Assert.Equal(Outcome.Error, cell.Outcome);
        Assert.Equal("qemu-exited", cell.Failure!.Kind);
        Assert.Contains("before the guest booted", cell.Failure.Message);
    }

    [Fact]
    public async Task Kernel_warnings_are_recorded_with_the_cell_and_shown_in_the_table_without_changing_the_outcome()
    {
        // One warning during the workload; six more after the last report, while the guest unmounts.
        var frames = FramesFile(RealFrame(0, AgentPhase.Write));
        using var fake = new FakeQemu(FakeQemu.Boot + """

            printf '[   8.0] ------------[ cut here ]------------\n[   8.0] WARNING: CPU: 1 PID: 97 at fs/direct-io.c:300 dio_complete+0x1f/0x200\n[   8.1] Modules linked in:\n' >> "$CONSOLE"
            """ + $"\ncat '{frames}' >> \"$RESULTS\"\nsleep 0.5\n" + """
            for i in 1 2 3 4 5 6; do echo "[   9.$i] WARNING: CPU: 0 PID: 98 at fs/iomap/direct-io.c:$i iomap_dio_rw+0x1/0x2" >> "$CONSOLE"; done
            echo '@@done' >> "$RESULTS"
            sleep 600
            """);

        var (cell, _) = await RunCell(Machine(fake.Path));

        Assert.Equal(Outcome.Pass, cell.Outcome);
        Assert.Equal(7, cell.KernelWarnings.Count);
        Assert.Equal(KernelWarnings.Kept, cell.KernelWarnings.First.Count);
        Assert.Equal("WARNING: CPU: 1 PID: 97 at fs/direct-io.c:300 dio_complete+0x1f/0x200", cell.KernelWarnings.First[0]);
        var table = RunTable.Render(new RunRecord("r", DateTimeOffset.UnixEpoch, null, "", "", "", "", new MachineFacts("qemu", "", 2, ""), [cell.Input], [cell], cell.Outcome, false));
        Assert.Contains("ext4-test: 7 kernel warning(s): WARNING: CPU: 1 PID: 97 at fs/direct-io.c:300", table);
    }

    [Fact]
    public async Task Write_report_before_a_panic_is_handed_on_with_its_after_fsync_pass_so_the_finding_is_judged()
    {
        // Iteration 0's write phase finished (its after-fsync read-back saw a zeroed sector), then the
        // kernel panicked before the remount read-back.
        var frames = FramesFile(RealFrame(0, AgentPhase.Write, d => d.Zero(8, 1)));
        using var fake = new FakeQemu(FakeQemu.Boot + $"\ncat '{frames}' >> \"$RESULTS\"\nsleep 0.3\n" +
            "echo '[  20.0] Kernel panic - not syncing: Fatal exception' >> \"$CONSOLE\"\nexit 0");

        var (raws, error) = await Drain(Machine(fake.Path), Cell(repeats: 2, remount: true));

        Assert.Equal(GuestFailureKind.KernelPanic, Assert.IsType<GuestFailureException>(error).Kind);
        var raw = Assert.Single(raws);
        Assert.Equal(0, raw.Iteration);
        Assert.Null(raw.Readback);
        Assert.Contains("kernel-panic before the read-back of iteration 1", raw.Error);
        var pass = Assert.Single(raw.Write!.Passes);
        var judged = GoldenModel.Judge(PlanBuilder.Build(Generic240.Workload, 0), raw.Write.Ios, pass);
        Assert.NotEmpty(judged.Findings);
    }

    [Fact]
    public async Task Report_arriving_just_after_the_panic_line_still_reaches_the_judge()
    {
        // The serial console can be ahead of the results port: the report left the guest first but lands second.
        var frames = FramesFile(RealFrame(0, AgentPhase.Write, d => d.Zero(8, 1)));
        using var fake = new FakeQemu(FakeQemu.Boot + "\necho '[  20.0] Kernel panic - not syncing: Fatal exception' >> \"$CONSOLE\"\nsleep 0.5\n" +
            $"cat '{frames}' >> \"$RESULTS\"\nsleep 600");

        var (raws, error) = await Drain(Machine(fake.Path), Cell(repeats: 2));

        Assert.Equal(GuestFailureKind.KernelPanic, Assert.IsType<GuestFailureException>(error).Kind);
        var raw = Assert.Single(raws);
        Assert.NotEmpty(GoldenModel.Judge(PlanBuilder.Build(Generic240.Workload, 0), raw.Write!.Ios, raw.Write.Passes[0]).Findings);
        Assert.False(fake.StillRunning());
    }

    [Fact]
    public async Task Cell_with_a_panic_after_a_clean_write_keeps_the_iteration_record_and_is_a_crash()
    {
        var frames = FramesFile(RealFrame(0, AgentPhase.Write));
        using var fake = new FakeQemu(FakeQemu.Boot + $"\ncat '{frames}' >> \"$RESULTS\"\nsleep 0.3\n" +
            "echo '[  20.0] Kernel panic - not syncing: Fatal exception' >> \"$CONSOLE\"\nexit 0");

        var (cell, folder) = await RunCell(Machine(fake.Path), repeats: 2, remount: true);

        Assert.Equal(Outcome.Crash, cell.Outcome);
        Assert.Equal(1, cell.Crashed);
        Assert.Equal("kernel-panic", cell.Failure!.Kind);
        var record = File.ReadAllText(Path.Combine(folder, "iteration-000.json"));
        Assert.Contains("kernel-panic before the read-back of iteration 1", record);
    }
}
