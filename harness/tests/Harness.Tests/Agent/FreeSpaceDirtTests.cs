// The dirt must be free again, and committed, when the timed workload starts. xfs (Linux >=
// 5.19) frees an unlinked file's blocks in a background worker that sync(2) does not wait for:
// before the agent waited for it, the dirt was still missing from the free count after the
// sync in about half the runs on this host's xfs loop, and its frees ran beside the workload.
// Real loop image, real mkfs.xfs. Needs root.
using Harness.Agent;
using Harness.Machines;
using Xunit;

namespace Harness.Tests.Agent;

public sealed class FreeSpaceDirtTests : IAsyncLifetime
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("harness-dirt-xfs-").FullName;
    private string Image => Path.Combine(_scratch, "xfs.img");
    private string Mount => Path.Combine(_scratch, "mnt");
    private bool _mounted;

    public async Task InitializeAsync()
    {
        Assert.True(Environment.IsPrivilegedProcess, "this test needs root (a loop mount); run `make test` as root");
        Directory.CreateDirectory(Mount);
        await using (var image = File.Create(Image)) image.SetLength(512L << 20);
        await HostCommand.RunAsync("mkfs.xfs", ["-f", "-q", "-b", "size=4096", Image], CancellationToken.None);
        await HostCommand.RunAsync("mount", ["-o", "loop", Image, Mount], CancellationToken.None);
        _mounted = true;
    }

    public async Task DisposeAsync()
    {
        if (_mounted) await HostCommand.TryRunAsync("umount", [Mount], "/", CancellationToken.None);
        Directory.Delete(_scratch, recursive: true);
    }

    [Fact]
    public void Xfs_has_the_dirt_back_in_the_free_count_when_the_dirt_phase_returns()
    {
        const long dirt = 16L << 20;
        // Eight rounds: with the old single sync, the chance that all eight found the dirt freed was about 1 in 250.
        for (var round = 0; round < 8; round++)
        {
            var before = Harness.Agent.Interop.Posix.FilesystemSpace(Mount).Available;

            var extents = FreeSpaceDirt.Write(Mount, dirt, (ulong)round + 1, TextWriter.Null, CancellationToken.None);

            var after = Harness.Agent.Interop.Posix.FilesystemSpace(Mount).Available;
            Assert.Equal(dirt, Assert.IsAssignableFrom<IReadOnlyList<Harness.Agent.Interop.PhysicalExtent>>(extents.Extents).Sum(e => e.Length)); // the dirt was really written
            Assert.False(File.Exists(Path.Combine(Mount, FreeSpaceDirt.FileName)));
            // xfs may keep a few blocks for its own metadata; the dirt itself must all be back.
            Assert.True(after >= before - (1L << 20), $"round {round}: {(before - after) >> 10} KiB of the dirt still not free when the dirt phase returned");
        }
    }
}
