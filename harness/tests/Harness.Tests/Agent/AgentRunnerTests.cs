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
