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

}
