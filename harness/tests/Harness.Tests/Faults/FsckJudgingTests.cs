// How an fsck result on the last iteration reaches the verdict: a complaint is a finding of
// class fsck and FAIL even when every sector is legal; a clean or skipped check changes nothing
// but is recorded. Synthetic agent reports, the real judge.
using Harness.Cases;
using Harness.Filesystems;
using Harness.Golden;
using Harness.Machines;
using Harness.Runs;
using Harness.Tests.Golden;
using Harness.Verdicts;
using Harness.Workload;
using Xunit;

namespace Harness.Tests.Faults;

public sealed class FsckJudgingTests
{
    private static readonly WorkloadPlan Plan = Plans.Generic240();

    private static readonly CaseSpec Case = new("fsck-test", "d", "c", null, Plan.Spec, [ReadbackStep.AfterFsync], 1, "fsck-test.yaml");

    private static IterationRaw CleanIteration()
    {
        var pass = new SyntheticDisk(Plan).LandAll().Read("after-fsync");
        var write = new AgentReport(AgentPhase.Write, "test", 2, SyntheticIos.Sequential(Plan), [pass], 0.1, null);
        return new IterationRaw(0, write, null, null);
    }

    [Fact]
    public void A_complaint_on_a_clean_read_back_is_an_fsck_FAIL_with_the_checkers_first_complaint()
    {
        var fsck = new FsckResult("e2fsck", "e2fsck -f -n disk.img", 4, Ran: true, Clean: false,
            "Pass 1: Checking inodes, blocks, and sizes\nPass 5: Checking group summary information\nBlock bitmap differences:  +100\nFix? no");

        var result = IterationJudge.Judge("ext4-test", Case, CleanIteration() with { Fsck = fsck });

        Assert.Equal(Outcome.Fail, result.Outcome);
        Assert.Equal(0, result.Passes.Single(p => p.Pass == "after-fsync").FindingCount);
        var pass = result.Passes.Single(p => p.Pass == "fsck");
        var finding = Assert.Single(pass.Findings);
        Assert.Equal(FindingClass.Fsck, finding.Class);
        Assert.Equal("e2fsck exited with 4: Block bitmap differences:  +100", finding.Observed);
        Assert.Equal(1, pass.FindingsByClass["fsck"]);
        Assert.Same(fsck, result.Fsck);
    }

    [Fact]
    public void A_clean_check_or_one_not_run_leaves_a_PASS_and_is_recorded()
    {
        var clean = new FsckResult("xfs_repair", "xfs_repair -n -f disk.img", 0, Ran: true, Clean: true, "Phase 1 - find and verify superblock...");
        var notRun = FsckResult.NotRun("--dir /mnt: no image of the harness's to check");

        var withClean = IterationJudge.Judge("xfs-test", Case, CleanIteration() with { Fsck = clean });
        var withNotRun = IterationJudge.Judge("xfs-test", Case, CleanIteration() with { Fsck = notRun });

        Assert.Equal(Outcome.Pass, withClean.Outcome);
        Assert.Equal(clean, withClean.Fsck);
        Assert.DoesNotContain(withClean.Passes, p => p.Pass == "fsck");
        Assert.Equal(Outcome.Pass, withNotRun.Outcome);
        Assert.False(withNotRun.Fsck!.Ran);
        Assert.Contains("--dir", withNotRun.Fsck.Output);
    }
}
