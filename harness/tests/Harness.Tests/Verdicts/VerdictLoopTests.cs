// How VerdictLoop plans a look: the batch split over the guests, the last look trimmed to the
// cap, and when the unpatched side rests (and comes back).
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.Verdicts;

public sealed class VerdictLoopTests
{
    private static SideProgress Side(int failures, int runs, int failingGuests, int guests) =>
        new(new RateCounts(failures, runs) { FailingGuests = failingGuests }, runs, guests, 0);

    [Theory]
    [InlineData(10, 2, new[] { 5, 5 })]
    [InlineData(5, 2, new[] { 3, 2 })]
    [InlineData(10, 3, new[] { 4, 3, 3 })]
    public void A_batch_is_split_over_the_guests_as_evenly_as_it_goes(int batch, int guests, int[] expected)
    {
        var loop = new VerdictLoop(new VerdictPolicy(BatchSize: batch, Guests: guests));

        var plan = loop.Plan(1, SideProgress.Empty, SideProgress.Empty);

        Assert.Equal(expected, plan.With);
        Assert.Equal(expected, plan.Without);
        Assert.False(plan.Final);
    }

    [Theory]
    [InlineData(205, 200, new[] { 3, 2 })]   // 5 left: still two guests
    [InlineData(201, 200, new[] { 1 })]      // 1 left: one guest is all there is
    public void The_last_look_is_trimmed_to_the_cap(int cap, int done, int[] expected)
    {
        var loop = new VerdictLoop(new VerdictPolicy(MaxRunsPerSide: cap));

        var plan = loop.Plan(21, Side(20, done, 2, 40), Side(20, done, 2, 40));

        Assert.Equal(expected, plan.With);
        Assert.Equal(expected, plan.Without);
        Assert.True(plan.Final);
        Assert.Equal(cap, done + plan.With.Sum());
    }

    [Fact]
    public void The_unpatched_side_rests_while_the_patched_side_is_clean_and_its_failures_already_suffice()
    {
        var loop = new VerdictLoop(new VerdictPolicy());

        // 10/10 on two guests against a clean 59: p = 1/C(69, 10), far below 0.0005.
        var rests = loop.Plan(2, Side(10, 10, 2, 2), Side(0, 10, 0, 2));
        // The same, but every failure from one guest: not evidence enough to rest.
        var oneGuest = loop.Plan(2, Side(10, 10, 1, 2), Side(0, 10, 0, 2));
        // The patched side has failed: FIXES is out, REGRESSES needs both sides, so it runs again.
        var patchedFailed = loop.Plan(2, Side(10, 10, 2, 2), Side(1, 10, 1, 2));

        Assert.Empty(rests.Without);
        Assert.Equal([5, 5], rests.With);
        Assert.Equal([5, 5], oneGuest.Without);
        Assert.Equal([5, 5], patchedFailed.Without);
    }

    [Fact]
    public void Each_side_numbers_its_repeats_on_from_where_it_stopped()
    {
        var loop = new VerdictLoop(new VerdictPolicy());

        var plan = loop.Plan(3, Side(3, 20, 2, 4), Side(0, 20, 0, 4));

        Assert.Equal((20, 20), (plan.WithoutFirstRepeat, plan.WithFirstRepeat));
    }
}
