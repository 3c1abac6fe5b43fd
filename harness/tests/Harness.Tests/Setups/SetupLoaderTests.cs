// Setups files: the shipped one loads with every setup the comparison needs; bad entries get
// errors naming file, line and field; and the setup's block size wins over the case's.
using Harness.Cases;
using Harness.Filesystems;
using Harness.Setups;
using Harness.Tests.Support;
using Harness.Yaml;
using Xunit;

namespace Harness.Tests.Setups;

public sealed class SetupLoaderTests
{
    private static string ShippedFile => Path.Combine(RepoPaths.Root, SetupLoader.DefaultFile);

    private static InputProblem[] Problems(string yaml)
    {
        var e = Assert.Throws<InputException>(() => SetupLoader.Parse("s.yaml", yaml));
        return [.. e.Problems];
    }

    [Fact]
    public void Shipped_setups_load_with_filesystems_block_sizes_mount_options_and_geometries()
    {
        var all = SetupLoader.Load(ShippedFile);

        foreach (var name in new[] { "ext4", "ext4-dioread_nolock", "xfs-1k", "xfs-4k", "btrfs", "f2fs", "ocfs2", "ext4-512e", "ext4-4kn", "xfs-4kn", "ext4-virtio-scsi", "ext4-nvme" })
            Assert.Contains(all, s => s.Name == name);
        Assert.Equal(["dioread_nolock"], all.Single(s => s.Name == "ext4-dioread_nolock").MountOptions);
        Assert.Equal(1024, all.Single(s => s.Name == "xfs-1k").BlockSize);
        Assert.Equal(new DiskGeometry(512, 4096, DiskBus.VirtioBlk), all.Single(s => s.Name == "ext4-512e").Geometry);
        Assert.Equal(new DiskGeometry(4096, 4096, DiskBus.VirtioBlk), all.Single(s => s.Name == "ext4-4kn").Geometry);
        Assert.Equal(DiskBus.Nvme, all.Single(s => s.Name == "ext4-nvme").Geometry.Bus);
        // Errors point at the entry's line in the file.
        Assert.Equal(File.ReadAllLines(ShippedFile).ToList().FindIndex(l => l == "  xfs-1k:") + 1, all.Single(s => s.Name == "xfs-1k").Line);
    }

    [Fact]
    public void Setup_mkfs_arguments_carry_block_size_sector_size_and_options_before_the_image()
    {
        var xfs = SetupLoader.Parse("s.yaml", """
            setups:
              x:
                fs: xfs
                block-size: 4096
                mkfs-options: -m reflink=0
                disk: {sectors: 4kn}
            """).Single();

        Assert.Equal(["-f", "-q", "-b", "size=4096", "-s", "size=4096", "-m", "reflink=0", "/img"], xfs.ToFilesystem().MkfsArgumentsFor(4096, "/img"));
        Assert.Equal("x", xfs.ToFilesystem().CellName);
        // Without a setup nothing changes: the catalog's arguments as before.
        Assert.Equal(["-f", "-q", "-b", "size=4096", "/img"], FilesystemCatalog.Find("xfs").MkfsArgumentsFor(4096, "/img"));
    }

    [Fact]
    public void The_setups_block_size_wins_over_the_cases_fs_block_size_and_without_one_the_cases_is_used()
    {
        var tiny = new CaseCatalog(RepoPaths.Cases).Find("tiny");  // fs-block-size: 4096
        var all = SetupLoader.Load(ShippedFile);
        var xfs1k = all.Single(s => s.Name == "xfs-1k");
        var ext4 = all.Single(s => s.Name == "ext4");

        Assert.Equal(4096, tiny.Workload.FsBlockSize);
        Assert.Equal(1024, xfs1k.EffectiveBlockSize(tiny));
        Assert.Equal(1024, xfs1k.Apply(tiny).Workload.FsBlockSize);
        Assert.Equal(tiny.Workload with { FsBlockSize = 1024 }, xfs1k.Apply(tiny).Workload);
        Assert.Equal(4096, ext4.EffectiveBlockSize(tiny));
        Assert.Same(tiny, ext4.Apply(tiny));
    }

    [Fact]
    public void A_case_that_does_not_fit_the_setups_block_or_disk_is_refused_with_the_reason()
    {
        var randomSubBlock = new CaseCatalog(RepoPaths.Cases).Find("random-sub-block");
        var small = SetupLoader.Parse("s.yaml", "setups:\n  e:\n    fs: ext4\n    block-size: 1024\n").Single();
        var kn = SetupLoader.Parse("s.yaml", "setups:\n  e:\n    fs: ext4\n    disk: {sectors: 4kn}\n").Single();
        var oneK = new CaseCatalog(RepoPaths.Cases).Find("tiny") with { };
        var oneKCase = oneK with { Workload = oneK.Workload with { FsBlockSize = 1024 } };

        Assert.Contains("below the setup's block-size 1024", small.CaseProblem(randomSubBlock) ?? "(none)");
        Assert.Contains("fs block 1024 is smaller than the disk's 4096-byte logical sector", kn.CaseProblem(oneKCase) ?? "(none)");
        Assert.Null(kn.CaseProblem(new CaseCatalog(RepoPaths.Cases).Find("tiny")));
    }

    [Theory]
    [InlineData("setups:\n  a:\n    fs: zfs\n", "s.yaml:3:9: setups.a.fs: 'zfs' is not one of: ext4, xfs, btrfs, ocfs2, f2fs, ext2")]
    [InlineData("setups:\n  a:\n    fs: btrfs\n    block-size: 1024\n", "s.yaml:4:17: setups.a.block-size: 1024 is not a block size mkfs accepts for btrfs (4096 to 65536)")]
    [InlineData("setups:\n  a:\n    fs: ext4\n    block-size: 3000\n", "s.yaml:4:17: setups.a.block-size: 3000 must be a power of two")]
    [InlineData("setups:\n  a:\n    fs: ext4\n    block-size: 1024\n    disk: {sectors: 4kn}\n", "setups.a.block-size: 1024 is smaller than the disk's 4096-byte logical sector")]
    [InlineData("setups:\n  a:\n    fs: ext4\n    mkfs-options: [-b, 1024]\n", "setups.a.mkfs-options: '-b' sets what the harness sets itself (the block size); use block-size instead")]
    [InlineData("setups:\n  a:\n    fs: xfs\n    mkfs-options: -s size=4096\n", "setups.a.mkfs-options: '-s' sets what the harness sets itself (the sector size, from disk.sectors); use disk.sectors instead")]
    [InlineData("setups:\n  a:\n    fs: ext4\n    disk: {sectors: 1k}\n", "s.yaml:4:21: setups.a.disk.sectors: '1k' is not one of: 512, 512e, 4kn")]
    [InlineData("setups:\n  a:\n    fs: ext4\n    disk: {bus: ide}\n", "setups.a.disk.bus: 'ide' is not one of: virtio-blk, virtio-scsi, nvme")]
    [InlineData("setups:\n  a:\n    fs: ext4\n    mount-opts: noatime\n", "s.yaml:4:5: setups.a.mount-opts: unknown field; valid fields here:")]
    [InlineData("setups:\n  a:\n    fs: ext4\n    mount-options: \"x;reboot -f\"\n", "setups.a.mount-options: 'x;reboot -f' has a character mount options here may not hold")]
    [InlineData("setups:\n  A B:\n    fs: ext4\n", "setups.A B.name: setup name 'A B' must be lower-case letters, digits, '-' and '_'")]
    [InlineData("setups:\n  a: ext4\n", "s.yaml:2:6: setups.a: expected a mapping of fields")]
    [InlineData("setups: {}\n", "setups: names no setup")]
    [InlineData("setup:\n  a: {fs: ext4}\n", "setups: is required")]
    [InlineData("setups:\n  a: {fs: ext4}\n  a: {fs: xfs}\n", "s.yaml:3:3: (syntax)")]
    public void Bad_setups_are_refused_naming_file_line_and_field(string yaml, string expected)
    {
        var problems = Problems(yaml);

        Assert.Contains(problems, p => p.ToString().Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Mount_options_with_commas_are_one_mount_option_list()
    {
        var s = SetupLoader.Parse("s.yaml", "setups:\n  a:\n    fs: ext4\n    mount-options: dioread_nolock,noatime,commit=5\n").Single();

        Assert.Equal(["dioread_nolock", "noatime", "commit=5"], s.MountOptions);
        Assert.Equal(["dioread_nolock", "noatime", "commit=5"], s.ToFilesystem().MountOptions);
    }

    [Fact]
    public void Unknown_setup_names_are_refused_with_the_valid_ones()
    {
        var all = SetupLoader.Load(ShippedFile);

        var e = Assert.Throws<InputException>(() => SetupLoader.Select(all, ["ext4", "zfs-9k"], "cases/setups/setups.yaml"));
        Assert.Contains("no setup named 'zfs-9k' in cases/setups/setups.yaml; valid: ext4, ext4-dioread_nolock", e.Message);
    }
}
