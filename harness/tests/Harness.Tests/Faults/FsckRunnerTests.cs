// The read-only checkers on real images made by the real mkfs: clean when fresh, a complaint
// (with the checker's output) when metadata was damaged on purpose, an exception when the
// checker cannot answer at all. Image files only: no root needed.
using Harness.Faults;
using Harness.Filesystems;
using Harness.Machines;
using Xunit;

namespace Harness.Tests.Faults;

public sealed class FsckRunnerTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("harness-fsck-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private async Task<string> FreshImageAsync(FilesystemSpec fs)
    {
        var image = Path.Combine(_scratch, $"{fs.Name}.img");
        await using (var f = new FileStream(image, FileMode.Create, FileAccess.Write)) f.SetLength(fs.MinImageSize);
        await HostCommand.RunAsync(fs.MkfsProgram, fs.MkfsArgumentsFor(4096, image), CancellationToken.None);
        return image;
    }

    [Theory]
    [InlineData("ext4", "e2fsck")]
    [InlineData("xfs", "xfs_repair")]
    [InlineData("btrfs", "btrfs")]
    [InlineData("ocfs2", "fsck.ocfs2")]
    [InlineData("f2fs", "fsck.f2fs")]
    [InlineData("ext2", "e2fsck")]
    public async Task A_fresh_image_is_clean_with_the_tool_and_exit_code_recorded(string name, string tool)
    {
        var fs = FilesystemCatalog.Find(name);
        var image = await FreshImageAsync(fs);

        var result = await FsckRunner.CheckAsync(fs, image, CancellationToken.None);

        Assert.True(result.Ran);
        Assert.True(result.Clean, result.Output);
        Assert.False(result.Complained);
        Assert.Equal(tool, result.Tool);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains(image, result.CommandLine);
    }

    [Fact]
    public async Task A_block_marked_free_in_the_ext4_bitmap_is_a_complaint_with_the_checkers_output()
    {
        var fs = FilesystemCatalog.Find("ext4");
        var image = await FreshImageAsync(fs);
        await HostCommand.RunAsync("debugfs", ["-w", "-R", "freeb 100", image], CancellationToken.None);

        var result = await FsckRunner.CheckAsync(fs, image, CancellationToken.None);

        Assert.True(result.Complained);
        Assert.Equal(4, result.ExitCode);  // e2fsck: errors left uncorrected
        Assert.Contains("Block bitmap differences", result.Output);
    }

    [Fact]
    public async Task A_zeroed_xfs_allocation_group_header_is_a_complaint()
    {
        var fs = FilesystemCatalog.Find("xfs");
        var image = await FreshImageAsync(fs);
        var agBlocks = long.Parse((await HostCommand.RunAsync("xfs_db", ["-r", "-c", "sb 0", "-c", "p agblocks", image], CancellationToken.None)).Split('=')[1].Trim());
        await using (var f = new FileStream(image, FileMode.Open, FileAccess.Write))
        {
            f.Position = agBlocks * 4096;   // AG 1: its superblock copy, AGF, AGI and AGFL
            await f.WriteAsync(new byte[4096]);
        }

        var result = await FsckRunner.CheckAsync(fs, image, CancellationToken.None);

        Assert.True(result.Complained);
        Assert.Equal(1, result.ExitCode);  // xfs_repair -n: corruption found
        Assert.Equal("xfs_repair", result.Tool);
    }

    [Fact]
    public async Task A_checker_that_cannot_run_is_an_operational_error_not_a_finding()
    {
        var fs = FilesystemCatalog.Find("ext4");

        // e2fsck exits 8 (operational error) on a file that is not there.
        var missingImage = await Assert.ThrowsAsync<MachineException>(() => FsckRunner.CheckAsync(fs, Path.Combine(_scratch, "none.img"), CancellationToken.None));
        Assert.Contains("exit 8", missingImage.Message);

        var notInstalled = fs with { Fsck = new FsckSpec("no-such-fsck", ["{image}"], [0], [1]) };
        var missingTool = await Assert.ThrowsAsync<MachineException>(() => FsckRunner.CheckAsync(notInstalled, "x.img", CancellationToken.None));
        Assert.Contains("no-such-fsck", missingTool.Message);
    }

    [Fact]
    public void Output_is_capped_at_forty_lines_with_the_rest_counted()
    {
        var excerpt = FsckResult.Excerpt(string.Join('\n', Enumerable.Range(1, 100).Select(i => $"line {i}")));

        var lines = excerpt.Split('\n');
        Assert.Equal(FsckResult.MaxLines + 1, lines.Length);
        Assert.Equal("line 40", lines[39]);
        Assert.Equal("... (60 more lines)", lines[^1]);
    }

    [Fact]
    public void Btrfs_map_logical_output_gives_the_first_mirrors_physical_offset()
    {
        Assert.Equal(22020096, BtrfsAddresses.Parse("mirror 1 logical 13631488 physical 22020096 device disk.img\nmirror 2 logical 13631488 physical 30408704 device disk.img\n"));
        Assert.Null(BtrfsAddresses.Parse("ERROR: no extent found at range [1,513)"));
    }
}
