// A cell inside a freshly booted kernel under QEMU. The host formats the test disk, packs
// the cell's requests into an initrd appended to the cached base, boots, and watches two
// files: the serial console (boot marker, panics, oopses, hung tasks) and the results
// port (framed agent reports). Deadlines are the host's: the guest is never trusted to end.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using CliWrap;
using Harness.Cases;
using Harness.Guest;
using Harness.Workload;

namespace Harness.Machines.Qemu;

public sealed class QemuMachine(QemuOptions options, TextWriter progress) : IMachine
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    public string Kind => "qemu";

    public Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(options.Kernel.BzImage)) return Task.FromResult<string?>($"kernel image {options.Kernel.BzImage} does not exist");
        if (!File.Exists(options.BaseInitramfs)) return Task.FromResult<string?>($"initramfs {options.BaseInitramfs} does not exist");
        if (!options.QemuBinary.Contains('/') && HostCommand.FindOnPath(options.QemuBinary) is null)
            return Task.FromResult<string?>($"'{options.QemuBinary}' is not on PATH (Debian package qemu-system-x86; `make deps` installs it)");
        return Task.FromResult<string?>(null);
    }

    public MachineFacts Describe() => new(Kind, options.Kernel.Release, options.Cpus,
        $"{options.Kernel.Origin}; {options.Acceleration.ToString().ToLowerInvariant()} ({options.AccelerationReason}); " +
        $"{options.Backend}; {options.Cpus} vCPU, {options.MemoryMiB} MiB");

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
            Path.Combine(cell.LogDirectory, "console.log"), Path.Combine(cell.LogDirectory, "results-port.log"));
        File.Delete(paths.ConsoleLog);
        File.Delete(paths.ResultsPort);
        var remount = cell.Case.Readback.Contains(ReadbackStep.AfterRemount);

        using var kill = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var stderr = new StringBuilder();
        CommandTask<CommandResult>? qemu = null;
        try
        {
            await using (var f = new FileStream(paths.Disk, FileMode.Create, FileAccess.Write)) f.SetLength(Math.Max(options.ImageSize, cell.Filesystem.MinImageSize));
            await HostCommand.RunAsync(cell.Filesystem.MkfsProgram, cell.Filesystem.MkfsArgumentsFor(cell.Case.Workload.FsBlockSize, paths.Disk), cancellationToken);
            await InitramfsBuilder.WriteCellInitrdAsync(options.BaseInitramfs, CellFiles(cell, remount, probe: false), paths.Initrd, cancellationToken);

            var arguments = QemuCommandLine.Build(options, paths);
            await File.WriteAllTextAsync(Path.Combine(cell.LogDirectory, "qemu-command.txt"),
                options.QemuBinary + " " + string.Join(' ', arguments) + "\n", cancellationToken);
            qemu = Cli.Wrap(options.QemuBinary).WithArguments(arguments)
                .WithValidation(CommandResultValidation.None)
                .WithStandardErrorPipe(PipeTarget.ToStringBuilder(stderr))
                .ExecuteAsync(kill.Token);

            var console = new ConsoleWatcher(paths.ConsoleLog);
            var results = new GrowingFile(paths.ResultsPort);
            var frames = new ResultFrames();
            var pendingWrite = new Dictionary<int, Frame>();
            var clock = Stopwatch.StartNew();
            var lastProgress = TimeSpan.Zero;
            double bootSeconds = 0;
            var delivered = 0;

            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var exited = qemu.Task.IsCompleted;
                console.Poll();
                if (console.Booted && bootSeconds == 0)
                {
                    bootSeconds = clock.Elapsed.TotalSeconds;
                    lastProgress = clock.Elapsed;
                    progress.WriteLine($"    {cell.CellId}: booted in {bootSeconds:F1} s ({console.BootLine})");
                }

                foreach (var frame in frames.Feed(results.ReadNew()))
                {
                    lastProgress = clock.Elapsed;
                    if (frame.Phase == AgentPhase.Write && remount)
                    {
                        pendingWrite[frame.Iteration] = frame;
                        continue;
                    }
                    var write = frame.Phase == AgentPhase.Write ? frame : pendingWrite.GetValueOrDefault(frame.Iteration);
                    var readback = frame.Phase == AgentPhase.Readback ? frame : null;
                    delivered++;
                    yield return ToRaw(cell.FirstIteration + frame.Iteration, write, readback, bootSeconds);
                }

                if (console.Failure is { } failure)
                {
                    // Give the kernel a moment to finish printing the trace, then stop it.
                    await Task.Delay(TimeSpan.FromSeconds(exited ? 0 : 1.5), cancellationToken);
                    console.Poll();
                    throw new GuestFailureException(failure.Kind,
                        $"{Word(failure.Kind)} in the guest during iteration {delivered + 1} of {cell.Repeats}",
                        console.Excerpt(), paths.ConsoleLog);
                }
                if ((frames.GuestError ?? console.GuestError) is { } guestError)
                    throw new GuestFailureException(GuestFailureKind.GuestError, $"guest: {guestError}", console.Excerpt(), paths.ConsoleLog);
                if (frames.Done)
                {
                    if (delivered < cell.Repeats)
                        throw new GuestFailureException(GuestFailureKind.GuestError,
                            $"guest finished after {delivered} of {cell.Repeats} iterations", console.Excerpt(), paths.ConsoleLog);
                    if (await Task.WhenAny(qemu.Task, Task.Delay(options.Grace, cancellationToken)) != qemu.Task)
                        progress.WriteLine($"    {cell.CellId}: guest did not power off within {options.Grace.TotalSeconds:F0} s; QEMU killed (results are complete)");
                    // The guest finished cleanly: check its disk on the host, read-only, once QEMU
                    // is gone and before the work folder is deleted. (A crashed guest's filesystem
                    // is not expected to be clean, so that path never gets here.)
                    await kill.CancelAsync();
                    try { await qemu; }
                    catch (OperationCanceledException) { /* killed on purpose */ }
                    fsck.Result = await Filesystems.FsckRunner.CheckAsync(cell.Filesystem, paths.Disk, cancellationToken);
                    yield break;
                }
                if (exited)
                {
                    var code = qemu.Task.Result.ExitCode;
                    throw new GuestFailureException(GuestFailureKind.QemuExited,
                        $"QEMU exited with code {code} {(console.Booted ? "after boot" : "before the guest booted")}, after {delivered} of {cell.Repeats} iterations" +
                        (stderr.Length > 0 ? $": {stderr.ToString().Trim()}" : ""),
                        console.Excerpt(), paths.ConsoleLog);
                }
                if (!console.Booted && clock.Elapsed > options.Boot)
                    throw new GuestFailureException(GuestFailureKind.BootTimeout,
                        $"no boot marker within {options.Boot.TotalSeconds:F0} s", console.Excerpt(), paths.ConsoleLog);
                if (console.Booted && clock.Elapsed - lastProgress > options.Deadline)
                    throw new GuestFailureException(GuestFailureKind.WorkloadDeadline,
                        $"no result for {options.Deadline.TotalSeconds:F0} s during iteration {delivered + 1} of {cell.Repeats}", console.Excerpt(), paths.ConsoleLog);

                await Task.WhenAny(qemu.Task, Task.Delay(Poll, cancellationToken));
            }
        }
        finally
        {
            // Kill QEMU however we leave: done, failed, or cancelled. Never the caller's token here.
            await kill.CancelAsync();
            if (qemu is not null)
            {
                try { await qemu; }
                catch (OperationCanceledException) { /* killed on purpose */ }
            }
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
            .Append(CultureInfo.InvariantCulture, $"PROBE={(probe ? 1 : 0)}\n");
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
