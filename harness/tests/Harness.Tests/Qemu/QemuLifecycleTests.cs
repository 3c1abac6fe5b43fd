// Every way a guest can die is a clear outcome, never a hang: tested against a fake QEMU
// (our own logic) here; the real-kernel versions are in QemuBootTests.
using System.Text.Json;
using Harness.Cases;
using Harness.Filesystems;
using Harness.Kernels;
using Harness.Machines;
using Harness.Machines.Qemu;
using Harness.Tests.Support;
using Harness.Workload;
using Xunit;

namespace Harness.Tests.Qemu;

public sealed class QemuLifecycleTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("qemu-lifecycle-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private QemuMachine Machine(FakeQemu fake, double bootSeconds = 5, double deadlineSeconds = 5, double graceSeconds = 1)
    {
        var bz = Path.Combine(_scratch, "bzImage");
        var initrd = Path.Combine(_scratch, "base.cpio");
        File.WriteAllText(bz, "not a kernel");
        File.WriteAllBytes(initrd, []);
        var kernel = new KernelImage("fake", "0.0.0-fake", bz, null, "test");
        return new QemuMachine(new QemuOptions(kernel, initrd, Acceleration.Tcg, "test", BlockBackend.Default, 64L << 20,
            QemuBinary: fake.Path,
            BootTimeout: TimeSpan.FromSeconds(bootSeconds),
            IterationDeadline: TimeSpan.FromSeconds(deadlineSeconds),
            PowerOffGrace: TimeSpan.FromSeconds(graceSeconds)), TextWriter.Null);
    }

    private CellRequest Cell(int repeats = 1, bool remount = false)
    {
        var seed = new CaseCatalog(RepoPaths.Cases).Find("generic-240");
        var @case = seed with { Readback = remount ? [ReadbackStep.AfterFsync, ReadbackStep.AfterRemount] : [ReadbackStep.AfterFsync] };
        return new CellRequest("ext4-test", FilesystemCatalog.Find("ext4"), @case, repeats, Path.Combine(_scratch, "work"), Path.Combine(_scratch, "logs"));
    }

    private static async Task<(List<IterationRaw> Raws, Exception? Error)> Drain(IMachine machine, CellRequest cell, CancellationToken ct = default)
    {
        var raws = new List<IterationRaw>();
        try
        {
            await foreach (var raw in machine.RunCellAsync(cell, ct)) raws.Add(raw);
            return (raws, null);
        }
        catch (Exception e) { return (raws, e); }
    }

    private static string Frame(int iteration, string phase)
    {
        var report = new AgentReport(phase == "write" ? AgentPhase.Write : AgentPhase.Readback, "fake", 2, [], [new ReadbackPass("after-fsync", 0, [])], 0.1, null);
        return $"@@begin {iteration} {phase}\n{JsonSerializer.Serialize(report, AgentJsonContext.Default.AgentReport)}\n@@end {iteration} {phase} 0\n";
    }

    [Fact]
    public async Task Guest_that_never_boots_is_a_boot_timeout_and_qemu_is_killed()
    {
        using var fake = new FakeQemu("sleep 600");

        var (raws, error) = await Drain(Machine(fake, bootSeconds: 1), Cell());

        var failure = Assert.IsType<GuestFailureException>(error);
        Assert.Equal(GuestFailureKind.BootTimeout, failure.Kind);
        Assert.Empty(raws);
        Assert.False(fake.StillRunning());
    }

    [Fact]
    public async Task Kernel_panic_on_the_console_is_reported_with_an_excerpt()
    {
        using var fake = new FakeQemu(FakeQemu.Boot + """

            printf '[   5.1] BUG: kernel NULL pointer dereference, address: 0000000000000008\n[   5.2] Kernel panic - not syncing: Fatal exception\n' >> "$CONSOLE"
            exit 0
            """);

        var (_, error) = await Drain(Machine(fake), Cell());

        var failure = Assert.IsType<GuestFailureException>(error);
        Assert.Equal(GuestFailureKind.KernelBug, failure.Kind); // the first sign wins: the BUG line precedes the panic
        Assert.Contains("Kernel panic - not syncing", failure.Excerpt);
        Assert.True(File.Exists(failure.ConsoleLog));
    }

    [Fact]
    public async Task Oops_in_a_guest_that_keeps_running_is_caught_and_qemu_killed()
    {
        using var fake = new FakeQemu(FakeQemu.Boot + """

            echo '[   7.0] Oops: 0002 [#1] PREEMPT SMP NOPTI' >> "$CONSOLE"
            sleep 600
            """);

        var (_, error) = await Drain(Machine(fake), Cell());

        Assert.Equal(GuestFailureKind.Oops, Assert.IsType<GuestFailureException>(error).Kind);
        Assert.False(fake.StillRunning());
    }

    [Fact]
    public async Task Silent_guest_after_boot_hits_the_workload_deadline()
    {
        using var fake = new FakeQemu(FakeQemu.Boot + "\nsleep 600");

        var (_, error) = await Drain(Machine(fake, deadlineSeconds: 1), Cell());

        Assert.Equal(GuestFailureKind.WorkloadDeadline, Assert.IsType<GuestFailureException>(error).Kind);
        Assert.False(fake.StillRunning());
    }

    [Fact]
    public async Task Qemu_dying_mid_run_keeps_the_finished_iterations()
    {
        var frames = Path.Combine(_scratch, "frames");
        File.WriteAllText(frames, Frame(0, "write"));
        using var fake = new FakeQemu(FakeQemu.Boot + $"\ncat '{frames}' >> \"$RESULTS\"\nsleep 0.3\necho 'qemu: fatal: lost the plot' >&2\nexit 1");

        var (raws, error) = await Drain(Machine(fake), Cell(repeats: 3));

        var failure = Assert.IsType<GuestFailureException>(error);
        Assert.Equal(GuestFailureKind.QemuExited, failure.Kind);
        Assert.Contains("exited with code 1", failure.Message);
        Assert.Contains("lost the plot", failure.Message);
        Assert.Single(raws);
    }

    [Fact]
    public async Task Guest_that_never_powers_off_is_killed_after_its_results_are_in()
    {
        var frames = Path.Combine(_scratch, "frames");
        File.WriteAllText(frames, Frame(0, "write") + Frame(0, "readback") + Frame(1, "write") + Frame(1, "readback") + "@@done\n");
        using var fake = new FakeQemu(FakeQemu.Boot + $"\ncat '{frames}' >> \"$RESULTS\"\nsleep 600");

        var (raws, error) = await Drain(Machine(fake, graceSeconds: 0.5), Cell(repeats: 2, remount: true));

        Assert.Null(error);
        Assert.Equal([0, 1], raws.Select(r => r.Iteration));
        Assert.All(raws, r => Assert.NotNull(r.Readback));
        Assert.False(fake.StillRunning());
    }

    [Fact]
    public async Task Cancel_kills_qemu_and_keeps_finished_iterations()
    {
        var frames = Path.Combine(_scratch, "frames");
        File.WriteAllText(frames, Frame(0, "write"));
        using var fake = new FakeQemu(FakeQemu.Boot + $"\ncat '{frames}' >> \"$RESULTS\"\nsleep 600");
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(2));

        var (raws, error) = await Drain(Machine(fake, deadlineSeconds: 60), Cell(repeats: 5), cancel.Token);

        Assert.IsAssignableFrom<OperationCanceledException>(error);
        Assert.Single(raws);
        Assert.False(fake.StillRunning());
    }

    /// <summary>
    /// A fake guest that obeys the control port like the real init: for "run first count" it frames
    /// each iteration's write and read-back (with uptime marks), then "@@idle"; "stop" powers off.
    /// Every order it got is logged, so a test sees what the host asked for.
    /// </summary>
    private FakeQemu Obedient(string orders)
    {
        var write = Path.Combine(_scratch, "write.json");
        var readback = Path.Combine(_scratch, "readback.json");
        File.WriteAllText(write, JsonSerializer.Serialize(new AgentReport(AgentPhase.Write, "fake", 2, [], [new ReadbackPass("after-fsync", 0, [])], 0.1, null)
            { Phases = [new PhaseTime("workload", 0.05)] }, AgentJsonContext.Default.AgentReport));
        File.WriteAllText(readback, JsonSerializer.Serialize(new AgentReport(AgentPhase.Readback, "fake", 2, [], [new ReadbackPass("after-remount", 0, [])], 0, null),
            AgentJsonContext.Default.AgentReport));
        return new FakeQemu(FakeQemu.Boot + $$"""

            for a in "$@"; do case $a in pipe,id=control,path=*) CTL=${a#pipe,id=control,path=} ;; esac; done
            exec 3< "$CTL"
            echo "@@mark booted 1.00" >> "$RESULTS"
            while read -r cmd first count <&3; do
              echo "$cmd $first $count" >> '{{orders}}'
              [ "$cmd" = stop ] && break
              echo "@@mark mount 1.10" >> "$RESULTS"
              i=$first
              while [ $i -lt $((first + count)) ]; do
                { echo "@@begin $i write 2.00"; cat '{{write}}'; echo; echo "@@end $i write 0 2.50"; } >> "$RESULTS"
                echo "@@mark remount 2.70" >> "$RESULTS"
                { echo "@@begin $i readback 2.70"; cat '{{readback}}'; echo; echo "@@end $i readback 0 2.80"; } >> "$RESULTS"
                i=$((i + 1))
              done
              echo "@@mark unmount 2.90" >> "$RESULTS"
              echo "@@idle" >> "$RESULTS"
            done
            echo "@@done" >> "$RESULTS"
            exit 0
            """);
    }

    [Fact]
    public async Task One_boot_serves_two_cells_each_checked_by_fsck_then_powers_off_on_stop()
    {
        var orders = Path.Combine(_scratch, "orders");
        using var fake = Obedient(orders);
        var machine = Machine(fake);
        var first = Cell(repeats: 2, remount: true);
        var second = first with { CellId = "ext4-test-look2", Repeats = 3, FirstIteration = 2 };
        var kept = new KeptMachine(machine);

        var (a, errorA) = await Drain(kept, first);
        Assert.Null(errorA);
        Assert.True(fake.StillRunning(), "the guest waits for the next cell");
        var (b, errorB) = await Drain(kept, second);
        Assert.Null(errorB);
        await kept.DisposeAsync();

        Assert.Equal(1, kept.Opened);
        Assert.Equal([0, 1], a.Select(r => r.Iteration));
        Assert.Equal([2, 3, 4], b.Select(r => r.Iteration));
        Assert.All(a.Concat(b), r => Assert.True(r.Write is not null && r.Readback is not null && r.Error is null));
        // Each cell's last iteration carries the check of the quiet disk (the host's mkfs'd ext4: clean).
        Assert.True(a[^1].Fsck is { Ran: true, Clean: true }, a[^1].Fsck?.Output);
        Assert.True(b[^1].Fsck is { Ran: true, Clean: true }, b[^1].Fsck?.Output);
        Assert.Null(a[0].Fsck);
        // The boot belongs to the first cell only; the phases the guest marked reach the records.
        Assert.True(a[0].BootSeconds > 0);
        Assert.All(b, r => Assert.Equal(0, r.BootSeconds));
        Assert.Contains(a[0].Phases, p => p.Name == "boot");
        Assert.DoesNotContain(b[0].Phases, p => p.Name == "boot");
        Assert.Contains(a[0].Phases, p => p.Name == "mount" && Math.Abs(p.Seconds - 0.1) < 1e-6);
        Assert.Contains(a[0].Phases, p => p.Name == "remount" && Math.Abs(p.Seconds - 0.2) < 1e-6);
        Assert.Contains(a[0].Phases, p => p.Name == "agent-write start" && Math.Abs(p.Seconds - 0.45) < 1e-6); // 0.5 s in the guest, 0.05 timed by the agent
        Assert.Contains(b[^1].Phases, p => p.Name == "fsck");
        Assert.Equal(["run 0 2", "run 2 3", "stop"], File.ReadAllLines(orders).Select(l => l.Trim()));
        Assert.False(fake.StillRunning());
    }

    [Fact]
    public async Task A_kept_machine_boots_again_after_its_guest_died()
    {
        var orders = Path.Combine(_scratch, "orders");
        var crashOnce = Path.Combine(_scratch, "crashed");
        // The first boot panics as soon as it is up; the second boot obeys.
        using var fake = new FakeQemu(FakeQemu.Boot + $$"""

            if [ ! -f '{{crashOnce}}' ]; then : > '{{crashOnce}}'; echo 'Kernel panic - not syncing: fake' >> "$CONSOLE"; exit 0; fi
            for a in "$@"; do case $a in pipe,id=control,path=*) CTL=${a#pipe,id=control,path=} ;; esac; done
            exec 3< "$CTL"
            while read -r cmd first count <&3; do
              echo "$cmd $first $count" >> '{{orders}}'
              [ "$cmd" = stop ] && break
              echo "@@idle" >> "$RESULTS"
            done
            echo "@@done" >> "$RESULTS"
            """);
        var kept = new KeptMachine(Machine(fake));
        var cell = Cell(repeats: 0);

        var (_, error) = await Drain(kept, cell with { Repeats = 1 });
        Assert.Equal(GuestFailureKind.KernelPanic, Assert.IsType<GuestFailureException>(error).Kind);
        var (raws, again) = await Drain(kept, cell);
        await kept.DisposeAsync();

        Assert.Null(again);
        Assert.Empty(raws);
        Assert.Equal(2, kept.Opened);
        Assert.Equal(["run 0 0", "stop"], File.ReadAllLines(orders).Select(l => l.Trim()));
        Assert.False(fake.StillRunning());
    }

    [Fact]
    public void Command_line_attaches_512_byte_sectors_and_a_separate_results_port()
    {
        var kernel = new KernelImage("k", "6.1.0-test", "/k/bzImage", null, "test");
        var options = new QemuOptions(kernel, "/k/base.cpio", Acceleration.Tcg, "test", BlockBackend.Parse("aio=native,cache=none"), 512L << 20);

        var args = QemuCommandLine.Build(options, new QemuCommandLine.Paths("/w/initrd", "/w/disk.img", "/l/console.log", "/l/results.log", "/l/alive.log") { Control = "/w/control" });

        Snapshot.Match(string.Join('\n', args));
    }

    [Theory]
    [InlineData("aio=native,cache=writeback", "aio=native needs cache=none or cache=directsync")]
    [InlineData("aio=posix", "'aio=posix' is not aio=<threads|native|io_uring>")]
    public void Bad_block_backend_is_a_usage_error(string text, string message)
    {
        var error = Assert.Throws<Harness.Yaml.InputException>(() => BlockBackend.Parse(text));

        Assert.Contains(message, error.Message);
    }
}
