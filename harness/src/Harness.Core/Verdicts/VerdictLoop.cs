// The look/stop procedure of `harness validate`, shared by PatchValidator (real guests) and the
// simulation test (seeded coin flips), so what the simulation measures is what validate does:
// plan a look (repeats per guest per side, never past the cap), run it through a delegate, add
// the tallies up, classify, then stop or look again.
namespace Harness.Verdicts;

/// <summary>
/// What one look asks of each side: repeats per guest (one cell, one boot each); an empty list means
/// the side rests this look. <c>*FirstRepeat</c> numbers the side's first repeat in this look, so
/// every repeat of a side gets its own iteration number (and run tag) across looks and guests.
/// </summary>
public sealed record LookPlan(int Look, bool Final, IReadOnlyList<int> Without, IReadOnlyList<int> With, int WithoutFirstRepeat, int WithFirstRepeat);

/// <summary>
/// What one guest brought back: <paramref name="Failures"/> (FAIL or CRASH) among <paramref name="Runs"/>
/// counted repeats (PASS, FAIL, CRASH), and <paramref name="Errored"/> repeats that ended in ERROR.
/// </summary>
public sealed record GuestTally(int Failures, int Runs, int Errored);

/// <summary>A look's tallies, one per planned guest, in plan order.</summary>
public sealed record LookTally(IReadOnlyList<GuestTally> Without, IReadOnlyList<GuestTally> With);

/// <summary>Where a side stands: counted runs (with failing guests), repeats asked for, guests booted, errored repeats.</summary>
public sealed record SideProgress(RateCounts Counts, int Repeats, int Guests, int Errored)
{
    public static SideProgress Empty { get; } = new(new RateCounts(0, 0), 0, 0, 0);
}

/// <summary>The state after one look.</summary>
public sealed record LookState(LookPlan Plan, SideProgress Without, SideProgress With, VerdictCall Call);

/// <summary>Why the loop ended.</summary>
public enum LoopEnd
{
    /// <summary>Stopped before the cap: a verdict (or a settled "improves but still corrupts") was reached.</summary>
    Decided,
    /// <summary>The run cap was reached (whatever the verdict at that last look).</summary>
    Cap,
    /// <summary>A side keeps ending without counted runs (machine errors): infrastructure, not a verdict.</summary>
    Uncountable,
    /// <summary>Cancelled (Ctrl-C, a CI timeout).</summary>
    Interrupted,
}

/// <summary>The loop's last call, why it ended, and every look.</summary>
public sealed record LoopResult(VerdictCall Call, LoopEnd End, IReadOnlyList<LookState> Looks, SideProgress Without, SideProgress With);

/// <summary>Runs the looks of one (filesystem, case) pair under a <see cref="VerdictPolicy"/>.</summary>
public sealed class VerdictLoop(VerdictPolicy policy)
{
    /// <summary>A side with this many errored repeats stops the pair: its machine, not its kernel, is failing.</summary>
    public const int MaxErroredPerSide = 3;

    /// <summary>
    /// Looks until <see cref="VerdictCall.Stops"/>, the cap, too many errors, or cancellation.
    /// <paramref name="runLook"/> runs the planned guests and returns one tally per guest; a tally
    /// with more counted runs than its guest was asked for is refused (it would break the cap).
    /// <paramref name="onLook"/> sees every look's state as soon as it is classified.
    /// </summary>
    public async Task<LoopResult> RunAsync(Func<LookPlan, CancellationToken, Task<LookTally>> runLook, Action<LookState>? onLook, CancellationToken cancellationToken)
    {
        policy.Validate();
        var without = SideProgress.Empty;
        var with = SideProgress.Empty;
        var looks = new List<LookState>();
        VerdictCall? call = null;
        var end = LoopEnd.Cap;
        for (var look = 1; look <= policy.MaxLooks; look++)
        {
            if (cancellationToken.IsCancellationRequested) { end = LoopEnd.Interrupted; break; }
            var plan = Plan(look, without, with);
            var tally = await runLook(plan, cancellationToken);
            without = Add(without, plan.Without, tally.Without, "without");
            with = Add(with, plan.With, tally.With, "with");
            call = VerdictRules.Classify(without.Counts, with.Counts, policy, look, plan.Final);
            var state = new LookState(plan, without, with, call);
            looks.Add(state);
            onLook?.Invoke(state);

            if (cancellationToken.IsCancellationRequested) { end = LoopEnd.Interrupted; break; }
            if (call.Stops) { end = plan.Final ? LoopEnd.Cap : LoopEnd.Decided; break; }
            var nothingCounted = (plan.Without.Count > 0 && tally.Without.Sum(t => t.Runs) == 0) || tally.With.Sum(t => t.Runs) == 0;
            if (without.Errored >= MaxErroredPerSide || with.Errored >= MaxErroredPerSide || nothingCounted) { end = LoopEnd.Uncountable; break; }
        }
        call ??= VerdictRules.Classify(without.Counts, with.Counts, policy, 1, final: false);
        return new LoopResult(call, end, looks, without, with);
    }

    /// <summary>
    /// The next look: BatchSize repeats a side, trimmed so no side passes MaxRunsPerSide, split over
    /// Guests guests (fewer only when the trimmed batch is smaller than that). While the patched side is
    /// clean, the unpatched side rests once its failures alone, on at least two guests, make a clean
    /// patched side of the size FIXES needs significant: more unpatched runs could not change the answer.
    /// </summary>
    public LookPlan Plan(int look, SideProgress without, SideProgress with)
    {
        var withBatch = Math.Min(policy.BatchSize, policy.MaxRunsPerSide - with.Repeats);
        // Only while the patched side is clean: once it has failed FIXES is out, and the question left,
        // REGRESSES, needs unpatched runs beside the patched ones.
        var unpatchedSettled = with.Counts.Failures == 0 && without.Counts.FailingGuests >= VerdictPolicy.MinFailingGuests &&
            Statistics.FisherExact(without.Counts.Failures, without.Counts.Runs, 0, Math.Max(policy.CleanRunsForBound, with.Counts.Runs)).Greater < policy.AlphaPerLook;
        var withoutBatch = unpatchedSettled ? 0 : Math.Min(policy.BatchSize, policy.MaxRunsPerSide - without.Repeats);
        var final = with.Repeats + withBatch >= policy.MaxRunsPerSide;
        return new LookPlan(look, final, Split(withoutBatch), Split(withBatch), without.Repeats, with.Repeats);
    }

    private IReadOnlyList<int> Split(int repeats)
    {
        if (repeats <= 0) return [];
        var guests = Math.Min(policy.Guests, repeats);
        return Enumerable.Range(0, guests).Select(g => repeats / guests + (g < repeats % guests ? 1 : 0)).ToArray();
    }

    private static SideProgress Add(SideProgress side, IReadOnlyList<int> planned, IReadOnlyList<GuestTally> tallies, string name)
    {
        if (tallies.Count != planned.Count)
            throw new InvalidOperationException($"{name}: {tallies.Count} guest tallies for {planned.Count} planned guests");
        var counts = side.Counts;
        var errored = side.Errored;
        for (var g = 0; g < planned.Count; g++)
        {
            var t = tallies[g];
            if (t.Runs > planned[g] || t.Failures > t.Runs || t.Failures < 0 || t.Errored < 0)
                throw new InvalidOperationException($"{name} guest {g + 1}: {t.Failures} failures in {t.Runs} counted runs, but it was asked for {planned[g]} repeats");
            counts = counts.Add(RateCounts.OfGuest(t.Failures, t.Runs));
            errored += t.Errored;
        }
        return new SideProgress(counts, side.Repeats + planned.Sum(), side.Guests + planned.Count, errored);
    }
}
