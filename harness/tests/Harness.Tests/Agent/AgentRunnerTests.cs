// The agent's write and read-back phases against a real O_DIRECT file on /tmp (ext4) and the
// real libaio, in process. The host kernel is correct, so every IO must read back intact.
using Harness.Agent;
using Harness.Workload;
using Xunit;

namespace Harness.Tests.Agent;

public sealed class AgentRunnerTests : IDisposable
{
    // generic/240's shape, scaled to the seed case: fs-block IOs one sector off block alignment.
    private static readonly WorkloadSpec Seed = new(
        FileSize: 8L << 20, FsBlockSize: 4096, IoSize: 4096, Alignment: 512, Pattern: IoPattern.Stride,
        Stride: 4096, Start: 512, QueueDepth: 16, IoCount: 1024, Preparation: FilePreparation.Sparse,
        DirtyBytes: 16L << 20, Seed: 240);

    private readonly TempDirectory _temp = new();
    private readonly AgentRunner _runner = new(AgentEnvironment.Linux, TextWriter.Null);

    public void Dispose() => _temp.Dispose();

    private AgentRequest Request(WorkloadSpec spec, AgentPhase phase = AgentPhase.Write, bool dropCaches = false) =>
        new(phase, _temp.Path, "data", spec, Iteration: 3, DropCaches: dropCaches);

    [Fact]
    public async Task Workload_on_a_real_O_DIRECT_file_reads_back_every_io()
    {
        var plan = PlanBuilder.Build(Seed, 3);

        var report = await _runner.RunAsync(Request(Seed), CancellationToken.None);

        Assert.Null(report.Error);
        Assert.Equal(AgentPhase.Write, report.Phase);
        Assert.Equal(plan.Ios.Count, report.Ios.Count);
        Assert.All(report.Ios, io => Assert.Equal(plan.Ios[io.Index].Length, io.Result));
        var pass = Assert.Single(report.Passes);
        Assert.Equal("after-fsync", pass.Name);
        Assert.Equal(Seed.FileSize, pass.FileSize);
        Assert.Empty(ReadbackExpectations.Mismatches(pass, plan, ReadbackExpectations.Zero));
        Assert.Equal(SectorKind.Zero, pass.Runs[0].Kind); // sector 0 is never written
        Assert.Equal(0, pass.Runs[0].FirstSector);
        Assert.True(report.WorkloadSeconds > 0);
        Assert.False(File.Exists(Path.Combine(_temp.Path, ".harness-dirt")));
    }

    [Fact]
    public async Task Write_phase_reports_the_direct_io_alignment_and_the_filesystem_size()
    {
        var report = await _runner.RunAsync(Request(Seed with { DirtyBytes = 0 }), CancellationToken.None);

        Assert.Null(report.Error);
        Assert.Null(report.SkipReason);
        var alignment = Assert.IsType<DioAlignment>(report.Alignment);
        // The host kernel (>= 6.1) reports STATX_DIOALIGN for ext4 on a 512-byte virtio disk.
        Assert.Equal((AlignmentSource.Statx, 512), (alignment.Source, alignment.OffsetAlign));
        Assert.True(report.FilesystemBytes > report.FilesystemFreeBytes && report.FilesystemFreeBytes > 0);
        var reuse = Assert.IsType<DirtReuse>(report.DirtReuse);
        Assert.Equal(0, reuse.DirtBlocks);
        Assert.Equal(0, reuse.ReusedBlocks);
        Assert.Equal(Seed.IoCount + 1, reuse.TargetBlocks); // IOs 0..1023 touch blocks 0..1024
    }

    [Fact]
    public void Logical_block_size_comes_from_sysfs_for_a_disk_and_for_a_partition()
    {
        // A fake sysfs laid out like the real one: /sys/dev/block/M:m are links into the device
        // tree; 7:0 a loop disk with 4096-byte sectors; 8:1 a partition whose queue/ is its disk's.
        var sys = Path.Combine(_temp.Path, "sys");
        var loop = Directory.CreateDirectory(Path.Combine(sys, "devices", "loop0", "queue")).Parent!.FullName;
        File.WriteAllText(Path.Combine(loop, "queue", "logical_block_size"), "4096\n");
        var sda = Directory.CreateDirectory(Path.Combine(sys, "devices", "sda", "queue")).Parent!.FullName;
        File.WriteAllText(Path.Combine(sda, "queue", "logical_block_size"), "512\n");
        Directory.CreateDirectory(Path.Combine(sda, "sda1"));
        File.WriteAllText(Path.Combine(sys, "logical_block_size"), "1\n"); // a lexical ".." would land near here
        var devBlock = Directory.CreateDirectory(Path.Combine(sys, "dev", "block")).FullName;
        Directory.CreateSymbolicLink(Path.Combine(devBlock, "7:0"), "../../devices/loop0");
        Directory.CreateSymbolicLink(Path.Combine(devBlock, "8:1"), "../../devices/sda/sda1");
        sys = devBlock;

        Assert.Equal((4096, AlignmentSource.LogicalBlockSize), (DioProbe.FromSysfs(7, 0, sys)!.OffsetAlign, DioProbe.FromSysfs(7, 0, sys)!.Source));
        Assert.Equal(512, DioProbe.FromSysfs(8, 1, sys)!.OffsetAlign);
        Assert.Null(DioProbe.FromSysfs(0, 42, sys)); // btrfs/tmpfs: an anonymous device with no queue
    }

    [Fact]
    public void Case_alignment_below_the_devices_direct_io_alignment_is_a_skip_reason()
    {
        var plan = PlanBuilder.Build(Seed, 3);
        var fourKn = new DioAlignment(4096, 0, AlignmentSource.LogicalBlockSize, "/sys/dev/block/7:0/queue/logical_block_size");

        Assert.Equal("device logical block 4096 > case alignment 512 (from the device's logical_block_size)", DioProbe.SkipReason(plan, fourKn, 4096));
        Assert.Equal("device logical block 4096 > case alignment 512 (from statx STATX_DIOALIGN)",
            DioProbe.SkipReason(plan, fourKn with { Source = AlignmentSource.Statx }, 4096));
        Assert.Null(DioProbe.SkipReason(plan, fourKn with { OffsetAlign = 512 }, 4096));
        Assert.Null(DioProbe.SkipReason(plan, fourKn with { OffsetAlign = 0, Source = AlignmentSource.Unknown }, 4096));
        Assert.Equal("IO 0 (4096 bytes at 512) is not a multiple of the device's direct-IO alignment 1024 (from the device's logical_block_size)",
            DioProbe.SkipReason(PlanBuilder.Build(Seed with { Alignment = 1024 }, 3), fourKn with { OffsetAlign = 1024 }, 4096));
        Assert.Equal("device needs 8192-byte aligned buffers, the agent's are 4096-byte aligned",
            DioProbe.SkipReason(plan, fourKn with { OffsetAlign = 512, MemoryAlign = 8192 }, 4096));
    }

    [Fact]
    public async Task Io_records_follow_one_sequence_in_plan_order_within_the_queue_depth()
    {
        var report = await _runner.RunAsync(Request(Seed with { DirtyBytes = 0 }), CancellationToken.None);

        Assert.Null(report.Error);
        Assert.Equal(Enumerable.Range(0, Seed.IoCount), report.Ios.Select(io => io.Index));
        Assert.All(report.Ios, io => Assert.True(io.SubmitSeq < io.CompleteSeq && io.SubmitNs <= io.CompleteNs));
        var submits = report.Ios.Select(io => io.SubmitSeq).ToArray();
        Assert.Equal(submits.Order(), submits); // submitted in plan order
        var sequence = report.Ios.SelectMany(io => new[] { io.SubmitSeq, io.CompleteSeq }).ToArray();
        Assert.Equal(sequence.Length, sequence.Distinct().Count());
        var submitted = submits.ToHashSet();
        var inFlight = 0;
        foreach (var seq in sequence.Order())
        {
            inFlight += submitted.Contains(seq) ? 1 : -1;
            Assert.InRange(inFlight, 0, Seed.QueueDepth);
        }
    }

    [Fact]
    public async Task Unwritten_extents_split_into_sub_block_pieces_read_back_as_written_or_zero()
    {
        var spec = Seed with { Pattern = IoPattern.RandomSubBlock, Preparation = FilePreparation.Unwritten, IoCount = 2048, DirtyBytes = 4L << 20 };
        var plan = PlanBuilder.Build(spec, 3);

        var report = await _runner.RunAsync(Request(spec), CancellationToken.None);

        Assert.Null(report.Error);
        Assert.All(report.Ios, io => Assert.Equal(plan.Ios[io.Index].Length, io.Result));
        var pass = Assert.Single(report.Passes);
        Assert.Equal(spec.FileSize, pass.FileSize);
        Assert.Empty(ReadbackExpectations.Mismatches(pass, plan, ReadbackExpectations.Zero));
    }

    [Fact]
    public async Task Written_preparation_shows_prewritten_sectors_where_no_io_wrote()
    {
        var spec = Seed with { Preparation = FilePreparation.Written, DirtyBytes = 0 };
        var plan = PlanBuilder.Build(spec, 3);

        var report = await _runner.RunAsync(Request(spec), CancellationToken.None);

        Assert.Null(report.Error);
        var pass = Assert.Single(report.Passes);
        Assert.Empty(ReadbackExpectations.Mismatches(pass, plan, ReadbackExpectations.Prewritten(plan)));
        Assert.Equal(SectorKind.Prewritten, pass.Runs[0].Kind);
        Assert.Equal(SectorKind.Prewritten, pass.Runs[^1].Kind); // past the last IO, up to FileSize
    }

    [Fact]
    public async Task Extending_preparation_ends_the_file_at_the_written_end()
    {
        var spec = Seed with { Preparation = FilePreparation.Extending, IoCount = 256, DirtyBytes = 0 };
        var plan = PlanBuilder.Build(spec, 3);

        var report = await _runner.RunAsync(Request(spec), CancellationToken.None);

        Assert.Null(report.Error);
        var pass = Assert.Single(report.Passes);
        Assert.Equal(plan.WrittenEnd, pass.FileSize);
        Assert.Equal(plan.WrittenEnd, plan.ReadbackLength);
        Assert.Empty(ReadbackExpectations.Mismatches(pass, plan, ReadbackExpectations.Zero));
    }

    [Fact]
    public async Task Readback_phase_rereads_the_same_sectors_without_ios()
    {
        var spec = Seed with { DirtyBytes = 0, IoCount = 256 };
        var written = await _runner.RunAsync(Request(spec), CancellationToken.None);

        var reread = await _runner.RunAsync(Request(spec, AgentPhase.Readback), CancellationToken.None);

        Assert.Null(reread.Error);
        Assert.Equal(AgentPhase.Readback, reread.Phase);
        Assert.Empty(reread.Ios);
        var pass = Assert.Single(reread.Passes);
        Assert.Equal("after-remount", pass.Name);
        Assert.Equal(written.Passes[0].Runs, pass.Runs);
    }

    [Fact]
    public async Task Missing_directory_is_an_error_report_not_an_exception()
    {
        var request = Request(Seed) with { Directory = Path.Combine(_temp.Path, "absent") };

        var report = await _runner.RunAsync(request, CancellationToken.None);

        Assert.Contains("absent does not exist", report.Error);
        Assert.Empty(report.Passes);
        Assert.False(string.IsNullOrEmpty(report.Kernel));
    }

    [Fact]
    public async Task Readback_of_a_file_that_is_not_there_names_the_call_and_the_file()
    {
        var report = await _runner.RunAsync(Request(Seed, AgentPhase.Readback), CancellationToken.None);

        Assert.Equal($"open(O_RDONLY|O_DIRECT) on {Path.Combine(_temp.Path, "data")} failed: ENOENT (No such file or directory)", report.Error);
    }
}
