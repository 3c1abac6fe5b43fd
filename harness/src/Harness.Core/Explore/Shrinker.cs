// Reduces a failing case to a smaller one that still fails: fewer IOs, lower queue depth, a
// smaller file, no dirt, one read-back, simpler sizes and kinds (stride pattern, sparse file,
// sector alignment), greedily, until no single step keeps the failure (a local minimum, as
// Hypothesis and delta debugging do).
//
// Races are flaky, so "still fails" is a statistical claim, made per candidate:
//   keep a candidate only if the one-sided lower confidence bound (Clopper-Pearson) on its
//   failure rate is above Policy.MinRate;
//   drop it as soon as the one-sided upper bound is below MinRate, or after MaxRuns.
// Why this rule: a case that never fails (rate 0) never shows a failure, so its lower bound stays
// 0 and it can never be kept: a passing case is never returned, whatever the luck. A case that
// fails rarely is not kept either, unless the runs show with confidence that it fails at least
// MinRate of the time: a reproducer attached to a bug report must fail often enough to be rerun.
// A candidate is looked at after every Batch runs; each look uses confidence 1 - α/looks
// (Bonferroni over the looks), so one candidate is kept wrongly (true rate ≤ MinRate) with
// probability at most α. Failures count only with the original's signature (its finding
// classes or crash kind), so a reduction never drifts into a different bug.
using Harness.Cases;
using Harness.Verdicts;
using Harness.Workload;
using Harness.Yaml;

namespace Harness.Explore;

/// <summary>What a batch of runs of one candidate showed: how many runs, and how many failed with the sought signature.</summary>
public sealed record TrialResult(int Runs, int Failures, string? FirstFinding = null);

/// <summary>Runs a case <c>repeats</c> times and counts the runs that failed with <c>signature</c>.</summary>
public delegate Task<TrialResult> CaseTrial(CaseSpec candidate, int repeats, string signature, CancellationToken cancellationToken);

/// <summary>How sure the shrinker must be that a candidate still fails.</summary>
public sealed record ShrinkPolicy(double MinRate = 0.1, double Alpha = 0.05, int Batch = 5, int MaxRuns = 30, int MaxCandidates = 400)
{
    public int Looks => (MaxRuns + Batch - 1) / Batch;

    /// <summary>Confidence of each look's one-sided bounds (Bonferroni over the looks).</summary>
    public double LookConfidence => 1 - Alpha / Looks;

    public void Validate()
    {
        if (!(MinRate > 0 && MinRate < 1)) throw new ArgumentOutOfRangeException(nameof(MinRate), MinRate, "the least failure rate must be strictly between 0 and 1");
        if (!(Alpha > 0 && Alpha < 1)) throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "alpha must be strictly between 0 and 1");
        if (Batch < 1 || MaxRuns < Batch) throw new ArgumentOutOfRangeException(nameof(MaxRuns), MaxRuns, "need 1 <= batch <= max runs");
        if (MaxCandidates < 1) throw new ArgumentOutOfRangeException(nameof(MaxCandidates), MaxCandidates, "at least one candidate");
    }
}

/// <summary>One decision of the shrinker, for the log and the record.</summary>
public sealed record ShrinkStep(string Change, int Runs, int Failures, double Lower, double Upper, bool Kept);

/// <summary>The shrinker's answer: the smallest case kept, its measured rate, and every step.</summary>
public sealed record ShrinkResult(CaseSpec Minimal, bool Reproduced, int Runs, int Failures, double Lower, double Upper, string? FirstFinding, IReadOnlyList<ShrinkStep> Steps)
{
    /// <summary>The budget or a signal stopped it: <see cref="Minimal"/> is the smallest case kept so far (it met the rule).</summary>
    public bool Interrupted { get; init; }

    /// <summary>The original did not meet the rule when re-run: nothing was shrunk.</summary>
    public bool Shrunk => Steps.Any(s => s.Kept && s.Change != "original");
}

public sealed class Shrinker(CaseTrial trial, ShrinkPolicy policy, TextWriter? log = null)
{
    /// <summary>Shrinks <paramref name="failing"/>, whose failures carry <paramref name="signature"/>.</summary>
    public async Task<ShrinkResult> ShrinkAsync(CaseSpec failing, string signature, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(failing);
        policy.Validate();
        var steps = new List<ShrinkStep>();
        // The original is held to the same rule first: a one-off failure is reported as such, not shrunk.
        Judged first;
        try { first = await JudgeAsync(failing, "original", signature, steps, 0, cancellationToken); }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return new ShrinkResult(failing, false, 0, 0, 0, 1, null, steps) { Interrupted = true };
        }
        if (!first.Kept)
            return new ShrinkResult(failing, false, first.Runs, first.Failures, first.Lower, first.Upper, first.FirstFinding, steps);
        var current = failing;
        var best = first;
        var tried = new HashSet<WorkloadKey>();
        var budget = policy.MaxCandidates;
        var interrupted = false;
        bool progress;
        try
        {
            do
            {
                progress = false;
                foreach (var (change, candidate) in Candidates(current))
                {
                    if (budget-- <= 0) break;
                    // The same shape twice (a step back to where a kept change came from) is not run again.
                    if (!tried.Add(new WorkloadKey(candidate.Workload, candidate.Readback.Count))) continue;
                    // Half the original's rate: a candidate shown to fail less often than that is dropped early.
                    var judged = await JudgeAsync(candidate, change, signature, steps, 0.5 * first.Failures / first.Runs, cancellationToken);
                    if (!judged.Kept) continue;
                    current = candidate;
                    best = judged;
                    progress = true;
                    break; // restart from the smaller case: its own candidates are smaller still
                }
            }
            while (progress && budget > 0);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // What was kept so far met the rule; the candidate in progress decided nothing.
            interrupted = true;
        }
        return new ShrinkResult(current, true, best.Runs, best.Failures, best.Lower, best.Upper, best.FirstFinding ?? first.FirstFinding, steps) { Interrupted = interrupted };
    }

    private sealed record Judged(bool Kept, int Runs, int Failures, double Lower, double Upper, string? FirstFinding);

    private sealed record WorkloadKey(WorkloadSpec Workload, int Readbacks);

    private async Task<Judged> JudgeAsync(CaseSpec candidate, string change, string signature, List<ShrinkStep> steps, double dropBelow, CancellationToken cancellationToken)
    {
        int runs = 0, failures = 0;
        string? finding = null;
        double lower = 0, upper = 1;
        bool? kept = null;
        while (kept is null)
        {
            var batch = Math.Min(policy.Batch, policy.MaxRuns - runs);
            var result = await trial(candidate, batch, signature, cancellationToken);
            // A batch that ran nothing (the machine broke) decides nothing: the candidate is dropped, never kept.
            if (result.Runs <= 0) { kept = false; break; }
            runs += result.Runs;
            failures += result.Failures;
            finding ??= result.FirstFinding;
            (lower, upper) = Bounds(failures, runs, policy.LookConfidence);
            if (lower > policy.MinRate) kept = true;
            else if (upper < Math.Max(policy.MinRate, dropBelow) || runs >= policy.MaxRuns) kept = false;
        }
        steps.Add(new ShrinkStep(change, runs, failures, lower, upper, kept.Value));
        log?.WriteLine($"  shrink: {change}: {failures}/{runs} failed (rate {lower:0.###}..{upper:0.###}) -> {(kept.Value ? "kept" : "dropped")}");
        return new Judged(kept.Value, runs, failures, lower, upper, finding);
    }

    /// <summary>One-sided lower and upper Clopper-Pearson bounds, each at <paramref name="confidence"/>.</summary>
    public static (double Lower, double Upper) Bounds(int failures, int runs, double confidence)
    {
        // A two-sided interval at 2c-1 has a tail of 1-c on each side: its lower end is the one-sided lower bound at c.
        var lower = Statistics.ClopperPearson(failures, runs, 2 * confidence - 1).Lower;
        return (lower, Statistics.ClopperPearsonUpper(failures, runs, confidence));
    }

    /// <summary>
    /// Smaller neighbours of <paramref name="c"/>, biggest cut first. Each is loaded through
    /// CaseLoader (via YAML), so only valid cases are offered; a neighbour the loader refuses is skipped.
    /// </summary>
    public static IEnumerable<(string Change, CaseSpec Candidate)> Candidates(CaseSpec c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var w = c.Workload;
        var raw = new List<(string, CaseSpec)>();
        void Add(string change, WorkloadSpec next, IReadOnlyList<ReadbackStep>? readback = null)
        {
            next = Fit(ClampOps(next));
            var candidate = c with { Workload = next, Readback = readback ?? c.Readback };
            if (candidate.Workload == w && candidate.Readback.SequenceEqual(c.Readback)) return;
            raw.Add((change, candidate));
        }

        // The smallest file that holds the workload as it is.
        Add($"file.size {w.FileSize} -> fit", w);
        // Fewer operation kinds: none at all, then one kind less.
        if (w.Ops.Count > 0)
        {
            Add("ops -> none", w with { Ops = [] });
            var kinds = w.Ops.Select(op => op.Kind).Distinct().ToList();
            if (kinds.Count > 1 || w.Ops.Count > 1)
                foreach (var kind in kinds)
                    Add($"ops -> without {OpWords.Word(kind)}", w with { Ops = Reindex(w.Ops.Where(op => op.Kind != kind)) });
        }
        // Fewer IOs: down to 2, half, three quarters, one less.
        foreach (var count in new[] { 2, w.IoCount / 2, w.IoCount * 3 / 4, w.IoCount - 1 }.Where(n => n >= 1 && n < w.IoCount).Distinct())
            Add($"io.count {w.IoCount} -> {count}", w with { IoCount = count, QueueDepth = Math.Min(w.QueueDepth, count) });
        // Lower queue depth.
        foreach (var qd in new[] { 2, w.QueueDepth / 2, w.QueueDepth - 1 }.Where(q => q >= 1 && q < w.QueueDepth).Distinct())
            Add($"io.queue-depth {w.QueueDepth} -> {qd}", w with { QueueDepth = qd });
        // No dirt, then half.
        if (w.DirtyBytes > 0)
        {
            Add($"dirty-free-space {w.DirtyBytes} -> 0", w with { DirtyBytes = 0 });
            var half = w.DirtyBytes / 2 >> 20 << 20;
            if (half > 0 && half < w.DirtyBytes) Add($"dirty-free-space {w.DirtyBytes} -> {half}", w with { DirtyBytes = half });
        }
        // Fewer kinds: one read-back, the stride pattern, a sparse file, sector alignment.
        if (c.Readback.Count > 1)
            foreach (var step in c.Readback)
                Add($"readback -> [{CaseText.Word(step)}]", w, [step]);
        if (w.Pattern != IoPattern.Stride) Add($"io.pattern {CaseText.Word(w.Pattern)} -> stride", w with { Pattern = IoPattern.Stride });
        if (w.Preparation != FilePreparation.Sparse) Add($"file.preparation {CaseText.Word(w.Preparation)} -> sparse", w with { Preparation = FilePreparation.Sparse });
        if (w.Alignment != SectorFormat.SectorSize) Add($"io.alignment {w.Alignment} -> {SectorFormat.SectorSize}", w with { Alignment = SectorFormat.SectorSize });
        // Simpler sizes: an IO of one fs block, or half as long; a start within the first block; a stride of one IO.
        if (w.IoSize != w.FsBlockSize && w.Pattern != IoPattern.RandomSubBlock) Add($"io.size {w.IoSize} -> {w.FsBlockSize}", w with { IoSize = w.FsBlockSize, Stride = w.Stride == w.IoSize ? w.FsBlockSize : w.Stride });
        var halfIo = w.IoSize / 2 / w.Alignment * w.Alignment;
        if (halfIo >= w.Alignment && halfIo < w.IoSize) Add($"io.size {w.IoSize} -> {halfIo}", w with { IoSize = halfIo });
        if (w.Start >= w.FsBlockSize) Add($"io.start {w.Start} -> {w.Start % w.FsBlockSize}", w with { Start = w.Start % w.FsBlockSize });
        if (w.Pattern is IoPattern.Stride or IoPattern.RandomStride && w.Stride != w.IoSize) Add($"io.stride {w.Stride} -> {w.IoSize}", w with { Stride = w.IoSize });

        foreach (var (change, candidate) in raw)
        {
            CaseSpec loaded;
            try { loaded = CaseYaml.RoundTrip(candidate, c.SourceFile).Case; }
            catch (InputException) { continue; }
            yield return (change, loaded);
        }
    }

    private static PlannedOp[] Reindex(IEnumerable<PlannedOp> ops) => ops.Select((op, i) => op with { Index = i }).ToArray();

    // Fewer IOs: an op that waited for an IO no longer planned now waits for the last one.
    private static WorkloadSpec ClampOps(WorkloadSpec w) =>
        w.Ops.Any(op => op.AfterIo >= w.IoCount) ? w with { Ops = w.Ops.Select(op => op with { AfterIo = Math.Min(op.AfterIo, w.IoCount - 1) }).ToArray() } : w;

    /// <summary>The smallest file that holds the workload (what every candidate gets: a smaller file is always simpler).</summary>
    private static WorkloadSpec Fit(WorkloadSpec w)
    {
        long need = w.Pattern switch
        {
            IoPattern.Stride or IoPattern.RandomStride => w.Start + (w.IoCount - 1) * w.Stride + w.IoSize,
            // Pieces of about IoCount blocks from the start's block on (a block can hold a single piece only, then is skipped: keep slack).
            IoPattern.RandomSubBlock => RoundUp(w.Start, w.FsBlockSize) + 2L * (w.IoCount + 1) * w.FsBlockSize,
            _ => w.Start + w.IoSize + (long)w.IoCount * w.Stride,
        };
        // The ops' ranges and truncate sizes must stay inside the file too.
        foreach (var op in w.Ops) need = Math.Max(need, op.Kind == OpKind.Truncate ? op.Offset : op.End);
        var size = Math.Min(w.FileSize, Math.Max(w.FsBlockSize, RoundUp(need, w.FsBlockSize)));
        return w with { FileSize = size };
    }

    private static long RoundUp(long value, long unit) => (value + unit - 1) / unit * unit;
}
