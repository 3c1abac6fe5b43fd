// Seeded randomness for plans and sector fill. Our own generator, not System.Random, so the
// sequence can never change under us between .NET versions or between host and guest.
namespace Harness.Workload;

/// <summary>Stateless 64-bit mixing (splitmix64's finaliser).</summary>
public static class SeedMix
{
    public static ulong Mix(ulong a, ulong b)
    {
        var z = a + 0x9E3779B97F4A7C15UL * (b + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

/// <summary>splitmix64: tiny, fast and good enough for choosing offsets and filling sectors.</summary>
public sealed class SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, bound); bound must be positive.</summary>
    public ulong Next(ulong bound)
    {
        if (bound == 0) throw new ArgumentOutOfRangeException(nameof(bound));
        return (ulong)(((UInt128)NextUInt64() * bound) >> 64);
    }

    public void Shuffle<T>(T[] items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = (int)Next((ulong)i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
