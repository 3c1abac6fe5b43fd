// The iteration judge with ops (case schema 2): an op the filesystem lacks (EOPNOTSUPP) is
// recorded and treated as not done; any other failed op is an io-error finding; an agent that
// reports fewer ops than planned cannot make a PASS of ops it never ran.
using Harness.Cases;
using Harness.Golden;
using Harness.Machines;
using Harness.Runs;
using Harness.Tests.Golden;
using Harness.Verdicts;
using Harness.Workload;
using Xunit;

namespace Harness.Tests.Runs;

public sealed class IterationJudgeOpsTests
{
    // generic/240's 32 IOs; a punch of fs block 20 issued after IO 31, when every write was reaped.
    private static readonly WorkloadPlan Plan = Plans.Generic240(ioCount: 32) is var p
        ? p with { Spec = p.Spec with { Ops = [new PlannedOp(0, OpKind.PunchHole, 31, 20 * 4096, 4096)] } }
        : null!;

    private static CaseSpec Case => new("judge-ops", "synthetic", "nothing", null, Plan.Spec, [ReadbackStep.AfterFsync], 1, "judge-ops.yaml");

    private static IterationRaw Raw(IReadOnlyList<OpRecord> ops, SyntheticDisk disk)
    {
        var ios = SyntheticIos.InFlight(Plan, queueDepth: 2);
        var after = ios.Max(r => r.CompleteSeq);
        var placed = ops.Select(o => o with { StartSeq = after + 1 + 2 * o.Index, EndSeq = after + 2 + 2 * o.Index }).ToArray();
        var write = new AgentReport(AgentPhase.Write, "6.1.0-test", 2, ios, [disk.Read()], 0.5, null) { Ops = placed, FilesystemBytes = 512L << 20 };
        return new IterationRaw(0, write, null, null);
    }

    [Fact]
    public void Punch_done_and_read_back_as_zeros_is_PASS_with_the_op_recorded()
    {
        var result = IterationJudge.Judge("c", Case, Raw([new OpRecord(0, 0, 0, 0, 0, 0)], new SyntheticDisk(Plan).LandAll().Zero(160, 8)));

        Assert.Equal(Outcome.Pass, result.Outcome);
        Assert.Equal(0, Assert.Single(result.Ops).Result);
        Assert.Equal(Plan.Spec.FileSize / 512, Assert.Single(result.Passes).SectorsChecked);
    }

    [Fact]
    public void Punch_not_supported_is_not_a_finding_and_the_data_must_stay()
    {
        var notSupported = new OpRecord(0, 0, 0, -LinuxErrno.EOPNOTSUPP, 0, 0);

        var kept = IterationJudge.Judge("c", Case, Raw([notSupported], new SyntheticDisk(Plan).LandAll()));
        var zeroedAnyway = IterationJudge.Judge("c", Case, Raw([notSupported], new SyntheticDisk(Plan).LandAll().Zero(160, 8)));

        Assert.Equal(Outcome.Pass, kept.Outcome);
        Assert.Equal(Outcome.Fail, zeroedAnyway.Outcome);
        Assert.DoesNotContain(zeroedAnyway.Passes, p => p.Pass == IterationJudge.WorkloadPass);
    }

    [Fact]
    public void Punch_failing_with_EIO_is_an_io_error_finding()
    {
        var result = IterationJudge.Judge("c", Case, Raw([new OpRecord(0, 0, 0, -LinuxErrno.EIO, 0, 0)], new SyntheticDisk(Plan).LandAll()));

        Assert.Equal(Outcome.Fail, result.Outcome);
        var finding = Assert.Single(Assert.Single(result.Passes, p => p.Pass == IterationJudge.WorkloadPass).Findings);
        Assert.Equal(FindingClass.IoError, finding.Class);
        Assert.Equal("1 ops failed: op 0 (punch-hole) EIO", finding.Observed);
    }

    [Fact]
    public void Agent_reporting_no_ops_for_a_case_with_ops_is_ERROR_not_PASS()
    {
        var result = IterationJudge.Judge("c", Case, Raw([], new SyntheticDisk(Plan).LandAll().Zero(160, 8)));

        Assert.NotEqual(Outcome.Pass, result.Outcome);
        Assert.Contains("0 of 1 planned ops", result.Error, StringComparison.Ordinal);
    }
}
