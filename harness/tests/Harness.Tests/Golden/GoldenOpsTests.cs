// The golden model's rules for the ops issued beside the writes (issue 13 part 2), pinned on
// hand-built histories before the explorer trusts them: for each rule, the legal outcomes are
// clean (including both orders of an op and a write in flight together), and a planted
// violation (stale data, a wrong or superseded write's data, non-zero in a punched hole, a
// wrong size) is caught with the right class.
using Harness.Golden;
using Harness.Workload;
using Xunit;

namespace Harness.Tests.Golden;

public sealed class GoldenOpsTests
{
    private const int Block = Plans.Block;
    private const int SectorsPerBlock = Block / 512;

    private static WorkloadPlan WithOps(WorkloadPlan plan, params PlannedOp[] ops) => plan with { Spec = plan.Spec with { Ops = ops } };

    private static IoRecord Io(int index, long submit, long complete, int length = Block) => new(index, submit, complete, length, submit, complete);

    private static OpRecord Op(int index, long start, long end, long result = 0) => new(index, start, end, result, start, end);

    private static PassJudgement Judge(WorkloadPlan plan, IoRecord[] ios, OpRecord[] ops, SyntheticDisk disk) =>
        GoldenModel.Judge(plan, ios, ops, disk.Read());

    // io 0 then io 1 over block 0 (io 0 reaped before io 1 was submitted); a punch of block 0
    // that started while io 1 was in flight and ended before io 1 was reaped.
    private static (WorkloadPlan Plan, IoRecord[] Ios, OpRecord[] Ops) PunchInFlight()
    {
        var plan = WithOps(Plans.Handmade(FilePreparation.Sparse, (0, Block), (0, Block)), new PlannedOp(0, OpKind.PunchHole, 1, 0, Block));
        return (plan, [Io(0, 1, 2), Io(1, 3, 6)], [Op(0, 4, 5)]);
    }

    [Fact]
    public void Punch_in_flight_with_a_write_allows_zeros_or_that_writes_data()
    {
        var (plan, ios, ops) = PunchInFlight();

        var punchLast = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(0, 1).Zero(0, SectorsPerBlock));
        var writeLast = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(0, 1));

        Assert.True(punchLast.Clean, string.Join("\n", punchLast.Findings));
        Assert.True(writeLast.Clean, string.Join("\n", writeLast.Findings));
    }

    [Fact]
    public void Punch_in_flight_never_allows_data_from_before_it_planted_stale_and_old_write()
    {
        var (plan, ios, ops) = PunchInFlight();

        var stale = Judge(plan, ios, ops, new SyntheticDisk(plan).Stale(0, SectorsPerBlock));
        var oldWrite = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(0));

        Assert.Equal(FindingClass.Stale, Assert.Single(stale.Findings).Class);
        var lost = Assert.Single(oldWrite.Findings);
        Assert.Equal(FindingClass.LostWrite, lost.Class);
        Assert.Contains("or zeros", lost.Expected, StringComparison.Ordinal);
    }

    [Fact]
    public void Punch_after_every_write_must_read_zeros_planted_non_zero_in_the_hole()
    {
        var plan = WithOps(Plans.Handmade(FilePreparation.Sparse, (0, 2 * Block)), new PlannedOp(0, OpKind.PunchHole, 0, Block, Block));
        IoRecord[] ios = [Io(0, 1, 2, 2 * Block)];
        OpRecord[] ops = [Op(0, 3, 4)];

        var clean = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(0).Zero(SectorsPerBlock, SectorsPerBlock));
        var notPunched = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(0));

        Assert.True(clean.Clean, string.Join("\n", clean.Findings));
        var finding = Assert.Single(notPunched.Findings);
        Assert.Equal(FindingClass.LostWrite, finding.Class);
        Assert.Equal((long)SectorsPerBlock, finding.FirstSector);
        Assert.Equal((long)SectorsPerBlock, finding.SectorCount);
        Assert.StartsWith("zeros (a punch-hole", finding.Expected, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_submitted_after_the_punch_ended_must_be_there_planted_zeros()
    {
        var plan = WithOps(Plans.Handmade(FilePreparation.Sparse, (0, Block)), new PlannedOp(0, OpKind.PunchHole, 0, 0, Block));
        IoRecord[] ios = [Io(0, 3, 4)];
        OpRecord[] ops = [Op(0, 1, 2)];

        var clean = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(0));
        var zeroed = Judge(plan, ios, ops, new SyntheticDisk(plan));

        Assert.True(clean.Clean, string.Join("\n", clean.Findings));
        Assert.Equal(FindingClass.LostWrite, Assert.Single(zeroed.Findings).Class);
    }

    [Fact]
    public void Punch_of_a_prewritten_file_leaves_zeros_not_the_old_pattern()
    {
        var plan = WithOps(Plans.Handmade(FilePreparation.Written, (0, Block)), new PlannedOp(0, OpKind.PunchHole, 0, 2 * Block, Block));
        IoRecord[] ios = [Io(0, 1, 2)];
        OpRecord[] ops = [Op(0, 3, 4)];

        var clean = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(0).Zero(2 * SectorsPerBlock, SectorsPerBlock));
        var old = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(0));

        Assert.True(clean.Clean, string.Join("\n", clean.Findings));
        Assert.Equal(FindingClass.LostWrite, Assert.Single(old.Findings).Class);
    }

    [Fact]
    public void Zero_range_is_zeros_unless_a_later_completing_write_covers_it()
    {
        // io 0 over block 0, reaped before the zero-range started; io 1 over block 1, in flight with it.
        var plan = WithOps(Plans.Handmade(FilePreparation.Sparse, (0, Block), (Block, Block)), new PlannedOp(0, OpKind.ZeroRange, 1, 0, 2 * Block));
        IoRecord[] ios = [Io(0, 1, 2), Io(1, 3, 8)];
        OpRecord[] ops = [Op(0, 5, 6)];

        var writeLast = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(1));
        var zeroLast = Judge(plan, ios, ops, new SyntheticDisk(plan));
        var oldData = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(0, 1));

        Assert.True(writeLast.Clean, string.Join("\n", writeLast.Findings));
        Assert.True(zeroLast.Clean, string.Join("\n", zeroLast.Findings));
        var finding = Assert.Single(oldData.Findings);
        Assert.Equal(FindingClass.LostWrite, finding.Class);
        Assert.Equal((0L, (long)SectorsPerBlock), (finding.FirstSector, finding.SectorCount));
    }

    [Fact]
    public void Wrong_writes_data_in_a_sector_an_op_raced_is_foreign()
    {
        var (plan, ios, ops) = PunchInFlight();
        // Block 1 is no one's: copy io 1's first sector there... and io 1's sector 1 over its sector 0.
        var disk = new SyntheticDisk(plan).LandWriters(1).CopySector(1, 0);

        var finding = Assert.Single(Judge(plan, ios, ops, disk).Findings);

        Assert.Equal(FindingClass.Foreign, finding.Class);
        Assert.Equal(0L, finding.FirstSector);
    }

    // 16 KiB file written whole by io 0 (4 blocks); truncate down to 1 block after it was reaped,
    // then up to 3 blocks: block 1-2 must read zeros, block 3 is past EOF.
    [Fact]
    public void Truncate_down_after_every_write_then_up_reads_zeros_past_the_cut()
    {
        var plan = WithOps(Plans.Handmade(FilePreparation.Sparse, (0, 4 * Block)) is var p ? p with { Spec = p.Spec with { FileSize = 4 * Block } } : null!,
            new PlannedOp(0, OpKind.Truncate, 0, Block, 0), new PlannedOp(1, OpKind.Truncate, 0, 3 * Block, 0));
        IoRecord[] ios = [Io(0, 1, 2, 4 * Block)];
        OpRecord[] ops = [Op(0, 3, 4), Op(1, 5, 6)];

        var clean = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(0).Truncate(Block).Truncate(3 * Block));
        var staleAfterUp = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(0).Truncate(3 * Block));
        var wrongSize = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(0).Truncate(Block).Truncate(4 * Block));

        Assert.True(clean.Clean, string.Join("\n", clean.Findings));
        var old = Assert.Single(staleAfterUp.Findings);
        Assert.Equal(FindingClass.LostWrite, old.Class);
        Assert.Equal(((long)SectorsPerBlock, 2L * SectorsPerBlock), (old.FirstSector, old.SectorCount));
        var size = Assert.Single(wrongSize.Findings);
        Assert.Equal(FindingClass.Size, size.Class);
        Assert.Contains("file size 12288 bytes", size.Expected, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncate_down_last_leaves_the_tail_beyond_end_of_file_planted_a_long_file()
    {
        var plan = WithOps(Plans.Handmade(FilePreparation.Sparse, (0, 2 * Block)), new PlannedOp(0, OpKind.Truncate, 0, Block, 0));
        IoRecord[] ios = [Io(0, 1, 2, 2 * Block)];
        OpRecord[] ops = [Op(0, 3, 4)];

        var clean = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(0).Truncate(Block));
        var notCut = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(0));

        Assert.True(clean.Clean, string.Join("\n", clean.Findings));
        Assert.Contains(notCut.Findings, f => f.Class == FindingClass.Size);
        Assert.Contains(notCut.Findings, f => f.Class == FindingClass.LostWrite && f.FirstSector == SectorsPerBlock);
    }

    [Fact]
    public void Truncate_in_flight_with_an_extending_write_allows_either_order_never_stale()
    {
        // File of 1 block prepared... io 0 writes block 3 while a truncate to 1 block runs.
        var plan = WithOps(Plans.Handmade(FilePreparation.Sparse, (3 * Block, Block)), new PlannedOp(0, OpKind.Truncate, 0, Block, 0));
        IoRecord[] ios = [Io(0, 1, 4)];
        OpRecord[] ops = [Op(0, 2, 3)];

        var truncateLast = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(0).Truncate(Block));
        var writeLast = Judge(plan, ios, ops, new SyntheticDisk(plan).Truncate(Block).LandWriters(0));
        var stale = Judge(plan, ios, ops, new SyntheticDisk(plan).Truncate(Block).LandWriters(0).Stale(SectorsPerBlock, 1));

        Assert.True(truncateLast.Clean, string.Join("\n", truncateLast.Findings));
        Assert.True(writeLast.Clean, string.Join("\n", writeLast.Findings));
        Assert.Equal(FindingClass.Stale, Assert.Single(stale.Findings).Class);
    }

    [Fact]
    public void Failed_punch_is_not_done_planted_zeros_where_the_write_must_be()
    {
        var plan = WithOps(Plans.Handmade(FilePreparation.Sparse, (0, Block)), new PlannedOp(0, OpKind.PunchHole, 0, 0, Block));
        IoRecord[] ios = [Io(0, 1, 2)];
        OpRecord[] ops = [Op(0, 3, 4, -LinuxErrno.EOPNOTSUPP)];

        var clean = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(0));
        var zeroed = Judge(plan, ios, ops, new SyntheticDisk(plan));

        Assert.True(clean.Clean, string.Join("\n", clean.Findings));
        Assert.Equal(FindingClass.LostWrite, Assert.Single(zeroed.Findings).Class);
    }

    [Fact]
    public void Buffered_write_is_a_writer_of_its_own_planted_lost_and_wrong_data()
    {
        // io 0 over block 0; a buffered write (writer 1) over block 2 while io 0 is in flight.
        var plan = WithOps(Plans.Handmade(FilePreparation.Sparse, (0, Block)), new PlannedOp(0, OpKind.BufferedWrite, 0, 2 * Block, Block));
        Assert.Equal(1, plan.WriterOf(0));
        IoRecord[] ios = [Io(0, 1, 4)];
        OpRecord[] ops = [Op(0, 2, 3, Block)];

        var clean = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(0, 1));
        var lost = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(0));
        var wrong = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(0, 1).CopySector(0, 2 * SectorsPerBlock));

        Assert.True(clean.Clean, string.Join("\n", clean.Findings));
        Assert.Equal(FindingClass.LostWrite, Assert.Single(lost.Findings).Class);
        Assert.Equal(FindingClass.Foreign, Assert.Single(wrong.Findings).Class);
    }

    [Fact]
    public void Fsync_and_fallocate_change_no_content_planted_zeros_over_a_write()
    {
        var plan = WithOps(Plans.Handmade(FilePreparation.Sparse, (0, Block)),
            new PlannedOp(0, OpKind.FallocateKeepSize, 0, 0, 2 * Block), new PlannedOp(1, OpKind.Fsync, 0, 0, 0), new PlannedOp(2, OpKind.Fallocate, 0, Block, Block));
        IoRecord[] ios = [Io(0, 1, 8)];
        OpRecord[] ops = [Op(0, 2, 3), Op(1, 4, 5), Op(2, 6, 7)];

        var clean = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(0));
        var zeroed = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(0).Zero(2, 1));

        Assert.True(clean.Clean, string.Join("\n", clean.Findings));
        Assert.Equal(FindingClass.Zeroed, Assert.Single(zeroed.Findings).Class);
    }

    [Fact]
    public void Fallocate_after_a_truncate_down_extends_the_size()
    {
        var plan = WithOps(Plans.Handmade(FilePreparation.Sparse, (0, Block)),
            new PlannedOp(0, OpKind.Truncate, 0, Block, 0), new PlannedOp(1, OpKind.Fallocate, 0, Block, 2 * Block));
        IoRecord[] ios = [Io(0, 1, 2)];
        OpRecord[] ops = [Op(0, 3, 4), Op(1, 5, 6)];

        var clean = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(0).Truncate(Block).Truncate(3 * Block));
        var notExtended = Judge(plan, ios, ops, new SyntheticDisk(plan).LandWriters(0).Truncate(Block));

        Assert.True(clean.Clean, string.Join("\n", clean.Findings));
        Assert.Contains(notExtended.Findings, f => f.Class == FindingClass.Size && f.Expected.StartsWith("file size 12288 bytes", StringComparison.Ordinal));
        Assert.Contains(notExtended.Findings, f => f.Class == FindingClass.LostWrite && f.Observed == "beyond end of file");
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public void Any_landing_order_the_records_allow_is_clean_with_ops_racing_an_overlap_plan(ulong seed)
    {
        // Overlapping writes, 4 in flight, with a punch and a zero-range landing at random points
        // inside their own intervals: whatever order results must be legal.
        var basePlan = Plans.Overlap(FilePreparation.Sparse, seed, ioCount: 60);
        var plan = WithOps(basePlan, new PlannedOp(0, OpKind.PunchHole, 10, 0, 16 * Block), new PlannedOp(1, OpKind.ZeroRange, 30, 8 * Block, 8 * Block));
        var ios = SyntheticIos.InFlight(plan, 4);
        // Ops take the sequence numbers around IO 12's and IO 40's submit, overlapping a few IOs.
        OpRecord[] ops = [Op(0, ios[12].SubmitSeq - 1, ios[14].CompleteSeq + 1), Op(1, ios[40].SubmitSeq + 1, ios[41].CompleteSeq - 1)];
        ios = ios.Select(r => r with { SubmitSeq = r.SubmitSeq * 10, CompleteSeq = r.CompleteSeq * 10 }).ToArray();
        ops = ops.Select(o => o with { StartSeq = o.StartSeq * 10 + 5, EndSeq = o.EndSeq * 10 + 5 }).ToArray();

        var events = ios.Select(r => (At: r.SubmitSeq + (r.CompleteSeq - r.SubmitSeq) * ((seed * 7 + (ulong)r.Index) % 10 / 10.0), Io: r.Index, Op: -1))
            .Concat(ops.Select(o => (At: o.StartSeq + (o.EndSeq - o.StartSeq) * 0.5, Io: -1, Op: o.Index)))
            .OrderBy(e => e.At);
        var disk = new SyntheticDisk(plan);
        foreach (var e in events)
        {
            if (e.Io >= 0) disk.LandWriters(e.Io);
            else disk.Zero(plan.Ops[e.Op].Offset / 512, plan.Ops[e.Op].Length / 512);
        }

        var judgement = GoldenModel.Judge(plan, ios, ops, disk.Read());

        Assert.True(judgement.Clean, string.Join("\n", judgement.Findings));
    }
}
