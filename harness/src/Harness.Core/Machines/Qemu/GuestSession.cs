// One booted guest. The host formats the test disk, packs the cell's settings into an initrd
// appended to the cached base, boots, and then asks for iterations on the control port ("run
// <first> <count>"): the guest mounts the test disk, runs them, unmounts and says "@@idle", and the
// host checks the quiet disk with fsck before the last iteration leaves. `validate` keeps a
// session per guest across its looks (a boot is 4-8 s under TCG); `run` uses one per cell.
// The host watches three files: the serial console (boot marker, panics, oopses, hung tasks,
// warnings), the results port (framed agent reports, phase marks) and the alive port (the test
// disk's IO counters, once a second). Deadlines are the host's: the guest is never trusted to end.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Harness.Cases;
using Harness.Guest;
using Harness.Workload;

namespace Harness.Machines.Qemu;

internal sealed class GuestSession : IMachineSession
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan TraceGrace = TimeSpan.FromSeconds(1.5);

    private readonly QemuOptions _options;
    private readonly TextWriter _progress;
    private readonly CellRequest _first;
    private readonly string _work;
    private readonly QemuCommandLine.Paths _paths;
    private readonly bool _remount;
    private readonly CancellationTokenSource _kill = new();
    private readonly PhaseTimer _setup = new();
    private readonly long _created = Stopwatch.GetTimestamp();
    private IQemuProcess? _qemu;
    private FileStream? _control;
    private ConsoleWatcher _console = null!;
    private GrowingFile _results = null!;
    private AliveCounters _alive = null!;
    private readonly ResultFrames _frames = new();
    private readonly Stopwatch _clock = new();
    private double _bootSeconds;
    private int _stallsSeen;
    private int _cells;
    private bool _disposed;

    private GuestSession(QemuOptions options, TextWriter progress, CellRequest first)
    {
        _options = options;
        _progress = progress;
        _first = first;
        _work = Path.Combine(first.WorkDirectory, first.CellId);
        _paths = new QemuCommandLine.Paths(
            Path.Combine(_work, "initrd.cpio"), Path.Combine(_work, "disk.img"),
            Path.Combine(first.LogDirectory, "console.log"), Path.Combine(first.LogDirectory, "results-port.log"),
            Path.Combine(first.LogDirectory, "alive-port.log"))
        {
            Control = Path.Combine(_work, "control"),
        };
        _remount = first.Case.Readback.Contains(ReadbackStep.AfterRemount);
    }

    public bool Alive { get; private set; } = true;

    /// <summary>Formats the disk, writes the initrd and starts QEMU; the boot is watched by the first <see cref="RunAsync"/>.</summary>
    public static async Task<GuestSession> StartAsync(QemuOptions options, TextWriter progress, CellRequest cell, QemuMachine machine, CancellationToken cancellationToken)
    {
        var session = new GuestSession(options, progress, cell);
        try
        {
            await session.StartAsync(machine, cancellationToken);
            return session;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    private async Task StartAsync(QemuMachine machine, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_work);
        Directory.CreateDirectory(_first.LogDirectory);
        File.Delete(_paths.ConsoleLog);
        File.Delete(_paths.ResultsPort);
        File.Delete(_paths.AlivePort);
        await using (var f = new FileStream(_paths.Disk, FileMode.Create, FileAccess.Write)) f.SetLength(Math.Max(_options.ImageSize, _first.Filesystem.MinImageSize));
        await HostCommand.RunAsync(_first.Filesystem.MkfsProgram, _first.Filesystem.MkfsArgumentsFor(_first.Case.Workload.FsBlockSize, _paths.Disk), cancellationToken);
        _setup.Mark("mkfs");
        await InitramfsBuilder.WriteCellInitrdAsync(_options.BaseInitramfs, machine.CellFiles(_first, _remount, probe: false), _paths.Initrd, cancellationToken);
        _setup.Mark("initrd");

        // The control port is a FIFO QEMU opens read-write (its pipe chardev), so neither side ever
        // blocks on open; what the host writes waits there until the guest opens its port.
        Interop.PosixDirectory.CreateFifo(_paths.Control!);
        _control = new FileStream(_paths.Control!, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0);

        var arguments = QemuCommandLine.Build(_options, _paths, _first.Filesystem.Geometry);
        await File.WriteAllTextAsync(Path.Combine(_first.LogDirectory, "qemu-command.txt"),
            _options.QemuBinary + " " + string.Join(' ', arguments) + "\n", cancellationToken);
        _console = new ConsoleWatcher(_paths.ConsoleLog);
        _results = new GrowingFile(_paths.ResultsPort);
        _alive = new AliveCounters(_paths.AlivePort);
        _qemu = await machine.Runtime.StartAsync(new QemuLaunch(_first.CellId, _options.QemuBinary, arguments,
            ReadOnlyFiles: [_options.Kernel.BzImage, _paths.Initrd], WritableFiles: [_paths.Disk, _paths.Control!],
            WritableFolders: [_first.LogDirectory], _paths.ConsoleLog), _kill.Token);
        if (_qemu.Where != "host")
            await File.AppendAllTextAsync(Path.Combine(_first.LogDirectory, "qemu-command.txt"), $"# in {_qemu.Where}\n", cancellationToken);
        _clock.Start();
    }

    /// <summary>
    /// Runs <paramref name="cell"/>'s iterations in this guest. The last carries the fsck of the
    /// unmounted disk; on a guest failure, what arrived is yielded first, then the failure is thrown
    /// and the session is dead. Nothing in the loop throws on cancel (waits go through WhenAny): a
    /// cancelled cell still hands on the iteration it holds back.
    /// </summary>
    public async IAsyncEnumerable<IterationRaw> RunAsync(CellRequest cell, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!Alive || _qemu is null) throw new MachineException($"{cell.CellId}: the guest of this session has already ended");
        // One boot, one disk: a cell of another setup (mount options, sectors, block size) needs its own.
        if (cell.Filesystem.CellName != _first.Filesystem.CellName || cell.Filesystem.Name != _first.Filesystem.Name || cell.Case.Name != _first.Case.Name)
            throw new InvalidOperationException($"a session booted for {_first.Filesystem.Name}/{_first.Case.Name} cannot run {cell.Filesystem.Name}/{cell.Case.Name}");
        var firstCell = _cells++ == 0;
        var qemu = _qemu;
        await SendAsync($"run {cell.FirstIteration} {cell.Repeats}");

        var pendingWrite = new SortedDictionary<int, Frame>();
        var lastProgress = _clock.Elapsed;
        var lastBootReport = TimeSpan.MinValue;
        var lastDelivery = Stopwatch.GetTimestamp();
        var delivered = 0;
        TimeSpan? failureSeen = null;
        IterationRaw? last = null;
        GuestFailureException? failed = null;
        var boot = firstCell ? () => _bootSeconds : (Func<double>)(() => 0);

        GuestFailureException Fail(GuestFailureKind kind, string message, string? excerpt) =>
            new(kind, message, excerpt, _paths.ConsoleLog) { Warnings = _console.Warnings };

        while (failed is null && !cancellationToken.IsCancellationRequested)
        {
            var exited = qemu.Exited.IsCompleted;
            _console.Poll(final: exited);
            // A live terminal shows the boot ticking (a plain log gets the "booted in" line below only).
            if (!_console.Booted && firstCell && Progress.WorkProgressWriter.IsLive(_progress) && _clock.Elapsed - lastBootReport >= TimeSpan.FromMilliseconds(500))
            {
                lastBootReport = _clock.Elapsed;
                Progress.WorkProgressWriter.Report(_progress, BootProgress(cell.CellId), plainLine: false);
            }
            if (_console.Booted && _bootSeconds == 0)
            {
                if (Progress.WorkProgressWriter.IsLive(_progress)) Progress.WorkProgressWriter.Report(_progress, BootProgress(cell.CellId) with { Finished = true }, plainLine: false);
                _bootSeconds = _clock.Elapsed.TotalSeconds;
                _setup.Mark("boot");
                lastProgress = _clock.Elapsed;
                _progress.WriteLine($"    {cell.CellId}: booted in {_bootSeconds:F1} s ({_console.BootLine})");
            }
            if (_alive.Moved()) lastProgress = _clock.Elapsed;

            foreach (var frame in _frames.Feed(_results.ReadNew()))
            {
                lastProgress = _clock.Elapsed;
                if (frame.Phase == AgentPhase.Write && _remount)
                {
                    pendingWrite[frame.Iteration] = frame;
                    continue;
                }
                var write = frame.Phase == AgentPhase.Write ? frame : pendingWrite.GetValueOrDefault(frame.Iteration);
                pendingWrite.Remove(frame.Iteration);
                var readback = frame.Phase == AgentPhase.Readback ? frame : null;
                delivered++;
                var delivery = Stopwatch.GetTimestamp();
                var raw = QemuMachine.ToRaw(frame.Iteration, write, readback, boot()) with { Seconds = Stopwatch.GetElapsedTime(lastDelivery, delivery).TotalSeconds };
                lastDelivery = delivery;
                // The first iteration of the session carries its setup (mkfs, initrd, boot), so the phases add up.
                if (delivered == 1 && firstCell) raw = raw with { Phases = [.. _setup.Phases, .. raw.Phases], Seconds = Stopwatch.GetElapsedTime(_created, delivery).TotalSeconds };
                // The last iteration waits for the disk check (and, at power-off, every kernel warning);
                // the others go at once, for live progress.
                if (delivered == cell.Repeats) last = raw;
                else yield return raw with { KernelWarnings = _console.Warnings };
            }

            // A hung task (or lockup, or RCU stall) is the kernel's failure only if the workload stopped
            // moving for the hung-task timeout; a slow (TCG, loaded host) but moving guest gets a warning.
            for (; _stallsSeen < _console.Stalls.Count; _stallsSeen++)
            {
                var quiet = _clock.Elapsed - lastProgress;
                if (quiet < _options.HungTask)
                    _console.AddWarning($"{_console.Stalls[_stallsSeen].Text} (the workload progressed {quiet.TotalSeconds:F0} s before: not a crash)");
            }

            if (_console.Failure is { } failure)
            {
                // Keep reading for a moment: the kernel finishes printing its trace, and a report
                // already on its way through the results port still reaches the judge.
                failureSeen ??= _clock.Elapsed;
                if (exited || _clock.Elapsed - failureSeen.Value >= TraceGrace)
                    failed = Fail(failure.Kind, $"{QemuMachine.Word(failure.Kind)} in the guest during iteration {delivered + 1} of {cell.Repeats}: {_console.KernelLine(failure.Line)}",
                        _console.Excerpt());
                else
                    await Task.WhenAny(qemu.Exited, Task.Delay(Poll, cancellationToken));
            }
            else if (_console.Stalls.Count > 0 && _console.Booted && _clock.Elapsed - lastProgress >= _options.HungTask)
            {
                var stall = _console.Stalls[^1];
                failed = Fail(stall.Kind,
                    $"{QemuMachine.Word(stall.Kind)} in the guest during iteration {delivered + 1} of {cell.Repeats}, no progress for {(_clock.Elapsed - lastProgress).TotalSeconds:F0} s " +
                    $"(hung-task timeout {_options.HungTask.TotalSeconds:F0} s): {stall.Text}", _console.Excerpt(stall.Line));
            }
            else if ((_frames.GuestError ?? _console.GuestError) is { } guestError)
                failed = Fail(GuestFailureKind.GuestError, $"guest: {guestError}", _console.Excerpt());
            else if (_frames.TakeIdle())
            {
                if (delivered < cell.Repeats)
                {
                    failed = Fail(GuestFailureKind.GuestError, $"guest finished the cell after {delivered} of {cell.Repeats} iterations", _console.Excerpt());
                    continue;
                }
                // The guest unmounted the test disk and waits: check it on the host, read-only, before
                // the cell's last iteration leaves. (A crashed guest's disk is never checked.)
                var teardown = new PhaseTimer();
                var fsck = await Filesystems.FsckRunner.CheckAsync(cell.Filesystem, _paths.Disk, cancellationToken);
                teardown.Mark("fsck");
                _console.Poll(final: false);
                if (last is not null) yield return Held(last, lastDelivery, teardown, fsck);
                yield break;
            }
            else if (_frames.Done)
            {
                // The guest powered off by itself (its script ended): what it delivered is complete only if
                // every iteration came. Then its disk is checked once QEMU is gone.
                Alive = false;
                if (delivered < cell.Repeats)
                {
                    failed = Fail(GuestFailureKind.GuestError, $"guest finished after {delivered} of {cell.Repeats} iterations", _console.Excerpt());
                    continue;
                }
                var teardown = new PhaseTimer();
                await StopQemuAsync(cell.CellId, cancellationToken);
                teardown.Mark("shutdown");
                var fsck = await Filesystems.FsckRunner.CheckAsync(cell.Filesystem, _paths.Disk, cancellationToken);
                teardown.Mark("fsck");
                _console.Poll(final: true);
                if (last is not null) yield return Held(last, lastDelivery, teardown, fsck);
                yield break;
            }
            else if (exited)
            {
                var code = await qemu.Exited;
                var stderr = qemu.Output;
                var killed = stderr.Contains("terminating on signal", StringComparison.Ordinal);
                // -no-reboot: a guest that resets (triple fault, reboot) ends QEMU with status 0.
                // Booted: the console line can be lost in the guest's tty buffer when it resets
                // at once, so the alive port's first counters (written before it) count too.
                var booted = _console.Booted || _alive.Seen || delivered > 0;
                failed = code == 0 && booted && !killed
                    ? Fail(GuestFailureKind.GuestReset,
                        $"the guest reset itself after boot, during iteration {delivered + 1} of {cell.Repeats} (QEMU -no-reboot exited with 0 before the results were in)",
                        _console.Excerpt())
                    : Fail(GuestFailureKind.QemuExited,
                        $"QEMU exited with code {code} {(_console.Booted ? "after boot" : "before the guest booted")}, after {delivered} of {cell.Repeats} iterations" +
                        (stderr.Length > 0 ? $": {stderr.Trim()}" : ""),
                        _console.Excerpt());
            }
            else if (!_console.Booted && _clock.Elapsed > _options.Boot)
                failed = Fail(GuestFailureKind.BootTimeout, $"no boot marker within {_options.Boot.TotalSeconds:F0} s", _console.Excerpt());
            else if (_console.Booted && _clock.Elapsed - lastProgress > _options.Deadline)
                failed = Fail(GuestFailureKind.WorkloadDeadline,
                    $"no result for {_options.Deadline.TotalSeconds:F0} s during iteration {delivered + 1} of {cell.Repeats}", _console.Excerpt());
            else
                await Task.WhenAny(qemu.Exited, Task.Delay(Poll, cancellationToken));
        }

        // Failed or cancelled: this guest is done for (and a boot still ticking on a live terminal stops).
        Alive = false;
        if (!_console.Booted && Progress.WorkProgressWriter.IsLive(_progress)) Progress.WorkProgressWriter.Report(_progress, BootProgress(cell.CellId) with { Finished = true }, plainLine: false);
        if (last is not null) yield return last with { KernelWarnings = _console.Warnings };
        if (failed is null) throw new OperationCanceledException(cancellationToken);
        // A finding already made is never hidden: write reports whose read-back never came are
        // yielded too, so their after-fsync pass is judged.
        foreach (var (iteration, write) in pendingWrite)
        {
            yield return QemuMachine.ToRaw(iteration, write, null, boot()) with
            {
                Error = $"{QemuMachine.Word(failed.Kind)} before the read-back of iteration {iteration + 1}: {failed.Message.Split('\n')[0]}",
                KernelWarnings = _console.Warnings,
            };
        }
        throw failed;
    }

    /// <summary>A boot's progress: seconds so far against the boot budget (no ETA: a boot has no count to extrapolate).</summary>
    private Progress.WorkProgress BootProgress(string cellId) =>
        new($"    booting {cellId}", "s", (long)_clock.Elapsed.TotalSeconds, null, _clock.Elapsed) { Estimate = $"--boot-timeout {_options.Boot.TotalSeconds:F0} s" };

    /// <summary>The held last iteration, its wall time running on from its delivery to the end of the disk check.</summary>
    private IterationRaw Held(IterationRaw last, long delivered, PhaseTimer teardown, Filesystems.FsckResult fsck) => last with
    {
        KernelWarnings = _console.Warnings,
        Phases = [.. last.Phases, .. _frames.TakeGuestPhases(), .. teardown.Phases],
        Seconds = last.Seconds + Stopwatch.GetElapsedTime(delivered).TotalSeconds,
        Fsck = fsck,
    };

    private async Task SendAsync(string command)
    {
        try
        {
            await _control!.WriteAsync(Encoding.ASCII.GetBytes(command + "\n"));
        }
        catch (IOException e)
        {
            throw new MachineException($"cannot write to the guest's control port {_paths.Control}: {e.Message}", e);
        }
    }

    /// <summary>Waits for QEMU to end on its own (the guest powers off) within the grace, then kills it.</summary>
    private async Task StopQemuAsync(string cellId, CancellationToken cancellationToken)
    {
        if (_qemu is null) return;
        if (await Task.WhenAny(_qemu.Exited, Task.Delay(_options.Grace, cancellationToken)) != _qemu.Exited)
            _progress.WriteLine($"    {cellId}: guest did not power off within {_options.Grace.TotalSeconds:F0} s; QEMU killed (results are complete)");
        await _kill.CancelAsync();
        try { await _qemu.Exited; }
        catch (OperationCanceledException) { /* killed on purpose */ }
    }

    /// <summary>Asks a live guest to power off, then kills QEMU however it went, and deletes the work folder.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            if (Alive && _qemu is { Exited.IsCompleted: false } && _control is not null)
            {
                try
                {
                    await SendAsync("stop");
                    await StopQemuAsync(_first.CellId, CancellationToken.None);
                }
                catch (MachineException) { /* killed below */ }
            }
            Alive = false;
        }
        finally
        {
            // Kill QEMU however we leave: done, failed, or cancelled. Never the caller's token here.
            await _kill.CancelAsync();
            if (_qemu is not null) await _qemu.DisposeAsync();
            if (_control is not null) await _control.DisposeAsync();
            _kill.Dispose();
            try { Directory.Delete(_work, recursive: true); }
            catch (IOException) { /* scratch only */ }
        }
    }
}
