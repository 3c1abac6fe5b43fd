// The golden model against synthetic disks: clean runs stay clean however in-flight writes
// land, and each corruption class is reported with its sectors, fs blocks and the IOs involved.
using Harness.Golden;
using Harness.Workload;
using Xunit;

namespace Harness.Tests.Golden;

public sealed class GoldenModelTests
{
    [Theory]
    [InlineData(FilePreparation.Sparse)]
    [InlineData(FilePreparation.Unwritten)]
    [InlineData(FilePreparation.Written)]
    [InlineData(FilePreparation.Extending)]
    public void Generic240_stride_plan_read_back_intact_is_clean(FilePreparation preparation)
    {
        var plan = Plans.Generic240(preparation: preparation);
        var ios = SyntheticIos.InFlight(plan, queueDepth: 2);
        var pass = new SyntheticDisk(plan).Land(SyntheticIos.LandingOrder(ios, seed: 3)).Read();

        var judgement = GoldenModel.Judge(plan, ios, pass);

        Assert.True(judgement.Clean, string.Join("\n", judgement.Findings));
        Assert.Equal(plan.ReadbackLength / 512, judgement.SectorsChecked);
        Assert.Equal("after-fsync", judgement.Pass);
    }

    [Fact]
    public void Zeroed_sub_block_is_reported_with_the_two_writers()
    {
        // IO 5 ends with sector 48, the first of fs block 6; IO 6 starts at sector 49. IO 5's
        // sub-block zeroing landing after IO 6's data wipes IO 6's part of the block.
        var plan = Plans.Generic240();
        var ios = SyntheticIos.InFlight(plan, queueDepth: 2);
        var pass = new SyntheticDisk(plan).LandAll().Zero(firstSector: 49, count: 1).Read();

        var judgement = GoldenModel.Judge(plan, ios, pass);

        var finding = Assert.Single(judgement.Findings);
        Assert.Equal(FindingClass.Zeroed, finding.Class);
        Assert.Equal((49L, 1L), (finding.FirstSector, finding.SectorCount));
        Assert.Equal((6L, 6L), (finding.FirstFsBlock, finding.LastFsBlock));
        Assert.Equal([5, 6], finding.IosInFlight);
        Assert.Equal("io 6 (sector 0 of io)", finding.Expected);
        Assert.Equal("zeros", finding.Observed);
    }

    [Fact]
    public void Whole_sub_block_zeroed_is_one_finding()
    {
        var plan = Plans.Generic240();
        var ios = SyntheticIos.InFlight(plan, queueDepth: 2);
        var pass = new SyntheticDisk(plan).LandAll().Zero(firstSector: 49, count: 7).Read();

        var finding = Assert.Single(GoldenModel.Judge(plan, ios, pass).Findings);

        Assert.Equal(FindingClass.Zeroed, finding.Class);
        Assert.Equal((49L, 7L, 6L, 6L), (finding.FirstSector, finding.SectorCount, finding.FirstFsBlock, finding.LastFsBlock));
        Assert.Equal([5, 6], finding.IosInFlight);
        Assert.Equal("io 6 (sectors 0-6 of io)", finding.Expected);
        Assert.Equal((25088L, 3584L), (finding.Offset, finding.Length));
    }

    [Fact]
    public void Finding_prints_like_a_fio_verify_failure()
    {
        var plan = Plans.Generic240();
        var ios = SyntheticIos.InFlight(plan, queueDepth: 2);
        var pass = new SyntheticDisk(plan).LandAll().Zero(firstSector: 49, count: 1).Read();

        var text = Assert.Single(GoldenModel.Judge(plan, ios, pass).Findings).ToString();

        Assert.Equal(
            "Zeroed at file offset 25088 (0x6200), length 512 (sector 49), fs block 6\n" +
            "  expected: io 6 (sector 0 of io)\n" +
            "  observed: zeros\n" +
            "  IOs touching fs block 6: 5, 6",
            text);
    }

    [Fact]
    public void Stale_free_space_in_a_write_and_in_a_hole_is_stale()
    {
        var plan = Plans.Generic240();
        var ios = SyntheticIos.InFlight(plan, queueDepth: 2);
        var pass = new SyntheticDisk(plan).LandAll().Stale(firstSector: 20, count: 2).Stale(firstSector: 0, count: 1).Read();

        var judgement = GoldenModel.Judge(plan, ios, pass);

        Assert.Collection(judgement.Findings,
            hole =>
            {
                Assert.Equal((FindingClass.Stale, 0L, 1L, 0L), (hole.Class, hole.FirstSector, hole.SectorCount, hole.FirstFsBlock));
                Assert.Equal([0], hole.IosInFlight);
                Assert.Equal("baseline zero", hole.Expected);
                Assert.Equal("stale free-space data", hole.Observed);
            },
            inWrite =>
            {
                Assert.Equal((FindingClass.Stale, 20L, 2L, 2L), (inWrite.Class, inWrite.FirstSector, inWrite.SectorCount, inWrite.FirstFsBlock));
                Assert.Equal([1, 2], inWrite.IosInFlight);
                Assert.Equal("io 2 (sectors 3-4 of io)", inWrite.Expected);
            });
    }

    [Fact]
    public void Another_ios_sector_at_the_wrong_offset_is_foreign()
    {
        // Sector 26 is IO 3's sector 1; sector 42 is IO 5's sector 1, in fs block 5 with IO 4's tail.
        var plan = Plans.Generic240();
        var ios = SyntheticIos.InFlight(plan, queueDepth: 2);
        var pass = new SyntheticDisk(plan).LandAll().CopySector(from: 26, to: 42).Read();

        var finding = Assert.Single(GoldenModel.Judge(plan, ios, pass).Findings);

        Assert.Equal((FindingClass.Foreign, 42L, 1L, 5L), (finding.Class, finding.FirstSector, finding.SectorCount, finding.FirstFsBlock));
        Assert.Equal([4, 5], finding.IosInFlight);
        Assert.Equal("io 5 (sector 1 of io)", finding.Expected);
        Assert.Equal("io 3 (sector 1 of io), written for offset 13312", finding.Observed);
    }

    [Fact]
    public void Flipped_byte_in_a_data_sector_is_torn()
    {
        var plan = Plans.Generic240();
        var ios = SyntheticIos.InFlight(plan, queueDepth: 2);
        var pass = new SyntheticDisk(plan).LandAll().FlipByte(sector: 30).Read();

        var finding = Assert.Single(GoldenModel.Judge(plan, ios, pass).Findings);

        Assert.Equal((FindingClass.Torn, 30L, 1L, 3L), (finding.Class, finding.FirstSector, finding.SectorCount, finding.FirstFsBlock));
        Assert.Equal([2, 3], finding.IosInFlight);
        Assert.Equal("io 3 (sector 5 of io), checksum mismatch", finding.Observed);
    }

    [Fact]
    public void Sector_without_a_harness_header_is_torn()
    {
        var plan = Plans.Generic240();
        var ios = SyntheticIos.InFlight(plan, queueDepth: 2);
        var pass = new SyntheticDisk(plan).LandAll().FlipByte(sector: 30, byteInSector: 0).Read();

        var finding = Assert.Single(GoldenModel.Judge(plan, ios, pass).Findings);

        Assert.Equal((FindingClass.Torn, 30L), (finding.Class, finding.FirstSector));
        Assert.Equal("garbage (no harness sector header)", finding.Observed);
    }

    [Fact]
    public void Prewritten_pattern_where_an_acknowledged_write_belongs_is_a_lost_write()
    {
        // IO 4 covers sectors 33-40: the tail of fs block 4 and the head of fs block 5.
        var plan = Plans.Generic240(preparation: FilePreparation.Written);
        var ios = SyntheticIos.InFlight(plan, queueDepth: 2);
        var pass = new SyntheticDisk(plan).LandAll().RestoreBaseline(firstSector: 33, count: 8).Read();

        var finding = Assert.Single(GoldenModel.Judge(plan, ios, pass).Findings);

        Assert.Equal((FindingClass.LostWrite, 33L, 8L), (finding.Class, finding.FirstSector, finding.SectorCount));
        Assert.Equal((4L, 5L), (finding.FirstFsBlock, finding.LastFsBlock));
        Assert.Equal([3, 4, 5], finding.IosInFlight);
        Assert.Equal("io 4 (sectors 0-7 of io)", finding.Expected);
        Assert.Equal("prewritten pattern", finding.Observed);
    }

    [Fact]
    public void Truncated_extending_file_is_a_lost_write_up_to_the_acknowledged_end()
    {
        // 16 IOs end at byte 66048 (sector 129); cut at 40960 (sector 80, IO 9's last sector).
        var plan = Plans.Generic240(ioCount: 16, preparation: FilePreparation.Extending);
        var ios = SyntheticIos.InFlight(plan, queueDepth: 2);
        var pass = new SyntheticDisk(plan).LandAll().Truncate(40960).Read();

        var findings = GoldenModel.Judge(plan, ios, pass).Findings;

        Assert.Equal([FindingClass.LostWrite, FindingClass.Size], findings.Select(f => f.Class));
        var size = findings[1];
        Assert.Equal((80L, 49L), (size.FirstSector, size.SectorCount));
        Assert.Equal("file size 66048 bytes (prepared 0, acknowledged writes end at 66048)", size.Expected);
        Assert.Equal("file size 40960 bytes (short by 25088)", size.Observed);
        var finding = findings[0];
        Assert.Equal((FindingClass.LostWrite, 80L, 49L), (finding.Class, finding.FirstSector, finding.SectorCount));
        Assert.Equal((10L, 16L), (finding.FirstFsBlock, finding.LastFsBlock));
        Assert.Equal([9, 10, 11, 12, 13, 14, 15], finding.IosInFlight);
        Assert.Equal("io 9 (sector 7 of io); io 10 (sectors 0-7 of io); io 11 (sectors 0-7 of io); ... (7 pieces)", finding.Expected);
        Assert.Equal("beyond end of file", finding.Observed);
    }

    [Fact]
    public void Whole_block_of_zeros_on_a_sparse_file_is_a_lost_write()
    {
        // Block-aligned IOs: nothing else in the block, so the write vanished rather than being zeroed over.
        var plan = Plans.Aligned();
        var ios = SyntheticIos.Sequential(plan);
        var pass = new SyntheticDisk(plan).LandAll().Zero(firstSector: 24, count: 8).Read();

        var finding = Assert.Single(GoldenModel.Judge(plan, ios, pass).Findings);

        Assert.Equal((FindingClass.LostWrite, 24L, 8L, 3L, 3L), (finding.Class, finding.FirstSector, finding.SectorCount, finding.FirstFsBlock, finding.LastFsBlock));
        Assert.Equal([3], finding.IosInFlight);
        Assert.Equal("io 3 (sectors 0-7 of io)", finding.Expected);
    }

    [Fact]
    public void Zeros_over_the_prewritten_baseline_are_zeroed()
    {
        var plan = Plans.Generic240(preparation: FilePreparation.Written);
        var ios = SyntheticIos.InFlight(plan, queueDepth: 2);
        var pass = new SyntheticDisk(plan).LandAll().Zero(firstSector: 0, count: 1).Read();

        var finding = Assert.Single(GoldenModel.Judge(plan, ios, pass).Findings);

        Assert.Equal((FindingClass.Zeroed, 0L, 1L), (finding.Class, finding.FirstSector, finding.SectorCount));
        Assert.Equal("baseline prewritten pattern", finding.Expected);
    }

    [Theory]
    [InlineData(FilePreparation.Sparse, 1UL)]
    [InlineData(FilePreparation.Sparse, 2UL)]
    [InlineData(FilePreparation.Written, 3UL)]
    [InlineData(FilePreparation.Unwritten, 4UL)]
    [InlineData(FilePreparation.Extending, 5UL)]
    public void Overlapping_writes_in_flight_never_raise_a_false_alarm(FilePreparation preparation, ulong seed)
    {
        var plan = Plans.Overlap(preparation, seed);
        var ios = SyntheticIos.InFlight(plan, queueDepth: 4);

        foreach (var order in new ulong[] { 11, 12, 13, 14 })
        {
            var pass = new SyntheticDisk(plan).Land(SyntheticIos.LandingOrder(ios, seed * 100 + order)).Read();

            var judgement = GoldenModel.Judge(plan, ios, pass);

            Assert.True(judgement.Clean, string.Join("\n", judgement.Findings));
        }
    }

    [Theory]
    [InlineData(FilePreparation.Sparse, 21UL)]
    [InlineData(FilePreparation.Unwritten, 22UL)]
    [InlineData(FilePreparation.Written, 23UL)]
    public void Sub_block_pieces_in_flight_together_land_in_any_order_cleanly(FilePreparation preparation, ulong seed)
    {
        var plan = Plans.RandomSubBlock(preparation, seed);
        var ios = SyntheticIos.InFlight(plan, queueDepth: 8);
        var pass = new SyntheticDisk(plan).Land(SyntheticIos.LandingOrder(ios, seed)).Read();

        var judgement = GoldenModel.Judge(plan, ios, pass);

        Assert.True(judgement.Clean, string.Join("\n", judgement.Findings));
    }

    [Fact]
    public void Two_writes_in_flight_over_the_same_sectors_may_land_either_way()
    {
        var plan = Plans.Handmade(FilePreparation.Sparse, (4096, 4096), (6144, 4096));
        var ios = SyntheticIos.InFlight(plan, queueDepth: 2);

        var firstWins = GoldenModel.Judge(plan, ios, new SyntheticDisk(plan).Land([1, 0]).Read());
        var secondWins = GoldenModel.Judge(plan, ios, new SyntheticDisk(plan).Land([0, 1]).Read());

        Assert.True(firstWins.Clean, string.Join("\n", firstWins.Findings));
        Assert.True(secondWins.Clean, string.Join("\n", secondWins.Findings));
    }

    [Fact]
    public void Older_write_showing_over_one_submitted_after_it_completed_is_a_lost_write()
    {
        // IO 1 was submitted after IO 0 was reaped, so IO 1 must win on sectors 12-15.
        var plan = Plans.Handmade(FilePreparation.Sparse, (4096, 4096), (6144, 4096));
        var ios = SyntheticIos.Sequential(plan);
        var pass = new SyntheticDisk(plan).Land([1, 0]).Read();

        var finding = Assert.Single(GoldenModel.Judge(plan, ios, pass).Findings);

        Assert.Equal((FindingClass.LostWrite, 12L, 4L, 1L, 1L), (finding.Class, finding.FirstSector, finding.SectorCount, finding.FirstFsBlock, finding.LastFsBlock));
        Assert.Equal([0, 1], finding.IosInFlight);
        Assert.Equal("io 1 (sectors 0-3 of io)", finding.Expected);
        Assert.Equal("io 0 (sectors 4-7 of io)", finding.Observed);
    }

    [Theory]
    [InlineData(-5L, false)]
    [InlineData(-5L, true)]
    [InlineData(0L, false)]
    [InlineData(0L, true)]
    public void Errored_io_may_or_may_not_have_landed(long result, bool landed)
    {
        var plan = Plans.Generic240(preparation: FilePreparation.Written);
        var ios = SyntheticIos.InFlight(plan, queueDepth: 2).WithResult(4, result);
        var disk = new SyntheticDisk(plan).Land(Enumerable.Range(0, plan.Ios.Count).Where(i => landed || i != 4));

        var judgement = GoldenModel.Judge(plan, ios, disk.Read());

        Assert.True(judgement.Clean, string.Join("\n", judgement.Findings));
    }

    [Fact]
    public void Short_write_must_hold_its_acknowledged_head_and_may_hold_its_tail()
    {
        // IO 4 (4096 bytes) came back with 2048: its first four sectors are acknowledged.
        var plan = Plans.Generic240(preparation: FilePreparation.Written);
        var ios = SyntheticIos.InFlight(plan, queueDepth: 2).WithResult(4, 2048);
        var io4 = plan.Ios[4];
        var headOnly = new SyntheticDisk(plan).LandAll().RestoreBaseline(io4.Offset / 512 + 4, 4);
        var nothing = new SyntheticDisk(plan).Land(Enumerable.Range(0, plan.Ios.Count).Where(i => i != 4));

        var clean = GoldenModel.Judge(plan, ios, headOnly.Read());
        var lost = GoldenModel.Judge(plan, ios, nothing.Read());

        Assert.True(clean.Clean, string.Join("\n", clean.Findings));
        var finding = Assert.Single(lost.Findings);
        Assert.Equal((FindingClass.LostWrite, io4.Offset / 512, 4L), (finding.Class, finding.FirstSector, finding.SectorCount));
        Assert.Equal("io 4 (sectors 0-3 of io)", finding.Expected);
    }

    [Fact]
    public void Short_write_extends_an_extending_file_by_its_head_only()
    {
        var plan = Plans.Generic240(ioCount: 16, preparation: FilePreparation.Extending);
        var ios = SyntheticIos.InFlight(plan, queueDepth: 2).WithResult(15, 1024);
        var (min, max) = GoldenModel.ExpectedFileSize(plan, ios);
        var full = new SyntheticDisk(plan).LandAll().Read();

        var judgement = GoldenModel.Judge(plan, ios, full);

        Assert.Equal((plan.Ios[15].Offset + 1024, plan.Ios[15].Offset + 1024), (min, max));
        var size = Assert.Single(judgement.Findings);
        Assert.Equal(FindingClass.Size, size.Class);
        Assert.Contains("long by 3072", size.Observed, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(FilePreparation.Sparse)]
    [InlineData(FilePreparation.Written)]
    [InlineData(FilePreparation.Extending)]
    public void File_grown_past_its_expected_size_is_a_size_finding(FilePreparation preparation)
    {
        var plan = Plans.Generic240(ioCount: 16, preparation: preparation);
        var ios = SyntheticIos.InFlight(plan, queueDepth: 2);
        var (expected, _) = GoldenModel.ExpectedFileSize(plan, ios);
        var pass = new SyntheticDisk(plan).LandAll().Read();
        var grown = pass with { FileSize = expected + 4096 };

        Assert.True(GoldenModel.Judge(plan, ios, pass).Clean);
        var finding = Assert.Single(GoldenModel.Judge(plan, ios, grown).Findings);
        Assert.Equal(FindingClass.Size, finding.Class);
        Assert.Equal(expected / 512, finding.FirstSector);
        Assert.Equal(8, finding.SectorCount);
    }

    [Fact]
    public void Failed_extending_write_does_not_extend_the_expected_size()
    {
        var plan = Plans.Generic240(ioCount: 16, preparation: FilePreparation.Extending);
        var ios = SyntheticIos.InFlight(plan, queueDepth: 2).WithResult(15, -5);

        var (min, max) = GoldenModel.ExpectedFileSize(plan, ios);

        Assert.Equal((plan.Ios[14].End, plan.Ios[14].End), (min, max));
    }

    [Fact]
    public void Errored_last_write_of_an_extending_file_may_be_missing()
    {
        var plan = Plans.Generic240(ioCount: 16, preparation: FilePreparation.Extending);
        var ios = SyntheticIos.InFlight(plan, queueDepth: 2).WithResult(15, -5);
        var pass = new SyntheticDisk(plan).Land(Enumerable.Range(0, 15)).Read();

        var judgement = GoldenModel.Judge(plan, ios, pass);

        Assert.True(judgement.Clean, string.Join("\n", judgement.Findings));
    }

    [Fact]
    public void Gap_below_the_acknowledged_end_of_an_extending_file_must_read_zero()
    {
        var plan = Plans.Handmade(FilePreparation.Extending, (0, 4096), (16384, 4096));
        var ios = SyntheticIos.Sequential(plan);
        var pass = new SyntheticDisk(plan).LandAll().Stale(firstSector: 10, count: 1).Read();

        var finding = Assert.Single(GoldenModel.Judge(plan, ios, pass).Findings);

        Assert.Equal((FindingClass.Stale, 10L, 1L), (finding.Class, finding.FirstSector, finding.SectorCount));
        Assert.Equal("zeros (gap below the acknowledged end of file)", finding.Expected);
    }

    [Fact]
    public void A_64_MiB_clean_plan_is_clean()
    {
        var plan = Plans.Generic240(ioCount: 16383);
        var ios = SyntheticIos.InFlight(plan, queueDepth: 2);
        var pass = new SyntheticDisk(plan).LandAll().Read();

        var judgement = GoldenModel.Judge(plan, ios, pass);

        Assert.True(judgement.Clean, string.Join("\n", judgement.Findings.Take(5)));
        Assert.Equal(64L * 1024 * 1024 / 512, judgement.SectorsChecked);
    }
}
