// Tonight against the baseline, cell by cell, with validate's statistics and nothing new: the
// baseline's counts are validate's "without" side, tonight's its "with" side, one look at the cap
// (a nightly runs a fixed number of repeats), Bonferroni over the plan's cells. One run going
// PASS -> FAIL is not a regression: REGRESSES needs Fisher's test below alpha and failures on at
// least two guests, exactly as validate's REGRESSES does.
using Harness.Results;
using Harness.Verdicts;

namespace Harness.Nightly;

/// <summary>Tonight's cells against the baseline's, by validate's rules; the nightly's exit code.</summary>
public static class NightlyComparer
{
    /// <summary>The nightly word for a validate verdict: NO CHANGE and NOT REPRODUCED are both SAME.</summary>
    public static NightlyWord Word(PatchVerdict verdict) => verdict switch
    {
        PatchVerdict.Regresses => NightlyWord.Regresses,
        PatchVerdict.Fixes => NightlyWord.Fixes,
        PatchVerdict.NoChange or PatchVerdict.NotReproduced => NightlyWord.Same,
        _ => NightlyWord.Undecided,
    };

    /// <summary>Compares every cell of tonight with the baseline's cell of the same kernel, setup and case.</summary>
    public static IReadOnlyList<NightlyComparison> Compare(VerdictPolicy policy, NightlyRecord? baseline, IReadOnlyList<NightlyCell> tonight)
    {
        var old = (baseline?.Cells ?? []).ToDictionary(c => c.Key);
        return tonight.Select(cell => old.TryGetValue(cell.Key, out var was) ? Compare(policy, was, cell)
            : new NightlyComparison(cell.Kernel, cell.Setup, cell.Case, NightlyWord.New, null, null, null, cell.Counts, null, cell.KernelIdentity, false, null,
                baseline is null ? "no baseline: the first nightly of this plan (name and content hash)" : "the baseline has no such cell")).ToArray();
    }

    /// <summary>One cell: validate's Classify with the baseline as "without" and tonight as "with", at the cap.</summary>
    public static NightlyComparison Compare(VerdictPolicy policy, NightlyCell baseline, NightlyCell tonight)
    {
        var call = VerdictRules.Classify(baseline.Counts, tonight.Counts, policy, look: 1, final: true);
        var word = Word(call.Verdict);
        var changed = baseline.KernelIdentity != tonight.KernelIdentity;
        var kernels = changed ? $"{baseline.KernelIdentity} -> {tonight.KernelIdentity}" : $"unchanged {tonight.KernelIdentity}";
        var reason = $"validate {PatchVerdicts.Word(call.Verdict)} ({EnumWords.Kebab(call.Basis)}): baseline {Counts(baseline.Counts)}, tonight {Counts(tonight.Counts)}; " +
                     $"p = {VerdictRules.Number(call.PValue)} {(call.PValue < call.AlphaAtThisLook ? "<" : "≥")} {VerdictRules.Number(call.AlphaAtThisLook)} " +
                     $"(alpha {VerdictRules.Number(policy.Alpha)} over {policy.Pairs} cells); kernel {kernels}";
        return new NightlyComparison(tonight.Kernel, tonight.Setup, tonight.Case, word, PatchVerdicts.Word(call.Verdict), call.Basis,
            baseline.Counts, tonight.Counts, baseline.KernelIdentity, tonight.KernelIdentity, changed, call.PValue, reason);
    }

    /// <summary>
    /// A plan cell from its guests' cell records: counted runs summed (FAIL and CRASH failures, PASS clean),
    /// each guest's failures counted once towards the failing guests, ERROR and SKIP apart.
    /// </summary>
    public static NightlyCell CellOf(string kernel, string setup, string @case, string identity, IReadOnlyList<CellResult> guests, int plannedGuests)
    {
        var counts = new RateCounts(0, 0);
        foreach (var g in guests) counts = counts.Add(RateCounts.OfGuest(g.Failed + g.Crashed, g.Passed + g.Failed + g.Crashed));
        // A guest that never ran leaves the cell undecided at best, as a run's missing cell does.
        var outcome = Outcomes.Combine(guests.Select(g => g.Outcome).Concat(guests.Count < plannedGuests ? [Outcome.Skip] : []));
        var error = guests.Select(g => g.Failure is { } f ? $"[{f.Kind}] {f.Message}" : g.Outcome is Outcome.Error ? g.Error : null).FirstOrDefault(e => e is not null);
        return new NightlyCell(kernel, setup, @case, identity, guests.Select(g => g.Input.CellId).ToArray(), counts,
            guests.Sum(g => g.Errored), guests.Sum(g => g.Skipped), outcome, error);
    }

    /// <summary>
    /// The nightly's exit code: 1 some cell REGRESSES; 3 some cell counted no run tonight (infrastructure);
    /// 4 some cell UNDECIDED; 0 otherwise (SAME, FIXES, or nothing to compare with yet).
    /// </summary>
    public static int ExitCode(IReadOnlyList<NightlyComparison> comparisons)
    {
        if (comparisons.Any(c => c.Word == NightlyWord.Regresses)) return 1;
        if (comparisons.Count == 0 || comparisons.Any(c => c.Tonight.Runs == 0)) return 3;
        if (comparisons.Any(c => c.Word == NightlyWord.Undecided)) return 4;
        return 0;
    }

    private static string Counts(RateCounts c) => $"{c.Failures}/{c.Runs} failed ({c.FailingGuests} failing guest(s))";
}

/// <summary>Finds the baseline: the newest complete nightly of the same plan name and content hash, or an imported one.</summary>
public static class NightlyBaseline
{
    public const string RecordName = "nightly.json";

    /// <summary>
    /// The newest complete nightly.json under <paramref name="resultsRoot"/> (one folder deep) whose plan has
    /// this name and hash; a record of another hash (the plan was edited) is never a baseline. Unreadable
    /// records are reported on <paramref name="progress"/> and skipped.
    /// </summary>
    public static (NightlyRecord Record, string Path)? FindLatest(string resultsRoot, string planName, string planSha256, string? excludeId, TextWriter progress)
    {
        if (!Directory.Exists(resultsRoot)) return null;
        (NightlyRecord, string)? best = null;
        foreach (var folder in Directory.EnumerateDirectories(resultsRoot))
        {
            var path = System.IO.Path.Combine(folder, RecordName);
            if (!File.Exists(path) || System.IO.Path.GetFileName(folder) == excludeId) continue;
            NightlyRecord record;
            try { record = RecordFormat.Read<NightlyRecord>(path); }
            catch (RecordFormatException e) { progress.WriteLine($"nightly: skipping an unreadable record: {e.Message}"); continue; }
            if (record.PlanName != planName || record.PlanSha256 != planSha256 || !record.Complete) continue;
            if (best is null || record.Started > best.Value.Item1.Started) best = (record, path);
        }
        return best;
    }

    /// <summary>
    /// --baseline: a nightly folder (or its nightly.json) from elsewhere, e.g. the artifact of last night's CI
    /// runner. It must be a complete nightly of this very plan; anything else is an input error naming why.
    /// </summary>
    public static (NightlyRecord Record, string Path) Import(string given, string planName, string planSha256)
    {
        var path = Directory.Exists(given) ? System.IO.Path.Combine(given, RecordName) : given;
        Yaml.InputException Bad(string why) => new(new Yaml.InputProblem("--baseline", 0, 0, "--baseline", why));
        if (!File.Exists(path)) throw Bad($"{given}: no {RecordName} there; pass a nightly folder (results/<nightly-id>) or its {RecordName}");
        NightlyRecord record;
        try { record = RecordFormat.Read<NightlyRecord>(path); }
        catch (RecordFormatException e) { throw Bad(e.Message); }
        if (record.PlanName != planName) throw Bad($"{path} is a nightly of plan '{record.PlanName}', not '{planName}'");
        if (record.PlanSha256 != planSha256)
            throw Bad($"{path} ran another version of plan '{planName}' (content hash {Short(record.PlanSha256)}, this plan {Short(planSha256)}): its cells may differ; only the same plan is a baseline");
        if (!record.Complete) throw Bad($"{path}: nightly {record.NightlyId} did not finish (interrupted); it cannot be a baseline");
        return (record, System.IO.Path.GetFullPath(path));
    }

    private static string Short(string sha) => sha.Length > 12 ? sha[..12] : sha;
}
