// Machines hold a cell's last iteration back until the filesystem check after the cell has
// run, so the check travels with it; an iteration is never lost to a later failure.
using System.Runtime.ExceptionServices;

namespace Harness.Machines;

internal static class IterationStream
{
    /// <summary>
    /// Passes items through one behind, marking the last one. When the source throws, the held
    /// item still comes out (not marked last: the cell broke, nothing to check) before the throw.
    /// </summary>
    public static async IAsyncEnumerable<(IterationRaw Raw, bool Last)> HoldLastAsync(IAsyncEnumerable<IterationRaw> source)
    {
        await using var items = source.GetAsyncEnumerator();
        IterationRaw? held = null;
        while (true)
        {
            bool more;
            ExceptionDispatchInfo? failure = null;
            try
            {
                more = await items.MoveNextAsync();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
                more = false;
            }
            if (!more)
            {
                if (held is not null) yield return (held, failure is null);
                failure?.Throw();
                yield break;
            }
            if (held is not null) yield return (held, false);
            held = items.Current;
        }
    }

    /// <summary>
    /// A machine's cell stream as its records want it: the cell's setup phases (image, mkfs, mount) added to
    /// the first iteration, and the filesystem check run after the last one and carried by it. A check that
    /// failed is thrown only once that last iteration is out, so it never hides its findings.
    /// </summary>
    public static async IAsyncEnumerable<IterationRaw> WithSetupAndCheckAsync(
        IAsyncEnumerable<IterationRaw> iterations, PhaseTimer setup, Func<Task<(Filesystems.FsckResult Fsck, ExceptionDispatchInfo? Failure)>> check)
    {
        var first = true;
        await foreach (var raw in HoldLastAsync(iterations))
        {
            var item = first ? raw.Raw with { Phases = [.. setup.Phases, .. raw.Raw.Phases], Seconds = setup.Total + raw.Raw.Seconds } : raw.Raw;
            first = false;
            if (!raw.Last)
            {
                yield return item;
                continue;
            }
            var timer = new PhaseTimer();
            var (fsck, failure) = await check();
            timer.Mark("unmount+fsck");
            yield return item with { Fsck = fsck, Phases = [.. item.Phases, .. timer.Phases], Seconds = item.Seconds + timer.Total };
            failure?.Throw();
        }
    }
}
