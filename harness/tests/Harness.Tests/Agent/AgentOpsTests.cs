// The agent's op thread on the host kernel (a real file under /tmp, real libaio): each op kind
// runs beside the AIO writes, is recorded on the writes' sequence counter after the IO it waits
// for, and the golden model finds the read-back legal with every sector judged.
using Harness.Agent;
using Harness.Golden;
using Harness.Workload;
using Xunit;

namespace Harness.Tests.Agent;

public sealed class AgentOpsTests : IDisposable
{
    // 64 unaligned 4 KiB writes (IO i at 512 + 4096 i), 8 in flight, over a 512 KiB sparse file.
    private static readonly WorkloadSpec Writes = new(
        FileSize: 512 * 1024, FsBlockSize: 4096, IoSize: 4096, Alignment: 512, Pattern: IoPattern.Stride,
        Stride: 4096, Start: 512, QueueDepth: 8, IoCount: 64, Preparation: FilePreparation.Sparse,
        DirtyBytes: 0, Seed: 13);

    private readonly TempDirectory _temp = new();
    private readonly AgentRunner _runner = new(AgentEnvironment.Linux, TextWriter.Null);

    public void Dispose() => _temp.Dispose();

    public static TheoryData<OpKind, long, long> EachOp => new()
    {
        { OpKind.PunchHole, 16384, 8192 },
        { OpKind.ZeroRange, 40960, 4608 },
        { OpKind.Fallocate, 0, 512 * 1024 },
        { OpKind.FallocateKeepSize, 8192, 65536 },
        // Pages from 327680 on are past every IO (IO 63 ends at 258560): no direct write is ever there.
        { OpKind.BufferedWrite, 327680, 12288 },
        { OpKind.Truncate, 131072, 0 },
        { OpKind.Fsync, 0, 0 },
    };

    [Theory]
    [MemberData(nameof(EachOp))]
    public async Task Op_runs_beside_the_writes_and_the_read_back_is_legal(OpKind kind, long offset, long length)
    {
        var spec = Writes with { Ops = [new PlannedOp(0, kind, 20, offset, length)] };
        var plan = PlanBuilder.Build(spec, 1);

        var report = await _runner.RunAsync(new AgentRequest(AgentPhase.Write, _temp.Path, "data", spec, 1, false), CancellationToken.None);

        Assert.Null(report.Error);
        Assert.Equal(plan.Ios.Count, report.Ios.Count);
        Assert.All(report.Ios, io => Assert.Equal(4096, io.Result));
        var op = Assert.Single(report.Ops);
        Assert.Equal(kind == OpKind.BufferedWrite ? length : 0, op.Result);
        Assert.True(op.StartSeq > report.Ios[20].SubmitSeq && op.EndSeq > op.StartSeq, $"op {op} after io {report.Ios[20]}");
        var sequences = report.Ios.SelectMany(io => new[] { io.SubmitSeq, io.CompleteSeq }).Concat([op.StartSeq, op.EndSeq]).ToList();
        Assert.Equal(sequences.Count, sequences.Distinct().Count());
        var pass = Assert.Single(report.Passes);
        var judgement = GoldenModel.Judge(plan, report.Ios, report.Ops, pass);
        Assert.True(judgement.Clean, string.Join("\n", judgement.Findings));
        Assert.Equal(plan.ReadbackLength / 512, judgement.SectorsChecked);
        if (kind == OpKind.BufferedWrite)
            Assert.Contains(pass.Runs, r => r.Kind == SectorKind.Data && r.Io == plan.Ios.Count && r.FirstSector == offset / 512 && r.Count == length / 512);
    }

    [Fact]
    public async Task A_planted_old_write_in_the_range_a_real_punch_covered_is_caught()
    {
        // A punch after IO 63 is submitted over IO 2's whole-sector range; IO 2 was reaped long before.
        var spec = Writes with { Ops = [new PlannedOp(0, OpKind.PunchHole, 63, 8704, 3584)] };
        var plan = PlanBuilder.Build(spec, 1);
        var report = await _runner.RunAsync(new AgentRequest(AgentPhase.Write, _temp.Path, "data", spec, 1, false), CancellationToken.None);
        Assert.Null(report.Error);
        var pass = report.Passes[0];
        Assert.True(GoldenModel.Judge(plan, report.Ios, report.Ops, pass).Clean);

        // Plant: sectors 17-23 read back as IO 2's data, as if the punch never happened.
        var forged = new ObservationBuilder();
        foreach (var run in pass.Runs)
            for (var s = run.FirstSector; s < run.EndSector; s++)
                forged.Add(s, s is >= 17 and < 24 ? new DecodedSector(SectorKind.Data, plan.RunTag, 2, (int)(s - 1 - 16), s * 512, true) : run.At(s));
        var judged = GoldenModel.Judge(plan, report.Ios, report.Ops, pass with { Runs = forged.Build() });

        var finding = Assert.Single(judged.Findings);
        Assert.Equal(FindingClass.LostWrite, finding.Class);
        Assert.Equal((17L, 7L), (finding.FirstSector, finding.SectorCount));
    }
}
