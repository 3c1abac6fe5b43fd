// The checker must never read a live filesystem: a copy of the mount in another mount namespace
// keeps the superblock alive after umount(8) succeeds in ours. Real loop image, real mount, a real
// `unshare -m` holding the copy (root, as `make test` runs).
using System.Diagnostics;
using Harness.Machines;
using Xunit;

namespace Harness.Tests.EndToEnd;

public sealed class LiveAfterUnmountTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("harness-live-").FullName;

    public void Dispose()
    {
        foreach (var line in File.ReadAllLines("/proc/mounts").Where(l => l.Contains(_scratch, StringComparison.Ordinal)))
            Process.Start("umount", ["-l", line.Split(' ')[1]])!.WaitForExit();
        Directory.Delete(_scratch, recursive: true);
    }

    /// <summary>A fresh 64 MiB ext4 image, loop-mounted under the scratch folder.</summary>
    private async Task<(LoopMount Mount, string Point)> MountedExt4Async()
    {
        Assert.True(Environment.IsPrivilegedProcess, "needs root (loop mounts)");
        var image = Path.Combine(_scratch, "disk.img");
        var point = Directory.CreateDirectory(Path.Combine(_scratch, "mnt")).FullName;
        await using (var f = new FileStream(image, FileMode.Create)) f.SetLength(64L << 20);
        await HostCommand.RunAsync("mkfs.ext4", ["-F", "-q", image], CancellationToken.None);
        var mount = new LoopMount(image, point, "ext4", []);
        await mount.MountAsync(CancellationToken.None);
        return (mount, point);
    }

    [Fact]
    public async Task A_filesystem_kept_alive_by_another_mount_namespace_is_not_released_until_that_namespace_ends()
    {
        var (mount, point) = await MountedExt4Async();

        // The planted holder: a process in its own mount namespace, made while the image is mounted.
        using var holder = Process.Start("unshare", ["-m", "--propagation", "private", "sleep", "60"])!;
        await Task.Delay(500);
        await mount.UnmountAsync(CancellationToken.None);
        Assert.DoesNotContain(File.ReadAllLines("/proc/mounts"), l => l.Contains(point, StringComparison.Ordinal)); // gone from ours ...

        Assert.False(await mount.WaitReleasedAsync(TimeSpan.FromSeconds(1), CancellationToken.None)); // ... yet alive

        holder.Kill();
        await holder.WaitForExitAsync();
        Assert.True(await mount.WaitReleasedAsync(TimeSpan.FromSeconds(30), CancellationToken.None));
    }

    [Fact]
    public async Task A_mount_already_gone_when_the_unmount_comes_is_unmounted_not_an_error()
    {
        // Seen once in CI: a budget cut mid-teardown left the mount gone and umount(8) saying
        // "not mounted"; the cell became ERROR on `umount -l` instead of an interrupted cell.
        var (mount, point) = await MountedExt4Async();
        await HostCommand.RunAsync("umount", [point], CancellationToken.None);  // gone behind the mount's back

        var clock = Stopwatch.StartNew();
        await mount.UnmountAsync(CancellationToken.None);  // no exception: "not mounted" is the goal

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed.TotalSeconds:F1} s of retries");
        Assert.True(await mount.WaitReleasedAsync(TimeSpan.FromSeconds(30), CancellationToken.None));
    }

    [Fact]
    public async Task A_plain_unmount_is_released_at_once()
    {
        var (mount, _) = await MountedExt4Async();
        await mount.UnmountAsync(CancellationToken.None);

        Assert.True(await mount.WaitReleasedAsync(TimeSpan.FromSeconds(30), CancellationToken.None));
    }
}
