// `harness explore` on the host kernel (root: loop images, real mkfs, the real agent): a handful
// of tiny drawn workloads, seconds. The records say what ran, every recorded workload loads as
// a case with its seed, the work really happened (IOs = planned, no IO error, sectors judged);
// and a planted defect (the torn fault) is found, deduplicated by signature, and shrunk to a
// reproducer file that loads as a case and says what it catches and how often it failed.
using Harness.Cases;
using Harness.Explore;
using Harness.Faults;
using Harness.Filesystems;
using Harness.Machines;
using Harness.Results;
using Harness.Tests.Support;
using Harness.Verdicts;
using Harness.Workload;
using Xunit;

namespace Harness.Tests.Explore;

public sealed class ExploreEndToEndTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("harness-explore-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private async Task<ExploreSummary> ExploreAsync(int? workloads, ulong seed, IFaultInjector? fault = null, ShrinkPolicy? policy = null, TimeSpan? budget = null)
    {
        Assert.True(Environment.IsPrivilegedProcess, "end-to-end tests on the host kernel need root (loop mounts); run `make test` as root");
        var machine = new LocalMachine(new LocalMachineOptions(TestAgent.Binary, 128L << 20, Fault: fault));
        Assert.Null(await machine.CheckAsync(CancellationToken.None));
        var explorer = new Explorer(machine, new ResultStore(Path.Combine(_scratch, "results")), TimeProvider.System, TextWriter.Null);
        return await explorer.RunAsync(new ExploreRequest(FilesystemCatalog.Find("ext4"), seed, "host", 128L << 20, Path.Combine(_scratch, "work"), "test")
        {
            Workloads = workloads, Budget = budget, Shrink = policy ?? new ShrinkPolicy(),
        }, CancellationToken.None);
    }

    [Fact]
    public async Task Explore_on_ext4_records_every_workload_as_a_loadable_case_and_judges_its_sectors()
    {
        var summary = await ExploreAsync(workloads: 4, seed: 1);

        Assert.Equal(Outcome.Pass, summary.Outcome);
        var record = RecordFormat.Read<ExploreRecord>(Path.Combine(summary.ResultsPath, "explore", "explore.json"));
        Assert.Equal(RecordFormat.Current, record.FormatVersion);
        Assert.Equal(4, record.WorkloadsRun);
        Assert.Equal(4, record.Workloads.Count);
        Assert.Equal(4, record.Shapes.Values.Sum());
        Assert.Empty(record.Failures);
        Assert.False(record.Interrupted);
        Assert.NotNull(record.Finished);
        var generator = new WorkloadGenerator(1, FilesystemCatalog.Find("ext4"), 128L << 20);
        long sectors = 0;
        foreach (var w in record.Workloads)
        {
            // Every recorded workload is a case file that loads, with the seed the record names, and replays from the explore seed.
            var loaded = CaseLoader.Load(Path.Combine(summary.ResultsPath, w.CaseFile));
            Assert.Equal(w.Seed, loaded.Workload.Seed);
            Assert.Equal(generator.Generate(w.Index).Case.Workload, loaded.Workload);
            Assert.Equal("PASS", w.Outcome);
            // The work happened: every planned IO completed, none failed, and the read-backs were judged.
            var iteration = RecordFormat.Read<IterationResult>(Path.Combine(summary.ResultsPath, "cells", w.CellId, "iteration-000.json"));
            Assert.Equal(PlanBuilder.Build(loaded.Workload, 0).Ios.Count, iteration.IoCount);
            Assert.Equal(0, iteration.IoErrors);
            Assert.True(w.SectorsJudged > 0);
            Assert.Equal(iteration.Passes.Sum(p => p.SectorsChecked), w.SectorsJudged);
            sectors += w.SectorsJudged;
        }
        Assert.Equal(sectors, record.SectorsJudged);
        // The folder is a run folder too (report and cache tools read it).
        var run = RunJournal.ReadRun(summary.ResultsPath);
        Assert.Equal(record.Workloads.Select(w => w.CellId), run.Cells.Select(c => c.Input.CellId));
    }

    [Fact]
    public async Task A_budget_that_cuts_a_workload_short_leaves_the_outcome_of_the_finished_ones()
    {
        var summary = await ExploreAsync(workloads: null, seed: 7, budget: TimeSpan.FromSeconds(20)); // several workloads even on a loaded host, the last one most likely cut

        var record = RecordFormat.Read<ExploreRecord>(Path.Combine(summary.ResultsPath, "explore", "explore.json"));
        Assert.True(record.BudgetReached);
        Assert.False(record.Interrupted);
        Assert.NotEmpty(record.Workloads);
        Assert.All(record.Workloads, w => Assert.Equal("PASS", w.Outcome));
        // A workload the budget cut before its iteration ended is kept as interrupted, and says nothing:
        // the explore is PASS (exit 0), not SKIP (exit 4) as when it was counted.
        var run = RunJournal.ReadRun(summary.ResultsPath);
        Assert.All(run.Cells.Where(c => c.Outcome != Outcome.Pass), c => Assert.True(c.Interrupted && c.Passed + c.Failed + c.Errored + c.Crashed == 0, c.ToString()));
        Assert.Equal(Outcome.Pass, summary.Outcome);
        Assert.Equal(Outcome.Pass, run.Outcome);
    }

    [Fact]
    public async Task A_planted_torn_sector_is_found_once_per_signature_and_shrunk_to_a_reproducer_that_loads()
    {
        // Small looks and few candidates keep this to seconds; the fault fails every run, so each kept step needs 3.
        var policy = new ShrinkPolicy(MinRate: 0.2, Batch: 3, MaxRuns: 6, MaxCandidates: 6);
        var summary = await ExploreAsync(workloads: 2, seed: 5, new TornFault(), policy);

        Assert.Equal(Outcome.Fail, summary.Outcome);
        var record = RecordFormat.Read<ExploreRecord>(Path.Combine(summary.ResultsPath, "explore", "explore.json"));
        Assert.All(record.Workloads, w => Assert.Equal("fail:torn", w.Signature));
        var failure = Assert.Single(record.Failures);   // two failing workloads, one signature
        Assert.Equal(2, failure.Workloads);
        Assert.Equal(0, failure.FirstWorkload);
        Assert.Contains("torn", failure.FirstFinding, StringComparison.OrdinalIgnoreCase);
        var reproducer = failure.Reproducer!;
        Assert.True(reproducer.Reproduced);
        Assert.True(reproducer.Shrunk);
        Assert.Equal(reproducer.Runs, reproducer.Failures);
        Assert.True(reproducer.RateLower > 0.2);
        var original = CaseLoader.Load(Path.Combine(summary.ResultsPath, record.Workloads[0].CaseFile)).Workload;
        var path = Path.Combine(summary.ResultsPath, reproducer.CaseFile);
        var minimal = CaseLoader.Load(path);
        Assert.True(minimal.Workload.IoCount < original.IoCount || minimal.Workload.QueueDepth < original.QueueDepth || minimal.Workload.FileSize < original.FileSize);
        Assert.Equal(reproducer.IoCount, minimal.Workload.IoCount);
        var text = File.ReadAllText(path);
        Assert.Contains("# catches: fail:torn", text, StringComparison.Ordinal);
        Assert.Contains("# failure rate: ", text, StringComparison.Ordinal);
        Assert.Contains("# first finding: ", text, StringComparison.Ordinal);
        Assert.Contains("filesystem: ext4", text, StringComparison.Ordinal);
    }
}
