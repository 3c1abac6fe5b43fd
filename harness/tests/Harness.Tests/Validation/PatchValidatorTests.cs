// The validator loop end to end on a scripted machine: real CellRunner, real IterationJudge and
// golden model, real result records; only the guest is fake. Each iteration's script says PASS
// (a clean synthetic read-back), FAIL (one acknowledged sector zeroed) or ERROR (the agent died),
// or the machine breaks outright. Checks the early stop, the --max-repeats cap when it is not a
// multiple of the batch, two guests a side a look, ERROR left out, NOT REPRODUCED, the printed
// bound and the exit codes.
using System.Runtime.CompilerServices;
using Harness.Cases;
using Harness.Cli;
using Harness.Filesystems;
using Harness.Kernels;
using Harness.Machines;
using Harness.Results;
using Harness.Runs;
using Harness.Tests.Golden;
using Harness.Validation;
using Harness.Verdicts;
using Harness.Workload;
using Xunit;
using Xunit.Abstractions;

namespace Harness.Tests.Validation;

public sealed class PatchValidatorTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("validator-").FullName;
    private readonly StringWriter _progress = new();

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private enum Step { Pass, Fail, Error, MachineBreaks }

    [Fact]
    public async Task A_fix_stops_early_the_unpatched_side_rests_and_each_look_boots_two_guests_a_side()
    {
        // Residual 30 %: 9 clean patched runs. Look 1 (6 a side) bounds the patched rate only to 39 %;
        // 6/6 unpatched on two guests is already significant against a clean 9, so look 2 runs only
        // the patched kernel, and 0/12 (≤ 22.1 %) is FIXES. The cap of 30 is never approached.
        var without = new ScriptedMachine(_ => Step.Fail);
        var with = new ScriptedMachine(_ => Step.Pass);
        var policy = new VerdictPolicy(BatchSize: 6, MaxResidual: 0.3, MaxRunsPerSide: 30);

        var (record, _) = await ValidateAsync(without, with, policy);

        var pair = Assert.Single(record.Pairs);
        Assert.Equal(PatchVerdict.Fixes, pair.Verdict);
        Assert.Equal(LoopEnd.Decided, pair.End);
        Assert.Equal((6, 6, 12, 0), (pair.Without.Runs, pair.Without.Failures, pair.With.Runs, pair.With.Failures));
        Assert.Equal(2, pair.Looks.Count);
        Assert.Equal([[3, 3], [3, 3]], pair.Looks.Select(l => l.GuestsWith.ToArray()).ToArray());
        Assert.Empty(pair.Looks[1].GuestsWithout);
        Assert.Equal([3, 3], without.Requests.Select(r => r.Repeats));
        Assert.Equal([0, 3], without.Requests.Select(r => r.FirstIteration));
        Assert.Equal([0, 3, 6, 9], with.Requests.Select(r => r.FirstIteration));   // every patched repeat its own iteration
        Assert.Equal(4, with.Requests.Select(r => r.CellId).Distinct().Count());
        Assert.Equal("≤ 22.1 % (one-sided 95 %)", pair.Bound);
        Assert.Equal(0, ValidateCommand.ExitCode(record));
    }

    [Fact]
    public async Task The_cap_is_never_passed_when_it_is_not_a_multiple_of_the_batch()
    {
        // Both kernels fail every other repeat: no difference, so the looks run to the cap. 25 with
        // batches of 10 is 10 + 10 + 5: the last look is trimmed, still split over two guests.
        var without = new ScriptedMachine(i => i % 2 == 0 ? Step.Fail : Step.Pass);
        var with = new ScriptedMachine(i => i % 2 == 0 ? Step.Fail : Step.Pass);
        var policy = new VerdictPolicy(BatchSize: 10, MaxResidual: 0.3, MaxRunsPerSide: 25);

        var (record, _) = await ValidateAsync(without, with, policy);

        var pair = Assert.Single(record.Pairs);
        Assert.Equal(PatchVerdict.NoChange, pair.Verdict);
        Assert.Equal(LoopEnd.Cap, pair.End);
        Assert.Equal(25, without.Requests.Sum(r => r.Repeats));
        Assert.Equal(25, with.Requests.Sum(r => r.Repeats));
        Assert.Equal(25, without.IterationsRun);
        Assert.Equal(25, with.IterationsRun);
        Assert.Equal([3, 2], pair.Looks[^1].GuestsWith);
        Assert.Equal((25, 25), (pair.RepeatsWithout, pair.RepeatsWith));
        Assert.Equal(5, ValidateCommand.ExitCode(record));
    }

    [Fact]
    public async Task Error_repeats_are_left_out_of_the_counts_and_reported()
    {
        // One look, two guests of 5 a side; the patched repeats 2 and 7 (one in each guest) end in
        // ERROR: they count for nothing, so the patched side has 8 counted runs, not 10.
        var without = new ScriptedMachine(_ => Step.Fail);
        var with = new ScriptedMachine(i => i is 2 or 7 ? Step.Error : Step.Pass);
        var policy = new VerdictPolicy(BatchSize: 10, MaxResidual: 0.3, MaxRunsPerSide: 10);

        var (record, _) = await ValidateAsync(without, with, policy);

        var pair = Assert.Single(record.Pairs);
        Assert.Equal((0, 8), (pair.With.Failures, pair.With.Runs));
        Assert.Equal(2, pair.ErroredWith);
        Assert.Contains("2 patched repeats ended in ERROR and are not counted", pair.Reason);
        Assert.Equal(PatchVerdict.Inconclusive, pair.Verdict);   // 0/8 bounds the rate only to 31.2 % > 30 %
        Assert.Equal("≤ 31.24 % (one-sided 95 %)", pair.Bound);
    }

    [Fact]
    public async Task A_bug_that_never_shows_is_not_reproduced_with_its_own_exit_code()
    {
        var without = new ScriptedMachine(_ => Step.Pass);
        var with = new ScriptedMachine(_ => Step.Pass);
        var policy = new VerdictPolicy(BatchSize: 10, MaxResidual: 0.3, MaxRunsPerSide: 40);

        var (record, _) = await ValidateAsync(without, with, policy);

        var pair = Assert.Single(record.Pairs);
        Assert.Equal(PatchVerdict.NotReproduced, pair.Verdict);
        Assert.Equal(LoopEnd.Decided, pair.End);
        Assert.Single(pair.Looks);   // 0/10 bounds the unpatched rate to 25.9 % ≤ 30 %
        Assert.Contains("never corrupted on the unpatched kernel", pair.Reason);
        Assert.Equal(6, ValidateCommand.ExitCode(record));
    }

    [Fact]
    public async Task Every_verdict_line_prints_the_one_sided_bound_and_intervals_say_two_sided()
    {
        var without = new ScriptedMachine(_ => Step.Fail);
        var with = new ScriptedMachine(_ => Step.Pass);
        var policy = new VerdictPolicy(BatchSize: 6, MaxResidual: 0.3, MaxRunsPerSide: 30);

        var (record, _) = await ValidateAsync(without, with, policy);
        var table = ValidationTable.Render(record);
        var progress = _progress.ToString();
        output.WriteLine(progress);
        output.WriteLine(table);

        Assert.Contains("ext4/tiny: FIXES, patched rate ≤ 22.1 % (one-sided 95 %)", table);
        Assert.Contains("two-sided 95 % Clopper-Pearson intervals", table);
        Assert.Contains("FIXES needs the patched rate ≤ 30 % (one-sided 95 %): 9 clean patched runs", table);
        Assert.Contains("1 pair, so no correction over pairs", table);
        Assert.Contains("look 1: without 6/6 failed (2 guests), with 0/6 failed (2 guests), patched rate ≤ 39.31 % (one-sided 95 %) -> INCONCLUSIVE", progress);
        Assert.Contains("look 2: without 6/6 failed (2 guests), with 0/12 failed (4 guests), patched rate ≤ 22.1 % (one-sided 95 %) -> FIXES", progress);
        Assert.All(record.Pairs[0].Looks, l => Assert.EndsWith("(one-sided 95 %)", l.Bound));
    }

    [Fact]
    public async Task Two_pairs_split_alpha_and_the_residual_confidence()
    {
        var without = new ScriptedMachine(_ => Step.Fail);
        var with = new ScriptedMachine(_ => Step.Pass);
        var policy = new VerdictPolicy(BatchSize: 6, MaxResidual: 0.3, MaxRunsPerSide: 30);

        var (record, _) = await ValidateAsync(without, with, policy, FilesystemCatalog.Find("ext4"), FilesystemCatalog.Find("xfs"));

        Assert.Equal(2, record.Policy.Pairs);
        Assert.Equal(0.01 / (5 * 2), record.Pairs[0].AlphaPerLook, 1e-15);
        Assert.All(record.Pairs, p => Assert.EndsWith("(one-sided 97.5 %)", p.Bound));
        Assert.Contains("Bonferroni over 2 pairs", ValidationTable.Render(record));
        Assert.All(record.Pairs, p => Assert.Equal(PatchVerdict.Fixes, p.Verdict));
    }

    [Fact]
    public async Task A_machine_that_keeps_breaking_is_infrastructure_not_a_verdict()
    {
        var without = new ScriptedMachine(_ => Step.Fail);
        var with = new ScriptedMachine(_ => Step.MachineBreaks);
        var policy = new VerdictPolicy(BatchSize: 6, MaxResidual: 0.3, MaxRunsPerSide: 30);

        var (record, _) = await ValidateAsync(without, with, policy);

        var pair = Assert.Single(record.Pairs);
        Assert.Equal(LoopEnd.Uncountable, pair.End);
        Assert.Single(pair.Looks);
        Assert.Equal(2, pair.MachineFailures.Count(f => f.StartsWith("with look 1")));
        Assert.Equal(3, ValidateCommand.ExitCode(record));
    }

    [Fact]
    public void A_crashed_repeat_is_a_failure_and_an_errored_one_is_not_counted()
    {
        // CellRunner turns kernel deaths into CRASH repeats (Crashed); the validator's tally counts them
        // against the kernel next to FAIL, and keeps ERROR apart.
        var input = new CellInput("c", "ext4", "tiny", "tiny.yaml", "", 1, 6);
        var cell = new CellResult(input, Outcome.Crash, Passed: 2, Failed: 1, Errored: 1, null, new Dictionary<string, int>(), 0, "", 2, DateTimeOffset.UnixEpoch, 1) { Crashed = 2 };

        var tally = PatchValidator.Tally(cell);

        Assert.Equal(new GuestTally(Failures: 3, Runs: 5, Errored: 1), tally);
    }

    [Fact]
    public async Task Crashes_reported_by_guests_decide_regresses_in_the_loop()
    {
        // A patch whose kernel crashes in every repeat, on both guests, against a clean kernel: REGRESSES,
        // from the same tally the validator builds from cells.
        var policy = new VerdictPolicy(BatchSize: 10, MaxResidual: 0.3, MaxRunsPerSide: 10, Alpha: 0.05);
        GuestTally Cell(int repeats, int crashed) => PatchValidator.Tally(new CellResult(
            new CellInput("c", "ext4", "tiny", "tiny.yaml", "", 1, repeats), crashed > 0 ? Outcome.Crash : Outcome.Pass,
            repeats - crashed, 0, 0, null, new Dictionary<string, int>(), 0, "", 2, DateTimeOffset.UnixEpoch, 1) { Crashed = crashed });

        var result = await new VerdictLoop(policy).RunAsync((plan, _) => Task.FromResult(new LookTally(
            plan.Without.Select(n => Cell(n, 0)).ToArray(), plan.With.Select(n => Cell(n, n)).ToArray())), null, CancellationToken.None);

        Assert.Equal(PatchVerdict.Regresses, result.Call.Verdict);
        Assert.Equal(new RateCounts(10, 10) { FailingGuests = 2 }, result.With.Counts);
    }

    [Fact]
    public async Task A_tally_with_more_runs_than_planned_is_refused()
    {
        var policy = new VerdictPolicy(BatchSize: 10, MaxResidual: 0.3, MaxRunsPerSide: 10);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new VerdictLoop(policy).RunAsync((plan, _) => Task.FromResult(new LookTally(
            plan.Without.Select(n => new GuestTally(0, n + 1, 0)).ToArray(), plan.With.Select(n => new GuestTally(0, n, 0)).ToArray())), null, CancellationToken.None));

        Assert.Contains("asked for 5 repeats", error.Message);
    }

    [Fact]
    public async Task A_budget_ends_validate_INCONCLUSIVE_with_the_partial_counts_and_exit_4()
    {
        // Both kernels fail every other repeat and each repeat takes 40 ms: without a budget this runs
        // to the cap (200 repeats a side: at least 4 s even with both guests of a side at once); a
        // 2.5 s budget stops it after some looks. The margins are wide on purpose: look 1 (5 repeats
        // a guest, 0.2 s) must finish inside the budget on a loaded CI machine (0.6 s did not).
        var without = new ScriptedMachine(i => { Thread.Sleep(40); return i % 2 == 0 ? Step.Fail : Step.Pass; });
        var with = new ScriptedMachine(i => { Thread.Sleep(40); return i % 2 == 0 ? Step.Fail : Step.Pass; });
        var policy = new VerdictPolicy(BatchSize: 10, MaxResidual: 0.3, MaxRunsPerSide: 200);

        var (record, _) = await ValidateAsync(without, with, policy, TimeSpan.FromSeconds(2.5), [FilesystemCatalog.Find("ext4"), FilesystemCatalog.Find("xfs")]);

        Assert.True(record.BudgetReached);
        Assert.False(record.Interrupted);
        var pair = Assert.Single(record.Pairs);  // the xfs pair never started
        Assert.Equal(PatchVerdict.Inconclusive, pair.Verdict);
        Assert.Contains("budget reached", pair.Reason);
        Assert.True(pair.Without.Runs > 0 && pair.With.Runs > 0, "the partial counts are kept");
        Assert.True(pair.With.Runs < 200, $"{pair.With.Runs} repeats: the budget did not stop the looks");
        Assert.Equal(4, ValidateCommand.ExitCode(record));
    }

    [Fact]
    public async Task A_validation_cancelled_after_look_1_resumes_to_the_looks_counts_and_verdict_of_an_uninterrupted_run()
    {
        // Two pairs (ext4, xfs), each FIXES in two looks: look 1 boots 2 guests a side, look 2 only the
        // patched kernel. Patched cells run in this order: ext4 look 1 (2), ext4 look 2 (2), xfs look 1 (2),
        // xfs look 2 (2). Cancelling when the 7th patched cell starts stops xfs in look 2 with ext4 decided.
        Step Without(int i) => i % 4 == 3 ? Step.Pass : Step.Fail;
        Step With(int i) => i == 4 ? Step.Error : Step.Pass;   // one ERROR: the rebuilt counts must keep it apart too
        var policy = new VerdictPolicy(BatchSize: 6, MaxResidual: 0.3, MaxRunsPerSide: 30);
        FilesystemSpec[] both = [FilesystemCatalog.Find("ext4"), FilesystemCatalog.Find("xfs")];
        var (straight, _) = await ValidateAsync(new ScriptedMachine(Without), new ScriptedMachine(With), policy, null, both, null, "straight", CancellationToken.None);

        using var cancel = new CancellationTokenSource();
        var (cut, path) = await ValidateAsync(new ScriptedMachine(Without), new ScriptedMachine(With, n => { if (n == 7) cancel.Cancel(); }), policy, null, both, null, "results", cancel.Token);
        Assert.True(cut.Interrupted);
        Assert.Equal(130, ValidateCommand.ExitCode(cut));
        Assert.Equal(LoopEnd.Interrupted, cut.Pairs[^1].End);
        Assert.Contains("validate --resume", cut.StopReason);

        var without = new ScriptedMachine(Without);
        var with = new ScriptedMachine(With);
        var (resumed, resumedPath) = await ValidateAsync(without, with, policy, null, both, path, "results", CancellationToken.None);
        output.WriteLine(_progress.ToString());

        Assert.Equal(path, resumedPath);
        Assert.Equal(cut.RunId, resumed.RunId);
        Assert.False(resumed.Interrupted);
        Assert.Single(resumed.Resumed);
        Assert.Empty(without.Requests);   // ext4 kept, xfs look 1 rebuilt from its cell records, look 2 rests the unpatched kernel
        Assert.Equal([6, 9], with.Requests.Select(r => r.FirstIteration));   // only xfs look 2, redone with the same iteration numbers
        Assert.All(with.Requests, r => Assert.StartsWith("xfs-tiny-with-look02-", r.CellId));
        Assert.Equal(2, resumed.Pairs.Count);
        Assert.All(resumed.Pairs, p => Assert.Equal(PatchVerdict.Fixes, p.Verdict));
        // Looks, counts, errored repeats, bounds and verdicts exactly as the uninterrupted run's.
        Assert.Equal(Json(straight.Pairs), Json(resumed.Pairs));
        Assert.Equal(ValidateCommand.ExitCode(straight), ValidateCommand.ExitCode(resumed));
        Assert.Equal(0, ValidateCommand.ExitCode(resumed));

        // Finished now: a second resume is refused.
        var again = await Assert.ThrowsAsync<Harness.Yaml.InputException>(() => ValidateAsync(new ScriptedMachine(Without), new ScriptedMachine(With), policy, null, both, path, "results", CancellationToken.None));
        Assert.Contains("finished", again.Message);
    }

    [Fact]
    public async Task After_kill_9_cache_release_marks_validation_json_interrupted_and_resume_rebuilds_the_pair_in_progress()
    {
        // A kill -9 in xfs look 1 leaves validation.json with ext4 only, not finished, and a lock of a dead process.
        Step Without(int i) => Step.Fail;
        Step With(int i) => Step.Pass;
        var policy = new VerdictPolicy(BatchSize: 6, MaxResidual: 0.3, MaxRunsPerSide: 30);
        FilesystemSpec[] both = [FilesystemCatalog.Find("ext4"), FilesystemCatalog.Find("xfs")];
        var (straight, _) = await ValidateAsync(new ScriptedMachine(Without), new ScriptedMachine(With), policy, null, both, null, "straight", CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        // The 4th unpatched cell is xfs look 1 guest 2: xfs guest 1 of the unpatched side is recorded, the rest is not.
        var (cut, path) = await ValidateAsync(new ScriptedMachine(Without, n => { if (n == 4) cancel.Cancel(); }), new ScriptedMachine(With), policy, null, both, null, "results", cancel.Token);
        var killed = cut with { Pairs = cut.Pairs.Where(p => p.End != LoopEnd.Interrupted).ToArray(), Finished = null, Interrupted = false, StopReason = null };
        await AtomicFile.WriteJsonAsync(Path.Combine(path, "validation.json"), killed, CancellationToken.None);
        var work = Path.Combine(_scratch, "work", cut.RunId);
        Directory.CreateDirectory(work);
        using (var gone = System.Diagnostics.Process.Start("true")!) { gone.WaitForExit(); await WriteDeadLock(cut.RunId, gone.Id, work, path); }
        var refused = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            // While the lock is another live process's, resume is refused: here, this test process.
            await RunLock.TakeAsync(cut.RunId, Path.Combine(_scratch, "live"), path, TimeProvider.System, CancellationToken.None);
            try { await ValidateAsync(new ScriptedMachine(Without), new ScriptedMachine(With), policy, null, both, path, "results", CancellationToken.None); }
            finally { using var gone = System.Diagnostics.Process.Start("true")!; gone.WaitForExit(); await WriteDeadLock(cut.RunId, gone.Id, work, path); }
        });
        Assert.Contains("is still running", refused.Message);
        var report = new StringWriter();

        await StaleResources.ReleaseAsync(Path.Combine(_scratch, "work"), report, CancellationToken.None);

        output.WriteLine(report.ToString());
        var marked = RecordFormat.Read<ValidationRecord>(Path.Combine(path, "validation.json"));
        Assert.True(marked.Interrupted);
        Assert.Contains("gone before the run ended", marked.StopReason);
        Assert.Contains($"released validation record {path}", report.ToString());
        Assert.Contains("validate --resume", report.ToString());
        Assert.False(Directory.Exists(work));

        var without = new ScriptedMachine(Without);
        var with = new ScriptedMachine(With);
        var (resumed, _) = await ValidateAsync(without, with, policy, null, both, path, "results", CancellationToken.None);

        Assert.Equal(["xfs-tiny-without-look01-g2"], without.Requests.Select(r => r.CellId));   // the cell the kill cut
        Assert.Equal([3], without.Requests.Select(r => r.FirstIteration));
        Assert.Equal(["xfs-tiny-with-look01-g1", "xfs-tiny-with-look01-g2", "xfs-tiny-with-look02-g1", "xfs-tiny-with-look02-g2"], with.Requests.Select(r => r.CellId));
        Assert.Equal(Json(straight.Pairs), Json(resumed.Pairs));
        Assert.False(resumed.Interrupted);
    }

    [Fact]
    public async Task Resume_refuses_a_changed_case_or_policy_naming_what_changed()
    {
        var policy = new VerdictPolicy(BatchSize: 6, MaxResidual: 0.3, MaxRunsPerSide: 30);
        using var cancel = new CancellationTokenSource();
        var (_, path) = await ValidateAsync(new ScriptedMachine(_ => Step.Fail, n => cancel.Cancel()), new ScriptedMachine(_ => Step.Pass), policy, null, [], null, "results", cancel.Token);

        var policyChanged = await Assert.ThrowsAsync<Harness.Yaml.InputException>(() =>
            ValidateAsync(new ScriptedMachine(_ => Step.Fail), new ScriptedMachine(_ => Step.Pass), policy with { BatchSize = 8 }, null, [], path, "results", CancellationToken.None));
        Assert.Contains("the policy changed", policyChanged.Message);
        // ValidateAsync writes the case file afresh; a different content is a different case.
        var fsChanged = await Assert.ThrowsAsync<Harness.Yaml.InputException>(() =>
            ValidateAsync(new ScriptedMachine(_ => Step.Fail), new ScriptedMachine(_ => Step.Pass), policy, null, [FilesystemCatalog.Find("xfs")], path, "results", CancellationToken.None));
        Assert.Contains("changed since validation", fsChanged.Message);
        Assert.Contains(path, fsChanged.Message);
        // Another patch file (its digest) under the same name, and another kernel build, are other comparisons.
        var recorded = RecordFormat.Read<ValidationRecord>(Path.Combine(path, "validation.json"));
        var patchChanged = Assert.Throws<Harness.Yaml.InputException>(() => PatchValidator.OpenForResume(path, recorded with { PatchSha256 = "ab12" }));
        Assert.Contains("the patch digest changed", patchChanged.Message);
        var kernelChanged = Assert.Throws<Harness.Yaml.InputException>(() => PatchValidator.OpenForResume(path, recorded with { Kernels = [recorded.Kernels[0] with { Release = "6.1.1-other" }, recorded.Kernels[1]] }));
        Assert.Contains("the kernels changed", kernelChanged.Message);
        // A rebuild under the same name and release is told by the image's digest.
        var identity = new KernelIdentity("aa11aa11aa11aa11", null, "QEMU emulator version 7.2.0", "aio=threads,cache=unsafe", "tcg");
        var withDigests = recorded with { Kernels = recorded.Kernels.Select(k => k with { Identity = identity }).ToArray() };
        var rebuilt = withDigests with { Kernels = [withDigests.Kernels[0] with { Identity = identity with { BzImageSha256 = "bb22bb22bb22bb22" } }, withDigests.Kernels[1]] };
        await AtomicFile.WriteJsonAsync(Path.Combine(path, "validation.json"), withDigests, CancellationToken.None);
        var imageChanged = Assert.Throws<Harness.Yaml.InputException>(() => PatchValidator.OpenForResume(path, rebuilt));
        Assert.Contains("the kernel images changed", imageChanged.Message);
        Assert.Contains("bb22bb22bb22", imageChanged.Message);
        Assert.Equal(recorded.RunId, PatchValidator.OpenForResume(path, withDigests).Record.RunId);
        // A record from before digests resumes (nothing to compare), as does the same request.
        await AtomicFile.WriteJsonAsync(Path.Combine(path, "validation.json"), recorded, CancellationToken.None);
        Assert.Equal(recorded.RunId, PatchValidator.OpenForResume(path, rebuilt).Record.RunId);
        Assert.Equal(recorded.RunId, PatchValidator.OpenForResume(path, recorded).Record.RunId);   // and the same request is accepted
    }

    private static string Json(IReadOnlyList<PairVerdict> pairs) => System.Text.Json.JsonSerializer.Serialize(pairs);

    private static async Task WriteDeadLock(string runId, int pid, string work, string results)
    {
        var info = new Harness.Runs.RunLockInfo(runId, pid, 1, work, results, DateTimeOffset.UnixEpoch);
        await AtomicFile.WriteJsonAsync(Path.Combine(work, Harness.Runs.RunLock.FileName), info, CancellationToken.None);
        await AtomicFile.WriteJsonAsync(Path.Combine(results, Harness.Runs.RunLock.FileName), info, CancellationToken.None);
    }

    private Task<(ValidationRecord Record, string Path)> ValidateAsync(ScriptedMachine without, ScriptedMachine with, VerdictPolicy policy, params FilesystemSpec[] filesystems) =>
        ValidateAsync(without, with, policy, null, filesystems);

    private Task<(ValidationRecord Record, string Path)> ValidateAsync(ScriptedMachine without, ScriptedMachine with, VerdictPolicy policy, TimeSpan? budget, FilesystemSpec[] filesystems) =>
        ValidateAsync(without, with, policy, budget, filesystems, null, "results", CancellationToken.None);

    private async Task<(ValidationRecord Record, string Path)> ValidateAsync(ScriptedMachine without, ScriptedMachine with, VerdictPolicy policy, TimeSpan? budget,
        FilesystemSpec[] filesystems, string? resumeFrom, string results, CancellationToken cancellationToken)
    {
        var caseFile = Path.Combine(_scratch, "tiny.yaml");
        await File.WriteAllTextAsync(caseFile, "# the scripted machine never reads this; the validator hashes it\n");
        var @case = new CaseSpec("tiny", "generic/240's pattern, 16 IOs", "sub-block zeroing", null,
            new WorkloadSpec(FileSize: 17 * 4096, FsBlockSize: 4096, IoSize: 4096, Alignment: 512, Pattern: IoPattern.Stride, Stride: 4096,
                Start: 512, QueueDepth: 2, IoCount: 16, Preparation: FilePreparation.Sparse, DirtyBytes: 0, Seed: 240),
            [ReadbackStep.AfterFsync], 1, caseFile);
        ValidationSide Side(string label, ScriptedMachine machine) => new(label, new KernelImage(label, "6.1-fake", "/nonexistent/bzImage", null, $"scripted {label}"), machine);
        var request = new ValidationRequest(Side("without", without), Side("with", with), null,
            filesystems.Length == 0 ? [FilesystemCatalog.Find("ext4")] : filesystems, [@case], policy,
            Path.Combine(_scratch, "work"), "test", Parallel: false) { Budget = budget, Arguments = ["--kernel", "scripted"], ResumeFrom = resumeFrom };
        return await new PatchValidator(new ResultStore(Path.Combine(_scratch, results)), TimeProvider.System, _progress).RunAsync(request, cancellationToken);
    }

    /// <summary>A machine whose every iteration follows a script keyed by iteration number; it records what it was asked.</summary>
    private sealed class ScriptedMachine(Func<int, Step> script, Action<int>? onRequest = null) : IMachine
    {
        private readonly List<CellRequest> _requests = [];
        private int _iterations;

        public IReadOnlyList<CellRequest> Requests { get { lock (_requests) return _requests.ToArray(); } }

        public int IterationsRun => Volatile.Read(ref _iterations);

        public string Kind => "scripted";

        public Task<string?> CheckAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(null);

        public MachineFacts Describe() => new("scripted", "6.1-fake", 2, "scripted guest");

        public async IAsyncEnumerable<IterationRaw> RunCellAsync(CellRequest cell, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            int count;
            lock (_requests) { _requests.Add(cell); count = _requests.Count; }
            // A test's hook (e.g. cancel the validation when the Nth cell starts), before any repeat runs.
            onRequest?.Invoke(count);
            for (var i = 0; i < cell.Repeats; i++)
            {
                await Task.Yield();
                // Like a real machine: a cancel ends the cell between iterations.
                cancellationToken.ThrowIfCancellationRequested();
                var iteration = cell.FirstIteration + i;
                var step = script(iteration);
                if (step == Step.MachineBreaks) throw new MachineException("qemu would not start (scripted)");
                Interlocked.Increment(ref _iterations);
                if (step == Step.Error)
                {
                    yield return new IterationRaw(iteration, null, null, "agent died (scripted)");
                    continue;
                }
                var plan = PlanBuilder.Build(cell.Case.Workload, iteration);
                var disk = new SyntheticDisk(plan).LandAll();
                if (step == Step.Fail) disk.Zero(1, 1);   // IO 0's first sector: an acknowledged write lost
                var report = new AgentReport(AgentPhase.Write, "6.1-fake", 2, SyntheticIos.Sequential(plan), [disk.Read()], 0.01, null);
                yield return new IterationRaw(iteration, report, null, null);
            }
        }
    }
}
