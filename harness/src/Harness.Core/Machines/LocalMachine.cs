// The host kernel as a machine: a fresh image file per cell, formatted with mkfs and
// loop-mounted, or a directory the user names. Always unmounts, also on failure and Ctrl-C.
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Harness.Cases;
using Harness.Faults;
using Harness.Filesystems;
using Harness.Workload;

namespace Harness.Machines;

/// <summary>Options of the local machine. <see cref="Directory"/> set means: no image, run there.</summary>
public sealed record LocalMachineOptions(AgentBinary Agent, long ImageSize, string? Directory = null, IFaultInjector? Fault = null);

public sealed class LocalMachine(LocalMachineOptions options) : IMachine
{

    public string Kind => "local";

    public Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        if (options.Directory is null && !Environment.IsPrivilegedProcess)
            return Task.FromResult<string?>("the local machine formats and loop-mounts image files, which needs root; run as root, or pass --dir <directory> to test a filesystem you mounted yourself");
        if (options.Directory is not null && !System.IO.Directory.Exists(options.Directory))
            return Task.FromResult<string?>($"--dir {options.Directory}: no such directory");
        if (options.Fault is not null && options.Directory is not null)
            return Task.FromResult<string?>("--fault needs an image (it corrupts the image between write and read-back); drop --dir");
        if (options.Agent.Problem() is { } agent)
            return Task.FromResult<string?>(agent);
        return Task.FromResult<string?>(null);
    }

    /// <summary>
    /// Whether the host kernel can mount each filesystem (in /proc/filesystems, or a module
    /// modprobe finds) and its mkfs is installed: said before anything runs, with the way out.
    /// </summary>
    public static async Task<string?> FilesystemProblemAsync(IEnumerable<FilesystemSpec> filesystems, CancellationToken cancellationToken)
    {
        var known = File.Exists("/proc/filesystems")
            ? (await File.ReadAllLinesAsync("/proc/filesystems", cancellationToken)).Select(l => l.Split('\t').Last().Trim()).ToHashSet()
            : [];
        foreach (var fs in filesystems)
        {
            if (!known.Contains(fs.MountType))
            {
                var (code, _) = await HostCommand.TryRunAsync("modprobe", ["-n", fs.KernelModules.FirstOrDefault() ?? fs.MountType], "/", cancellationToken);
                if (code != 0)
                    return $"mount: unknown filesystem type '{fs.MountType}' (error 19: ENODEV): the host kernel {HostInfo.KernelRelease()} has no {fs.Name}; " +
                           $"use --machine qemu with a kernel that has CONFIG_{fs.Name.ToUpperInvariant()}_FS, or drop {fs.Name} from --fs";
            }
            var path = (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':');
            if (!path.Any(p => File.Exists(Path.Combine(p, fs.MkfsProgram))))
                return $"{fs.MkfsProgram} is not installed; apt-get install {fs.DebianPackage}, or drop {fs.Name} from --fs";
        }
        return null;
    }

    /// <summary>
    /// Why the host machine cannot give a setup its disk, or null. The loop driver has one sector
    /// size (`losetup --sector-size` sets logical and physical alike) and no bus.
    /// </summary>
    public static string? GeometryProblem(Setups.DiskGeometry geometry) =>
        geometry.Bus != Setups.DiskBus.VirtioBlk
            ? $"bus {Setups.DiskGeometry.BusName(geometry.Bus)} is a QEMU disk; the local machine's disk is a loop device (use --kernel)"
            : geometry.PhysicalSector != geometry.LogicalSector
                ? $"sectors {geometry.SectorsName} needs a physical sector apart from the logical one; the loop driver sets both to one size (use --kernel)"
                : null;

    public MachineFacts Describe() => new(Kind, HostInfo.KernelRelease(), Environment.ProcessorCount,
        options.Directory is null ? $"loop-mounted {Yaml.ByteSize.Format(options.ImageSize)} image per cell" : $"directory {options.Directory}");

    public async IAsyncEnumerable<IterationRaw> RunCellAsync(CellRequest cell, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (options.Directory is not null)
        {
            // The user's folder is theirs: work only in a fresh subfolder made here, so a file or
            // folder of theirs named like ours (harness-target, .harness-dirt) is never touched.
            var owned = CreateOwned(options.Directory, $"harness-{System.IO.Path.GetFileName(cell.WorkDirectory)}-{cell.CellId}");
            try
            {
                // No image of ours to check: say so on the last iteration rather than stay silent.
                await foreach (var raw in IterationStream.HoldLastAsync(RunIterationsAsync(cell, owned.Path, image: null, cancellationToken)))
                    yield return raw.Last
                        ? raw.Raw with { Fsck = FsckResult.NotRun($"--dir {options.Directory}: no image of the harness's to check; run the checker on the unmounted device yourself") }
                        : raw.Raw;
            }
            finally
            {
                Report(owned.TryDelete());
            }
            yield break;
        }

        System.IO.Directory.CreateDirectory(cell.WorkDirectory);
        var work = CreateOwned(cell.WorkDirectory, cell.CellId);
        var image = Path.Combine(work.Path, "disk.img");
        var mountPoint = Path.Combine(work.Path, "mnt");
        System.IO.Directory.CreateDirectory(mountPoint);
        var fs = cell.Filesystem;
        var layout = new ImageLayout(fs, options.Fault);
        try
        {
            var size = Math.Max(options.ImageSize, fs.MinImageSize);
            var setup = new PhaseTimer();
            await using (var f = new FileStream(image, FileMode.Create, FileAccess.Write)) f.SetLength(size);
            var mount = await layout.FormatAsync(image, mountPoint, cell.Case.Workload.FsBlockSize, cancellationToken);
            setup.Mark("mkfs");
            try
            {
                await mount.MountAsync(cancellationToken);
                setup.Mark("mount");
                // fsck after the last read-back, on the unmounted image; the last iteration is held back so the check travels with it.
                await foreach (var item in IterationStream.WithSetupAndCheckAsync(RunIterationsAsync(cell, mountPoint, mount, cancellationToken), setup,
                    () => CheckAsync(mount, fs, image, layout, cancellationToken)))
                    yield return item;
            }
            finally
            {
                // Not the caller's token: cleanup must happen exactly when the run was cancelled.
                await mount.UnmountAsync(CancellationToken.None);
            }
        }
        finally
        {
            await layout.DisposeAsync();
            Report(work.TryDelete());
        }
    }

    private static OwnedDirectory CreateOwned(string parent, string name)
    {
        try
        {
            return OwnedDirectory.Create(parent, name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MachineException($"cannot create the cell's work folder in {parent}: {e.Message}", e);
        }
    }

    private static void Report(string? leftover)
    {
        // Leftovers are said, never fatal: the cell's results are already out.
        if (leftover is not null) Console.Error.WriteLine($"harness: {leftover}");
    }

    /// <summary>
    /// Unmounts and runs the checker. A failure (unmount, the checker itself, cancel) comes back
    /// to be thrown after the last iteration is out, so it never hides that iteration's findings.
    /// </summary>
    private static async Task<(FsckResult Fsck, ExceptionDispatchInfo? Failure)> CheckAsync(LoopMount mount, FilesystemSpec fs, string image, ImageLayout layout, CancellationToken cancellationToken)
    {
        try
        {
            await mount.UnmountAsync(cancellationToken);
            if (!await mount.WaitReleasedAsync(TimeSpan.FromSeconds(30), cancellationToken))
                return (FsckResult.NotRun("not checked: the filesystem was still alive 30 s after its unmount (another process or mount namespace holds it), and a checker must not read a live filesystem"), null);
            return (await FsckRunner.CheckAsync(fs, image, cancellationToken, layout.FsckLogArguments), null);
        }
        catch (Exception e) when (e is MachineException or OperationCanceledException)
        {
            return (FsckResult.NotRun($"not checked: {e.Message}"), ExceptionDispatchInfo.Capture(e));
        }
    }

    private async IAsyncEnumerable<IterationRaw> RunIterationsAsync(CellRequest cell, string directory, LoopMount? image, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var scratch = Path.Combine(cell.LogDirectory, "agent");
        for (var i = cell.FirstIteration; i < cell.FirstIteration + cell.Repeats; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (raw, stop) = await RunIterationAsync(cell, directory, image, i, scratch, cancellationToken);
            yield return raw;
            if (stop) break;
        }
        TryDeleteFile(Path.Combine(directory, CellRequest.TargetFile));
    }

    /// <summary>One iteration. Stop is true when the image can no longer be used (remount failed).</summary>
    private async Task<(IterationRaw Raw, bool Stop)> RunIterationAsync(CellRequest cell, string directory, LoopMount? image, int i, string scratch, CancellationToken cancellationToken)
    {
        // Every failure after the write phase comes back with the write report (stop = true), never as an
        // exception that would lose it.
        var fault = image is null ? null : options.Fault;
        var plan = PlanBuilder.Build(cell.Case.Workload, i);
        var spec = cell.Case.Workload;
        var armed = fault as IArmedFault;
        // Dirt is written in the write phase too, and would fail on the failing device: an
        // armed fault runs without it (the plan, and so the judging, does not depend on dirt).
        if (armed is not null) spec = spec with { DirtyBytes = 0 };
        AgentReport write;
        var phases = new PhaseTimer();
        if (armed is not null)
        {
            // Metadata left dirty by the last iteration or the remount must reach the disk before it starts
            // failing: written back inside the window, it fails asynchronously and the filesystem answers the
            // agent's next metadata change (its unlink) with EIO, an error the fault is not about.
            // Best effort: a filesystem the fault already made read-only fails the sync, and the agent will say so.
            await HostCommand.TryRunAsync("sync", ["-f", directory], "/", cancellationToken);
            await armed.ApplyAsync(new FaultContext(image!.ImagePath, plan, []), cancellationToken);
        }
        try
        {
            write = await options.Agent.RunAsync(new AgentRequest(AgentPhase.Write, directory, CellRequest.TargetFile, spec, i, DropCaches: false), scratch, cancellationToken);
            phases.MarkAgent("agent-write", write);
        }
        finally
        {
            if (armed is not null) await armed.DisarmAsync(new FaultContext(image!.ImagePath, plan, []), CancellationToken.None);
        }
        IterationRaw Raw(AgentReport? readback, string? error) => new IterationRaw(i, write, readback, error) { Phases = phases.Phases, Seconds = phases.Total };

        // A fault is judged on a read-back after it, whatever the case lists.
        var wantsReadback = cell.Case.Readback.Contains(ReadbackStep.AfterRemount) || fault is not null;
        if (write.Error is not null || !wantsReadback)
            return (Raw(null, write.Error), false);

        if (image is not null)
        {
            try
            {
                await BetweenWriteAndReadbackAsync(cell, image, directory, plan, fault, cancellationToken);
                phases.Mark(fault is null ? "remount" : "fault+remount");
            }
            catch (MachineException e)
            {
                // The after-fsync read-back is in the write report: hand it to the judge with the
                // error, so a finding already made is never hidden by what broke after it.
                return (Raw(null, e.Message), true);
            }
        }
        AgentReport readback;
        try
        {
            readback = await options.Agent.RunAsync(
                new AgentRequest(AgentPhase.Readback, directory, CellRequest.TargetFile, cell.Case.Workload, i, DropCaches: image is null), scratch, cancellationToken);
            phases.MarkAgent("agent-readback", readback);
        }
        catch (MachineException e)
        {
            return (Raw(null, $"read-back: {e.Message}"), true);
        }
        return (Raw(readback, write.Error ?? readback.Error), false);
    }

    /// <summary>Unmounts, applies the fault, mounts again; any failure is a <see cref="MachineException"/>.</summary>
    private static Task BetweenWriteAndReadbackAsync(CellRequest cell, LoopMount image, string directory, WorkloadPlan plan, IFaultInjector? fault, CancellationToken cancellationToken) =>
        FaultRemount.RunAsync(cell, image.ImagePath, Path.Combine(directory, CellRequest.TargetFile), plan, fault, image.UnmountAsync, image.MountAsync, cancellationToken);

    /// <summary>Removes one file inside a folder the harness owns; never a folder.</summary>
    private static void TryDeleteFile(string path)
    {
        try
        {
            if (File.Exists(path)) File.Delete(path);
        }
        catch (IOException) { /* best effort: a leftover work file is not worth failing a run */ }
        catch (UnauthorizedAccessException) { }
    }
}

/// <summary>
/// How a cell's image is formatted and mounted: plainly, or with its journal on a second loop
/// device (the io-error fault fails the data image's writes and needs fsync to go on working).
/// Owns that log device and detaches it on dispose.
/// </summary>
internal sealed class ImageLayout(FilesystemSpec fs, IFaultInjector? fault) : IAsyncDisposable
{
    private const long LogImageSize = 64L << 20;
    private string? _logDevice;
    private string? _logImage;
    private string? _dataDevice;

    /// <summary>Arguments that point the checker at the external log, when there is one.</summary>
    public IReadOnlyList<string>? FsckLogArguments { get; private set; }

    public async Task<LoopMount> FormatAsync(string image, string mountPoint, int blockSize, CancellationToken cancellationToken)
    {
        List<string> mountOptions = [.. fs.MountOptions];
        if (fault is ImageSectorFault { NeedsUnchecksummedData: true }) mountOptions.AddRange(fs.RawDataMountOptions);
        if (fault is not IArmedFault)
        {
            await HostCommand.RunAsync(fs.MkfsProgram, fs.MkfsArgumentsFor(blockSize, image), cancellationToken);
            return await DataMountAsync(image, mountPoint, mountOptions, cancellationToken);
        }
        if (fs.Geometry != Setups.DiskGeometry.Default)
            throw new MachineException($"--fault {fault.Name} keeps the journal on a second loop device and is not built for the setup's {fs.Geometry} disk; use a setup with 512-byte sectors");
        mountOptions.Insert(0, "loop");

        var log = fs.ExternalLog ?? throw new MachineException(
            $"--fault {fault.Name} needs a filesystem that can keep its journal on another device (ext4, xfs); {fs.Name} cannot");
        _logImage = Path.Combine(Path.GetDirectoryName(image)!, "log.img");
        await using (var f = new FileStream(_logImage, FileMode.Create, FileAccess.Write)) f.SetLength(LogImageSize);
        _logDevice = (await HostCommand.RunAsync("losetup", ["--find", "--show", _logImage], cancellationToken)).Trim();
        if (log.LogMkfsArguments.Count > 0)
            await HostCommand.RunAsync(fs.MkfsProgram, [.. ExternalLogSpec.Fill(log.LogMkfsArguments, _logDevice).Select(a => a.Replace("{block}", blockSize.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)), _logDevice], cancellationToken);
        var data = fs.MkfsArgumentsFor(blockSize, image);
        await HostCommand.RunAsync(fs.MkfsProgram, [.. data.Take(data.Count - 1), .. ExternalLogSpec.Fill(log.DataMkfsArguments, _logDevice), image], cancellationToken);
        mountOptions.Add(ExternalLogSpec.Fill([log.MountOption], _logDevice)[0]);
        FsckLogArguments = ExternalLogSpec.Fill(log.FsckArguments, _logDevice);
        return new LoopMount(image, mountPoint, fs.MountType, mountOptions);
    }

    /// <summary>
    /// The data image as the setup's disk: mount(8)'s own loop device for 512-byte sectors (as
    /// before setups), else a loop device attached here with `losetup --sector-size` and detached on dispose.
    /// </summary>
    private async Task<LoopMount> DataMountAsync(string image, string mountPoint, List<string> mountOptions, CancellationToken cancellationToken)
    {
        if (fs.Geometry.LogicalSector == 512 && LocalMachine.GeometryProblem(fs.Geometry) is null)
            return new LoopMount(image, mountPoint, fs.MountType, ["loop", .. mountOptions]);
        if (LocalMachine.GeometryProblem(fs.Geometry) is { } problem) throw new MachineException($"setup {fs.CellName}: {problem}");
        _dataDevice = (await HostCommand.RunAsync("losetup",
            ["--find", "--show", "--sector-size", fs.Geometry.LogicalSector.ToString(System.Globalization.CultureInfo.InvariantCulture), image], cancellationToken)).Trim();
        return new LoopMount(image, mountPoint, fs.MountType, mountOptions, _dataDevice);
    }

    public async ValueTask DisposeAsync()
    {
        if (_dataDevice is not null)
        {
            var (code, output) = await HostCommand.TryRunAsync("losetup", ["-d", _dataDevice], "/", CancellationToken.None);
            if (code != 0) Console.Error.WriteLine($"harness: could not detach loop device {_dataDevice}: {output.Trim()}");
            _dataDevice = null;
        }
        if (_logDevice is not null)
        {
            var (code, output) = await HostCommand.TryRunAsync("losetup", ["-d", _logDevice], "/", CancellationToken.None);
            if (code != 0) Console.Error.WriteLine($"harness: could not detach log device {_logDevice}: {output.Trim()}");
            _logDevice = null;
        }
    }
}

/// <summary>
/// An image mounted through a loop device: mount(8)'s own (option "loop", autoclear detaches it
/// on unmount), or <paramref name="device"/>, attached and detached by the owner.
/// </summary>
internal sealed class LoopMount(string imagePath, string mountPoint, string type, IReadOnlyList<string> options, string? device = null)
{
    private bool _mounted;
    private string? _source;

    public string ImagePath => imagePath;

    public async Task MountAsync(CancellationToken cancellationToken)
    {
        // Never cancelled half-way: killing mount(8) after its mount(2) would leave a mount nobody
        // knows to undo (seen with --budget and Ctrl-C landing on a remount). It takes milliseconds.
        List<string> arguments = ["-t", type];
        if (options.Count > 0) arguments.AddRange(["-o", string.Join(',', options)]);
        arguments.AddRange([device ?? imagePath, mountPoint]);
        await HostCommand.RunAsync("mount", arguments, CancellationToken.None);
        _mounted = true;
        _source = MountSource(mountPoint);
        cancellationToken.ThrowIfCancellationRequested();
    }

    public async Task UnmountAsync(CancellationToken cancellationToken)
    {
        if (!_mounted) return;
        // A just-killed agent may still hold the mount for a moment: retry, then detach lazily.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await HostCommand.RunAsync("umount", [mountPoint], cancellationToken);
                _mounted = false;
                return;
            }
            catch (MachineException) when (!IsMounted(mountPoint))
            {
                // The goal is "not mounted": a umount that reports failure after the mount went
                // away (seen once in CI: a budget cut mid-teardown, then "not mounted") is done.
                _mounted = false;
                return;
            }
            catch (MachineException) when (attempt < 5)
            {
                await Task.Delay(200 * (attempt + 1), cancellationToken);
            }
            catch (MachineException) when (attempt >= 5)
            {
                try { await HostCommand.RunAsync("umount", ["-l", mountPoint], cancellationToken); }
                catch (MachineException) when (!IsMounted(mountPoint)) { /* gone meanwhile */ }
                _mounted = false;
                return;
            }
        }
    }

    private static bool IsMounted(string path) =>
        StaleResources.Mounts().Any(m => m.MountPoint == Path.GetFullPath(path).TrimEnd('/'));

    /// <summary>
    /// After <see cref="UnmountAsync"/>: waits until the filesystem is really gone (its device no longer
    /// claimed, or the auto-cleared loop device detached or reused), so a checker never reads a live
    /// filesystem. False when it still lives after <paramref name="timeout"/>.
    /// </summary>
    public async Task<bool> WaitReleasedAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_source is null || !_source.StartsWith("/dev/", StringComparison.Ordinal)) return true;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            if (!StillOurs(_source) || !Interop.BlockDeviceClaim.IsClaimed(_source)) return true;
            if (clock.Elapsed >= timeout) return false;
            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>A loop device still backed by this image (not auto-cleared, not reused by another mount).</summary>
    private bool StillOurs(string source)
    {
        var backing = $"/sys/block/{Path.GetFileName(source)}/loop/backing_file";
        if (!source.StartsWith("/dev/loop", StringComparison.Ordinal)) return true;
        try { return File.ReadAllText(backing).Trim() == Path.GetFullPath(imagePath); }
        catch (IOException) { return false; }
    }

    /// <summary>The device mounted at <paramref name="point"/>, from /proc/self/mountinfo (null when not found).</summary>
    private static string? MountSource(string point)
    {
        var full = Path.GetFullPath(point);
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            // "id parent major:minor root mountpoint options [optional...] - fstype source superoptions"
            var fields = line.Split(' ');
            var dash = Array.IndexOf(fields, "-");
            if (fields.Length > 4 && dash > 0 && dash + 2 < fields.Length && Unescape(fields[4]) == full) return fields[dash + 2];
        }
        return null;
    }

    private static string Unescape(string field) =>
        System.Text.RegularExpressions.Regex.Replace(field, @"\\([0-7]{3})", m => ((char)Convert.ToInt32(m.Groups[1].Value, 8)).ToString());
}

/// <summary>Facts about the host.</summary>
public static class HostInfo
{
    public static string KernelRelease()
    {
        try { return File.ReadAllText("/proc/sys/kernel/osrelease").Trim(); }
        catch (IOException) { return Environment.OSVersion.VersionString; }
    }
}
