// The explorer's generator: every drawn workload is a case the loader accepts and that fits the
// image (property over many seeds and every filesystem), the same seed replays the same
// workloads, and the draws cover the vocabulary (patterns, preparations, aligned and not, QD 1 and more).
using Harness.Cases;
using Harness.Explore;
using Harness.Filesystems;
using Harness.Workload;
using Xunit;

namespace Harness.Tests.Explore;

public sealed class WorkloadGeneratorTests
{
    private const long Image = 512L << 20;

    [Fact]
    public void Every_workload_over_many_seeds_is_a_valid_case_that_fits_the_image()
    {
        var drawn = 0;
        foreach (var fs in FilesystemCatalog.All)
        {
            for (ulong seed = 1; seed <= 40; seed++)
            {
                var generator = new WorkloadGenerator(seed, fs, Image);
                for (var i = 0; i < 25; i++)
                {
                    var w = generator.Generate(i);
                    // The recorded text loads on its own to the same workload (what a user copies into cases/).
                    var again = CaseLoader.Parse("again.yaml", w.Yaml);
                    Assert.Equal(w.Case.Workload, again.Workload);
                    Assert.Equal(w.Seed, again.Workload.Seed);
                    Assert.Empty(CasePreflight.Check(again, fs, Image));
                    Assert.InRange(w.Case.Workload.FsBlockSize, fs.MinBlockSize, fs.MaxBlockSize);
                    Assert.True(PlanBuilder.Build(w.Case.Workload, 0).Ios.Count >= 1, w.Yaml);
                    drawn++;
                }
            }
        }
        Assert.Equal(FilesystemCatalog.All.Count * 40 * 25, drawn);
    }

    [Fact]
    public void The_same_seed_gives_the_same_workloads_and_another_seed_others()
    {
        var ext4 = FilesystemCatalog.Find("ext4");
        var a = Enumerable.Range(0, 50).Select(i => new WorkloadGenerator(42, ext4, Image).Generate(i).Yaml).ToArray();
        var b = Enumerable.Range(0, 50).Select(new WorkloadGenerator(42, ext4, Image).Generate).Select(w => w.Yaml).Reverse().Reverse().ToArray();
        var c = Enumerable.Range(0, 50).Select(i => new WorkloadGenerator(43, ext4, Image).Generate(i).Yaml).ToArray();

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        // Workload i does not depend on the ones before it: one workload replays alone.
        Assert.Equal(a[17], new WorkloadGenerator(42, ext4, Image).Generate(17).Yaml);
    }

    [Fact]
    public void Draws_cover_the_vocabulary()
    {
        var all = Enumerable.Range(0, 400).Select(new WorkloadGenerator(7, FilesystemCatalog.Find("ext4"), Image).Generate).Select(w => w.Case.Workload).ToArray();

        Assert.Equal(Enum.GetValues<IoPattern>().Order(), all.Select(w => w.Pattern).Distinct().Order());
        Assert.Equal(Enum.GetValues<FilePreparation>().Order(), all.Select(w => w.Preparation).Distinct().Order());
        Assert.Equal([1024, 2048, 4096], all.Select(w => w.FsBlockSize).Distinct().Order());
        Assert.Contains(all, w => w.IoSize % w.FsBlockSize != 0);          // unaligned to the block
        Assert.Contains(all, w => w.IoSize > w.FsBlockSize);               // several blocks
        Assert.Contains(all, w => w.IoSize == 512);
        Assert.Contains(all, w => w.Alignment > 512);
        Assert.Contains(all, w => w.Pattern == IoPattern.Stride && w.Stride < w.IoSize); // overlapping neighbours
        Assert.Contains(all, w => w.Pattern == IoPattern.Stride && w.Stride > w.IoSize); // gaps
        Assert.Contains(all, w => w.QueueDepth == 1);
        Assert.Contains(all, w => w.QueueDepth >= 32);
        Assert.Contains(all, w => w.DirtyBytes == 0);
        Assert.Contains(all, w => w.DirtyBytes > 0);
    }

    [Fact]
    public void Filesystems_with_one_block_size_get_only_that_one()
    {
        var btrfs = Enumerable.Range(0, 100).Select(new WorkloadGenerator(3, FilesystemCatalog.Find("btrfs"), Image).Generate).ToArray();
        Assert.All(btrfs, w => Assert.Equal(4096, w.Case.Workload.FsBlockSize));
    }
}
