// A cell inside a freshly booted kernel under QEMU. The host formats the test disk, packs
// the cell's requests into an initrd appended to the cached base, boots, and watches three
// files: the serial console (boot marker, panics, oopses, hung tasks, warnings), the results
// port (framed agent reports) and the alive port (the test disk's IO counters, once a second).
// Deadlines are the host's: the guest is never trusted to end.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Harness.Cases;
using Harness.Guest;
using Harness.Workload;

namespace Harness.Machines.Qemu;

public sealed class QemuMachine(QemuOptions options, TextWriter progress, IQemuRuntime? runtime = null) : IMachine
{
    private readonly IQemuRuntime _runtime = runtime ?? HostQemuRuntime.Instance;

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan TraceGrace = TimeSpan.FromSeconds(1.5);

    public string Kind => _runtime.MachineKind;

    public async Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(options.Kernel.BzImage)) return $"kernel image {options.Kernel.BzImage} does not exist";
        if (!File.Exists(options.BaseInitramfs)) return $"initramfs {options.BaseInitramfs} does not exist";
        // In a container QEMU comes from the runner image; the runtime checks that instead.
        if (_runtime is HostQemuRuntime && !options.QemuBinary.Contains('/') && HostCommand.FindOnPath(options.QemuBinary) is null)
            return $"'{options.QemuBinary}' is not on PATH (Debian package qemu-system-x86; `make deps` installs it)";
        return await _runtime.CheckAsync(cancellationToken);
    }

    public MachineFacts Describe() => new(Kind, options.Kernel.Release, options.Cpus,
        $"{options.Kernel.Origin}; {options.Acceleration.ToString().ToLowerInvariant()} ({options.AccelerationReason}); " +
        $"{options.Backend}; {options.Cpus} vCPU, {options.MemoryMiB} MiB" + (_runtime.Describe() is { Length: > 0 } more ? $"; {more}" : ""));

    public async IAsyncEnumerable<IterationRaw> RunCellAsync(CellRequest cell, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // The last iteration waits for the host-side fsck of the guest's disk (see the end of the guest loop).
        var fsck = new FsckSlot();
        await foreach (var (raw, last) in IterationStream.HoldLastAsync(RunGuestAsync(cell, fsck, cancellationToken)))
            yield return last ? raw with { Fsck = fsck.Result } : raw;
    }

    private async IAsyncEnumerable<IterationRaw> RunGuestAsync(CellRequest cell, FsckSlot fsck, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var work = Path.Combine(cell.WorkDirectory, cell.CellId);
        Directory.CreateDirectory(work);
        Directory.CreateDirectory(cell.LogDirectory);
        var paths = new QemuCommandLine.Paths(
            Path.Combine(work, "initrd.cpio"), Path.Combine(work, "disk.img"),
            Path.Combine(cell.LogDirectory, "console.log"), Path.Combine(cell.LogDirectory, "results-port.log"),
            Path.Combine(cell.LogDirectory, "alive-port.log"));
        File.Delete(paths.ConsoleLog);
        File.Delete(paths.ResultsPort);
        File.Delete(paths.AlivePort);
        var remount = cell.Case.Readback.Contains(ReadbackStep.AfterRemount);

        using var kill = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        IQemuProcess? qemu = null;
        try
        {
            await using (var f = new FileStream(paths.Disk, FileMode.Create, FileAccess.Write)) f.SetLength(Math.Max(options.ImageSize, cell.Filesystem.MinImageSize));
            await HostCommand.RunAsync(cell.Filesystem.MkfsProgram, cell.Filesystem.MkfsArgumentsFor(cell.Case.Workload.FsBlockSize, paths.Disk), cancellationToken);
            await InitramfsBuilder.WriteCellInitrdAsync(options.BaseInitramfs, CellFiles(cell, remount, probe: false), paths.Initrd, cancellationToken);

            var arguments = QemuCommandLine.Build(options, paths);
            await File.WriteAllTextAsync(Path.Combine(cell.LogDirectory, "qemu-command.txt"),
                options.QemuBinary + " " + string.Join(' ', arguments) + "\n", cancellationToken);
            qemu = await _runtime.StartAsync(new QemuLaunch(cell.CellId, options.QemuBinary, arguments,
                ReadOnlyFiles: [options.Kernel.BzImage, paths.Initrd], WritableFiles: [paths.Disk],
                WritableFolders: [cell.LogDirectory], paths.ConsoleLog), kill.Token);
            if (qemu.Where != "host")
                await File.AppendAllTextAsync(Path.Combine(cell.LogDirectory, "qemu-command.txt"), $"# in {qemu.Where}\n", cancellationToken);

            var console = new ConsoleWatcher(paths.ConsoleLog);
            var results = new GrowingFile(paths.ResultsPort);
            var alive = new AliveCounters(paths.AlivePort);
            var frames = new ResultFrames();
            var pendingWrite = new SortedDictionary<int, Frame>();
            var clock = Stopwatch.StartNew();
            var lastProgress = TimeSpan.Zero;
            double bootSeconds = 0;
            var delivered = 0;
            var stallsSeen = 0;
            TimeSpan? failureSeen = null;
            IterationRaw? last = null;
            GuestFailureException? failed = null;

            GuestFailureException Fail(GuestFailureKind kind, string message, string? excerpt) =>
                new(kind, message, excerpt, paths.ConsoleLog) { Warnings = console.Warnings };

            // Nothing in the loop throws on cancel (waits go through WhenAny): a cancelled cell still
            // hands on the iteration it holds back.
            while (failed is null && !cancellationToken.IsCancellationRequested)
            {
                var exited = qemu.Exited.IsCompleted;
                console.Poll(final: exited);
                if (console.Booted && bootSeconds == 0)
                {
                    bootSeconds = clock.Elapsed.TotalSeconds;
                    lastProgress = clock.Elapsed;
                    progress.WriteLine($"    {cell.CellId}: booted in {bootSeconds:F1} s ({console.BootLine})");
                }
                if (alive.Moved()) lastProgress = clock.Elapsed;

                foreach (var frame in frames.Feed(results.ReadNew()))
                {
                    lastProgress = clock.Elapsed;
                    if (frame.Phase == AgentPhase.Write && remount)
                    {
                        pendingWrite[frame.Iteration] = frame;
                        continue;
                    }
                    var write = frame.Phase == AgentPhase.Write ? frame : pendingWrite.GetValueOrDefault(frame.Iteration);
                    pendingWrite.Remove(frame.Iteration);
                    var readback = frame.Phase == AgentPhase.Readback ? frame : null;
                    delivered++;
                    var raw = ToRaw(cell.FirstIteration + frame.Iteration, write, readback, bootSeconds);
                    // The last iteration waits for the guest's end, so it carries every kernel warning
                    // (unmount and power-off included); the others go at once, for live progress.
                    if (delivered == cell.Repeats) last = raw;
                    else yield return raw with { KernelWarnings = console.Warnings };
                }

                // A hung task (or lockup, or RCU stall) is the kernel's failure only if the workload stopped
                // moving for the hung-task timeout; a slow (TCG, loaded host) but moving guest gets a warning.
                for (; stallsSeen < console.Stalls.Count; stallsSeen++)
                {
                    var quiet = clock.Elapsed - lastProgress;
                    if (quiet < options.HungTask)
                        console.AddWarning($"{console.Stalls[stallsSeen].Text} (the workload progressed {quiet.TotalSeconds:F0} s before: not a crash)");
                }

                if (console.Failure is { } failure)
                {
                    // Keep reading for a moment: the kernel finishes printing its trace, and a report
                    // already on its way through the results port still reaches the judge.
                    failureSeen ??= clock.Elapsed;
                    if (exited || clock.Elapsed - failureSeen.Value >= TraceGrace)
                        failed = Fail(failure.Kind, $"{Word(failure.Kind)} in the guest during iteration {delivered + 1} of {cell.Repeats}: {console.KernelLine(failure.Line)}",
                            console.Excerpt());
                    else
                        await Task.WhenAny(qemu.Exited, Task.Delay(Poll, cancellationToken));
                }
                else if (console.Stalls.Count > 0 && console.Booted && clock.Elapsed - lastProgress >= options.HungTask)
                {
                    var stall = console.Stalls[^1];
                    failed = Fail(stall.Kind,
                        $"{Word(stall.Kind)} in the guest during iteration {delivered + 1} of {cell.Repeats}, no progress for {(clock.Elapsed - lastProgress).TotalSeconds:F0} s " +
                        $"(hung-task timeout {options.HungTask.TotalSeconds:F0} s): {stall.Text}", console.Excerpt(stall.Line));
                }
                else if ((frames.GuestError ?? console.GuestError) is { } guestError)
                    failed = Fail(GuestFailureKind.GuestError, $"guest: {guestError}", console.Excerpt());
                else if (frames.Done)
                {
                    if (delivered < cell.Repeats)
                    {
                        failed = Fail(GuestFailureKind.GuestError, $"guest finished after {delivered} of {cell.Repeats} iterations", console.Excerpt());
                        continue;
                    }
                    if (await Task.WhenAny(qemu.Exited, Task.Delay(options.Grace, cancellationToken)) != qemu.Exited)
                        progress.WriteLine($"    {cell.CellId}: guest did not power off within {options.Grace.TotalSeconds:F0} s; QEMU killed (results are complete)");
                    // The guest finished cleanly: check its disk on the host, read-only, once QEMU
                    // is gone and before the work folder is deleted. (A crashed guest's filesystem
                    // is not expected to be clean, so that path never gets here.)
                    await kill.CancelAsync();
                    try { await qemu.Exited; }
                    catch (OperationCanceledException) { /* killed on purpose */ }
                    fsck.Result = await Filesystems.FsckRunner.CheckAsync(cell.Filesystem, paths.Disk, cancellationToken);
                    console.Poll(final: qemu.Exited.IsCompleted);
                    if (last is not null) yield return last with { KernelWarnings = console.Warnings };
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
                    var booted = console.Booted || alive.Seen || delivered > 0;
                    failed = code == 0 && booted && !killed
                        ? Fail(GuestFailureKind.GuestReset,
                            $"the guest reset itself after boot, during iteration {delivered + 1} of {cell.Repeats} (QEMU -no-reboot exited with 0 before the results were in)",
                            console.Excerpt())
                        : Fail(GuestFailureKind.QemuExited,
                            $"QEMU exited with code {code} {(console.Booted ? "after boot" : "before the guest booted")}, after {delivered} of {cell.Repeats} iterations" +
                            (stderr.Length > 0 ? $": {stderr.Trim()}" : ""),
                            console.Excerpt());
                }
                else if (!console.Booted && clock.Elapsed > options.Boot)
                    failed = Fail(GuestFailureKind.BootTimeout, $"no boot marker within {options.Boot.TotalSeconds:F0} s", console.Excerpt());
                else if (console.Booted && clock.Elapsed - lastProgress > options.Deadline)
                    failed = Fail(GuestFailureKind.WorkloadDeadline,
                        $"no result for {options.Deadline.TotalSeconds:F0} s during iteration {delivered + 1} of {cell.Repeats}", console.Excerpt());
                else
                    await Task.WhenAny(qemu.Exited, Task.Delay(Poll, cancellationToken));
            }

            if (last is not null) yield return last with { KernelWarnings = console.Warnings };
            if (failed is null) throw new OperationCanceledException(cancellationToken);
            // A finding already made is never hidden: write reports whose read-back never came are
            // yielded too, so their after-fsync pass is judged.
            foreach (var (iteration, write) in pendingWrite)
            {
                yield return ToRaw(cell.FirstIteration + iteration, write, null, bootSeconds) with
                {
                    Error = $"{Word(failed.Kind)} before the read-back of iteration {iteration + 1}: {failed.Message.Split('\n')[0]}",
                    KernelWarnings = console.Warnings,
                };
            }
            throw failed;
        }
        finally
        {
            // Kill QEMU however we leave: done, failed, or cancelled. Never the caller's token here.
            await kill.CancelAsync();
            if (qemu is not null) await qemu.DisposeAsync();
            try { Directory.Delete(work, recursive: true); }
            catch (IOException) { /* scratch only */ }
        }
    }

    /// <summary>The per-cell files appended to the base initramfs: settings and every request.</summary>
    internal IReadOnlyList<GuestFile> CellFiles(CellRequest cell, bool remount, bool probe)
    {
        var env = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"FS_TYPE={cell.Filesystem.MountType}\n")
            .Append(CultureInfo.InvariantCulture, $"REPEATS={cell.Repeats}\n")
            .Append(CultureInfo.InvariantCulture, $"REMOUNT={(remount ? 1 : 0)}\n")
            .Append(CultureInfo.InvariantCulture, $"CRASH={(options.CrashAfterBoot ? 1 : 0)}\n")
            .Append(CultureInfo.InvariantCulture, $"FREEZE={(options.FreezeAfterMount ? 1 : 0)}\n")
            .Append(CultureInfo.InvariantCulture, $"RESET={(options.ResetAfterBoot ? 1 : 0)}\n")
            .Append(CultureInfo.InvariantCulture, $"PROBE={(probe ? 1 : 0)}\n")
            .Append(CultureInfo.InvariantCulture, $"HUNG_TASK_TIMEOUT={(int)Math.Ceiling(options.HungTask.TotalSeconds)}\n");
        var files = new List<GuestFile> { new("/harness/cell.env", Encoding.UTF8.GetBytes(env.ToString()), 0x1A4) };
        for (var i = 0; i < cell.Repeats; i++)
        {
            foreach (var phase in new[] { AgentPhase.Write, AgentPhase.Readback })
            {
                var request = new AgentRequest(phase, GuestInit.TestMountPoint, CellRequest.TargetFile, cell.Case.Workload, cell.FirstIteration + i, DropCaches: false);
                files.Add(new GuestFile($"/harness/req-{i}-{phase.ToString().ToLowerInvariant()}.json",
                    JsonSerializer.SerializeToUtf8Bytes(request, AgentJsonContext.Default.AgentRequest), 0x1A4));
            }
        }
        return files;
    }

    private static IterationRaw ToRaw(int iteration, Frame? write, Frame? readback, double bootSeconds)
    {
        string? error = null;
        if (write?.Report is null)
            error = $"agent (write) exited with {write?.ExitCode} and no readable report: {Head(write?.Raw)}";
        else if (readback is not null && readback.Report is null)
            error = $"agent (read-back) exited with {readback.ExitCode} and no readable report: {Head(readback.Raw)}";
        error ??= write?.Report?.Error ?? readback?.Report?.Error;
        return new IterationRaw(iteration, write?.Report, readback?.Report, error) { BootSeconds = bootSeconds };
    }

    private static string Head(string? text) => text is null ? "(none)" : text.Length <= 300 ? text.Trim() : text[..300] + "...";

    internal static string Word(GuestFailureKind kind) => Results.EnumWords.Kebab(kind);
}

/// <summary>The alive port: "reads writes" lines; <see cref="Moved"/> says whether the counters changed since the last look.</summary>
internal sealed class AliveCounters(string path)
{
    private readonly GrowingFile _file = new(path);
    private string _partial = "";
    private string? _last;

    /// <summary>True once the guest has written any counters (its init got past the port setup).</summary>
    public bool Seen => _last is not null;

    public bool Moved()
    {
        var text = _partial + _file.ReadNew();
        var end = text.LastIndexOf('\n');
        if (end < 0) { _partial = text; return false; }
        _partial = text[(end + 1)..];
        var moved = false;
        foreach (var line in text[..end].Split('\n'))
        {
            var counters = line.Trim();
            if (counters.Length == 0) continue;
            if (_last is not null && counters != _last) moved = true;
            _last = counters;
        }
        return moved;
    }
}
