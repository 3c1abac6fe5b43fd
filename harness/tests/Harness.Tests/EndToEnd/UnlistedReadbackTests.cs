// Issue 7: `--fault zero-sub-block` on a case that reads back only after fsync used to PASS:
// the machine remounted and read back (a fault needs the remount) but the judge looked only
// at the passes the case listed. Every completed read-back is judged now. Host kernel, ext4
// loop image, the real agent; needs root.
using System.Text.Json;
using Harness.Cases;
using Harness.Faults;
using Harness.Filesystems;
using Harness.Golden;
using Harness.Machines;
using Harness.Results;
using Harness.Runs;
using Harness.Tests.Support;
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.EndToEnd;

public sealed class UnlistedReadbackTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("harness-unlisted-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact]
    public async Task Fault_before_the_remount_is_FAIL_zeroed_in_a_case_that_reads_back_only_after_fsync()
    {
        Assert.True(Environment.IsPrivilegedProcess, "end-to-end tests on the host kernel need root (loop mounts); run `make test` as root");
        var seed = new CaseCatalog(RepoPaths.Cases).Find("seed");
        var fsyncOnly = seed with { Readback = [ReadbackStep.AfterFsync] };
        var machine = new LocalMachine(new LocalMachineOptions(TestAgent.Binary, 512L << 20, Fault: new ZeroSubBlockFault(sectors: 2)));
        var executor = new RunExecutor(machine, new ResultStore(Path.Combine(_scratch, "results")), TimeProvider.System, TextWriter.Null);

        var summary = await executor.RunAsync(
            new RunRequest([FilesystemCatalog.Find("ext4")], [fsyncOnly], Repeats: 1, Path.Combine(_scratch, "work"), "test"), CancellationToken.None);

        Assert.Equal(Outcome.Fail, summary.Record.Outcome);
        var iteration = JsonSerializer.Deserialize<IterationResult>(
            File.ReadAllText(Path.Combine(summary.ResultsPath, "cells", "ext4-seed", "iteration-000.json")), ResultStore.Json)!;
        Assert.Equal((8191, 0), (iteration.IoCount, iteration.IoErrors));
        Assert.Equal(0, iteration.Passes.Single(p => p.Pass == "after-fsync").FindingCount);
        var finding = Assert.Single(iteration.Passes.Single(p => p.Pass == "after-remount").Findings);
        Assert.Equal(FindingClass.Zeroed, finding.Class);
    }
}
