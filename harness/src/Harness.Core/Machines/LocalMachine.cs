// The host kernel as a machine: a fresh image file per cell, formatted with mkfs and
// loop-mounted, or a directory the user names. Always unmounts, also on failure and Ctrl-C.
using System.Runtime.CompilerServices;
using Harness.Cases;
using Harness.Faults;
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
        return Task.FromResult<string?>(null);
    }

    public MachineFacts Describe() => new(Kind, HostInfo.KernelRelease(), Environment.ProcessorCount,
        options.Directory is null ? $"loop-mounted {Yaml.ByteSize.Format(options.ImageSize)} image per cell" : $"directory {options.Directory}");

    public async IAsyncEnumerable<IterationRaw> RunCellAsync(CellRequest cell, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (options.Directory is not null)
        {
            await foreach (var raw in RunIterationsAsync(cell, options.Directory, image: null, cancellationToken))
                yield return raw;
            yield break;
        }

        var work = Path.Combine(cell.WorkDirectory, cell.CellId);
        var image = Path.Combine(work, "disk.img");
        var mountPoint = Path.Combine(work, "mnt");
        System.IO.Directory.CreateDirectory(mountPoint);
        var mount = new LoopMount(image, mountPoint, cell.Filesystem.MountType);
        try
        {
            var size = Math.Max(options.ImageSize, cell.Filesystem.MinImageSize);
            await using (var f = new FileStream(image, FileMode.Create, FileAccess.Write)) f.SetLength(size);
            await HostCommand.RunAsync(cell.Filesystem.MkfsProgram, cell.Filesystem.MkfsArgumentsFor(cell.Case.Workload.FsBlockSize, image), cancellationToken);
            await mount.MountAsync(cancellationToken);
            await foreach (var raw in RunIterationsAsync(cell, mountPoint, mount, cancellationToken))
                yield return raw;
        }
        finally
        {
            // Not the caller's token: cleanup must happen exactly when the run was cancelled.
            await mount.UnmountAsync(CancellationToken.None);
            TryDelete(work);
        }
    }

    private async IAsyncEnumerable<IterationRaw> RunIterationsAsync(CellRequest cell, string directory, LoopMount? image, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var scratch = Path.Combine(cell.LogDirectory, "agent");
        var wantsRemount = cell.Case.Readback.Contains(ReadbackStep.AfterRemount);
        for (var i = cell.FirstIteration; i < cell.FirstIteration + cell.Repeats; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var write = await options.Agent.RunAsync(
                new AgentRequest(AgentPhase.Write, directory, CellRequest.TargetFile, cell.Case.Workload, i, DropCaches: false), scratch, cancellationToken);
            AgentReport? readback = null;
            if (write.Error is null && (wantsRemount || options.Fault is not null))
            {
                if (image is not null)
                {
                    var extents = options.Fault is null ? null : await FileExtents.ReadAsync(Path.Combine(directory, CellRequest.TargetFile), cancellationToken);
                    await image.UnmountAsync(cancellationToken);
                    if (options.Fault is not null)
                        await options.Fault.ApplyAsync(new FaultContext(image.ImagePath, PlanBuilder.Build(cell.Case.Workload, i), extents!), cancellationToken);
                    await image.MountAsync(cancellationToken);
                }
                readback = await options.Agent.RunAsync(
                    new AgentRequest(AgentPhase.Readback, directory, CellRequest.TargetFile, cell.Case.Workload, i, DropCaches: image is null), scratch, cancellationToken);
            }
            yield return new IterationRaw(i, write, readback, write.Error ?? readback?.Error);
        }
        TryDelete(Path.Combine(directory, CellRequest.TargetFile));
    }

    private static void TryDelete(string path)
    {
        try
        {
            if (System.IO.Directory.Exists(path)) System.IO.Directory.Delete(path, recursive: true);
            else File.Delete(path);
        }
        catch (IOException) { /* best effort: a leftover work file is not worth failing a run */ }
        catch (UnauthorizedAccessException) { }
    }
}

/// <summary>An image mounted through a loop device; mount(8)'s autoclear detaches it on unmount.</summary>
internal sealed class LoopMount(string imagePath, string mountPoint, string type)
{
    private bool _mounted;

    public string ImagePath => imagePath;

    public async Task MountAsync(CancellationToken cancellationToken)
    {
        await HostCommand.RunAsync("mount", ["-t", type, "-o", "loop", imagePath, mountPoint], cancellationToken);
        _mounted = true;
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
            catch (MachineException) when (attempt < 5)
            {
                await Task.Delay(200 * (attempt + 1), cancellationToken);
            }
            catch (MachineException) when (attempt >= 5)
            {
                await HostCommand.RunAsync("umount", ["-l", mountPoint], cancellationToken);
                _mounted = false;
                return;
            }
        }
    }
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
