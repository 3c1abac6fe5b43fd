// The iteration judge on synthetic agent reports: every road from "nothing was tested" or
// "the kernel refused the writes" must end somewhere other than PASS, and a finding is never
// hidden by an error that came after it.
using Harness.Cases;
using Harness.Golden;
using Harness.Machines;
using Harness.Runs;
using Harness.Tests.Golden;
using Harness.Verdicts;
using Harness.Workload;
using Xunit;

namespace Harness.Tests.Runs;

public sealed class IterationJudgeTests
{
    private static readonly WorkloadPlan Plan = Plans.Generic240(ioCount: 32);

    private static CaseSpec Case(params ReadbackStep[] readback) =>
        new("judge", "synthetic", "nothing", null, Plan.Spec, readback.Length == 0 ? [ReadbackStep.AfterFsync, ReadbackStep.AfterRemount] : readback, 1, "judge.yaml");

    private static AgentReport Report(AgentPhase phase, IReadOnlyList<IoRecord> ios, params ReadbackPass[] passes) =>
        new(phase, "6.1.0-test", 2, ios, passes, 0.5, null) { FilesystemBytes = 512L << 20, FilesystemFreeBytes = 100L << 20 };

    private static IterationRaw Raw(IoRecord[] ios, SyntheticDisk disk, string? error = null) =>
        new(0, Report(AgentPhase.Write, ios, disk.Read("after-fsync")), Report(AgentPhase.Readback, [], disk.Read("after-remount")), error);

    private static IoRecord[] Clean => SyntheticIos.InFlight(Plan, queueDepth: 2);

    private static IoRecord[] AllResults(long result) => Clean.Select(r => r with { Result = result }).ToArray();

    [Fact]
    public void Clean_iteration_is_PASS_with_every_IO_completed_and_every_sector_checked()
    {
        var result = IterationJudge.Judge("c", Case(), Raw(Clean, new SyntheticDisk(Plan).LandAll()));

        Assert.Equal(Outcome.Pass, result.Outcome);
        Assert.Null(result.Error);
        Assert.Equal((32, 0), (result.IoCount, result.IoErrors));
        Assert.Equal(["after-fsync", "after-remount"], result.Passes.Select(p => p.Pass));
        Assert.All(result.Passes, p => Assert.Equal((Plan.Spec.FileSize / 512, 0), (p.SectorsChecked, p.FindingCount)));
    }

    [Fact]
    public void Every_write_failing_with_EINVAL_is_FAIL_io_error_not_a_clean_zero_file()
    {
        // The 4Kn reproduction with the alignment probe bypassed: every write -EINVAL, nothing landed.
        var result = IterationJudge.Judge("c", Case(), Raw(AllResults(-LinuxErrno.EINVAL), new SyntheticDisk(Plan)));

        Assert.Equal(Outcome.Fail, result.Outcome);
        Assert.Equal(32, result.IoErrors);
        var workload = Assert.Single(result.Passes, p => p.Pass == IterationJudge.WorkloadPass);
        var finding = Assert.Single(workload.Findings);
        Assert.Equal(FindingClass.IoError, finding.Class);
        Assert.Equal("32 writes failed: EINVAL (32)", finding.Observed);
        Assert.Equal(Enumerable.Range(0, 32), finding.IosInFlight);
        Assert.Equal(1, workload.FindingsByClass["io-error"]);
        Assert.All(result.Passes.Where(p => p.Pass != IterationJudge.WorkloadPass), p => Assert.Equal(0, p.FindingCount));
    }

    [Fact]
    public void A_failed_fsync_after_clean_writes_is_FAIL_io_error_even_when_every_sector_reads_back_right()
    {
        // Seen under the io-error fault on a loaded host: ext4 answered the agent's fsync with EIO
        // (failed metadata writeback). The data may look right in the read-back and still not be durable.
        var raw = Raw(Clean, new SyntheticDisk(Plan).LandAll());
        raw = raw with { Write = raw.Write! with { FsyncErrno = LinuxErrno.EIO } };

        var result = IterationJudge.Judge("c", Case(), raw);

        Assert.Equal(Outcome.Fail, result.Outcome);
        Assert.Null(result.Error);
        Assert.Equal((32, 0), (result.IoCount, result.IoErrors));
        var fsync = Assert.Single(result.Passes, p => p.Pass == IterationJudge.FsyncPass);
        var finding = Assert.Single(fsync.Findings);
        Assert.Equal(FindingClass.IoError, finding.Class);
        Assert.Equal("fsync failed: EIO", finding.Observed);
        // The read-backs were still judged, and clean.
        Assert.All(result.Passes.Where(p => p.Pass != IterationJudge.FsyncPass), p => Assert.Equal((Plan.Spec.FileSize / 512, 0), (p.SectorsChecked, p.FindingCount)));
        // A successful fsync adds nothing.
        Assert.Equal(Outcome.Pass, IterationJudge.Judge("c", Case(), Raw(Clean, new SyntheticDisk(Plan).LandAll())).Outcome);
    }

    [Fact]
    public void Mixed_failures_and_short_writes_are_named_with_errno_and_count()
    {
        var ios = Clean.WithResult(3, -LinuxErrno.EIO).WithResult(4, -LinuxErrno.EIO).WithResult(9, 1024);
        var disk = new SyntheticDisk(Plan).Land(Enumerable.Range(0, 32).Where(i => i is not (3 or 4)));

        var result = IterationJudge.Judge("c", Case(), Raw(ios, disk));

        Assert.Equal(Outcome.Fail, result.Outcome);
        var finding = Assert.Single(result.Passes.Single(p => p.Pass == IterationJudge.WorkloadPass).Findings);
        Assert.Equal("2 writes failed: EIO (2); 1 short writes (first: io 9 wrote 1024 of 4096 bytes)", finding.Observed);
        Assert.Equal([3, 4, 9], finding.IosInFlight);
        Assert.Equal(Plan.Ios[3].Offset / 512, finding.FirstSector);
    }

    [Fact]
    public void Short_write_is_judged_on_its_written_part_only()
    {
        // IO 9 acknowledged 1024 bytes; its data lands but the head of IO 10 in the same block is zeroed.
        var ios = Clean.WithResult(9, 1024);
        var io9 = Plan.Ios[9];
        var disk = new SyntheticDisk(Plan).LandAll().Zero(io9.Offset / 512 + 2, 6);

        var result = IterationJudge.Judge("c", Case(), Raw(ios, disk));

        // Sectors 2..7 of IO 9 were not acknowledged: zeros there are legal; only the io-error is reported.
        Assert.Equal(Outcome.Fail, result.Outcome);
        Assert.Equal(["io-error"], result.Passes.SelectMany(p => p.FindingsByClass.Keys).Distinct());
        var lost = IterationJudge.Judge("c", Case(), Raw(ios, new SyntheticDisk(Plan).LandAll().Zero(io9.Offset / 512, 2)));
        Assert.Contains(lost.Passes, p => p.FindingsByClass.ContainsKey("zeroed") || p.FindingsByClass.ContainsKey("lost-write"));
    }

    [Theory]
    [InlineData(LinuxErrno.ENOSPC, "ENOSPC")]
    [InlineData(LinuxErrno.EDQUOT, "EDQUOT")]
    public void Out_of_space_during_the_workload_is_ERROR_naming_the_sizes(int errno, string name)
    {
        var ios = Clean;
        for (var i = 20; i < 32; i++) ios = ios.WithResult(i, -errno);
        var disk = new SyntheticDisk(Plan).Land(Enumerable.Range(0, 20));

        var result = IterationJudge.Judge("c", Case(), Raw(ios, disk));

        Assert.Equal(Outcome.Error, result.Outcome);
        Assert.Equal(3, Outcomes.ExitCode(result.Outcome));
        Assert.Equal(
            $"out of space during the workload: 12 of 32 writes failed: {name} (12); the test filesystem has 512MiB (100MiB free before the workload), "
            + "the case needs file.size 132KiB + dirty-free-space 0 plus metadata; raise --image-size (or lower file.size / dirty-free-space)",
            result.Error);
        Assert.Equal(12, result.IoErrors);
    }

    [Fact]
    public void Skip_report_is_SKIP_with_the_reason_never_PASS()
    {
        var write = Report(AgentPhase.Write, []) with { SkipReason = "device logical block 4096 > case alignment 512" };

        var result = IterationJudge.Judge("c", Case(), new IterationRaw(0, write, null, null));

        Assert.Equal(Outcome.Skip, result.Outcome);
        Assert.Equal("device logical block 4096 > case alignment 512", result.Error);
        Assert.Empty(result.Passes);
        Assert.Equal(4, Outcomes.ExitCode(result.Outcome));
    }

    [Fact]
    public void Wrong_file_size_is_FAIL_size_with_expected_and_seen()
    {
        var disk = new SyntheticDisk(Plan).LandAll();
        var raw = Raw(Clean, disk);
        var grown = raw with { Readback = raw.Readback! with { Passes = [disk.Read("after-remount") with { FileSize = Plan.Spec.FileSize + 8192 }] } };

        var result = IterationJudge.Judge("c", Case(), grown);

        Assert.Equal(Outcome.Fail, result.Outcome);
        var pass = result.Passes.Single(p => p.Pass == "after-remount");
        var finding = Assert.Single(pass.Findings);
        Assert.Equal(FindingClass.Size, finding.Class);
        Assert.Equal($"file size {Plan.Spec.FileSize} bytes (prepared {Plan.Spec.FileSize}, acknowledged writes end at {Plan.Ios[^1].End})", finding.Expected);
        Assert.Equal($"file size {Plan.Spec.FileSize + 8192} bytes (long by 8192)", finding.Observed);
    }

    [Fact]
    public void Finding_read_back_before_an_agent_error_stays_FAIL_with_the_error_kept()
    {
        var disk = new SyntheticDisk(Plan).LandAll().Zero(firstSector: 9, count: 2);
        var raw = Raw(Clean, disk, error: "umount /mnt/test failed after iteration 0");

        var result = IterationJudge.Judge("c", Case(), raw);

        Assert.Equal(Outcome.Fail, result.Outcome);
        Assert.Equal("umount /mnt/test failed after iteration 0", result.Error);
        Assert.True(result.Passes.Single(p => p.Pass == "after-fsync").FindingCount > 0);
    }

    [Fact]
    public void Agent_error_without_a_finding_is_ERROR()
    {
        var raw = Raw(Clean, new SyntheticDisk(Plan).LandAll(), error: "remount failed");

        Assert.Equal(Outcome.Error, IterationJudge.Judge("c", Case(), raw).Outcome);
    }

    [Fact]
    public void Read_back_the_case_did_not_list_is_judged_too()
    {
        // The case reads back only after fsync; a fault between write and remount shows only in the
        // after-remount pass the machine took anyway. It must be caught.
        var clean = new SyntheticDisk(Plan).LandAll();
        var corrupt = new SyntheticDisk(Plan).LandAll().Zero(firstSector: 9, count: 2);
        var raw = new IterationRaw(0, Report(AgentPhase.Write, Clean, clean.Read("after-fsync")), Report(AgentPhase.Readback, [], corrupt.Read("after-remount")), null);

        var result = IterationJudge.Judge("c", Case(ReadbackStep.AfterFsync), raw);

        Assert.Equal(Outcome.Fail, result.Outcome);
        Assert.True(result.Passes.Single(p => p.Pass == "after-remount").FindingCount > 0);
    }

    [Fact]
    public void Missing_requested_read_back_is_ERROR_unless_a_finding_was_made()
    {
        var clean = new SyntheticDisk(Plan).LandAll();
        var corrupt = new SyntheticDisk(Plan).LandAll().Zero(firstSector: 9, count: 2);

        var missing = IterationJudge.Judge("c", Case(), new IterationRaw(0, Report(AgentPhase.Write, Clean, clean.Read("after-fsync")), null, null));
        var found = IterationJudge.Judge("c", Case(), new IterationRaw(0, Report(AgentPhase.Write, Clean, corrupt.Read("after-fsync")), null, null));

        Assert.Equal((Outcome.Error, "read-back AfterRemount missing from the agent's report"), (missing.Outcome, missing.Error));
        Assert.Equal(Outcome.Fail, found.Outcome);
    }

    [Fact]
    public void Report_with_fewer_IOs_than_planned_is_ERROR_not_PASS()
    {
        var disk = new SyntheticDisk(Plan).Land(Enumerable.Range(0, 10));
        var raw = Raw(Clean.Take(10).ToArray(), disk);

        var result = IterationJudge.Judge("c", Case(), raw);

        Assert.Equal((Outcome.Error, "the agent reported 10 of 32 planned IOs"), (result.Outcome, result.Error));
    }
}
