// Human byte sizes in inputs and output ("64MiB"), powers of 1024 as kernel people expect.
using System.Globalization;

namespace Harness.Yaml;

public static class ByteSize
{
    private static readonly (string Suffix, long Factor)[] Suffixes =
    [
        ("GiB", 1L << 30), ("MiB", 1L << 20), ("KiB", 1L << 10),
        ("G", 1L << 30), ("M", 1L << 20), ("K", 1L << 10), ("B", 1),
    ];

    public static bool TryParse(string? text, out long bytes)
    {
        bytes = 0;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var t = text.Trim();
        long factor = 1;
        foreach (var (suffix, f) in Suffixes)
        {
            if (!t.EndsWith(suffix, StringComparison.Ordinal)) continue;
            factor = f;
            t = t[..^suffix.Length].Trim();
            break;
        }
        if (!long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return false;
        if (n > long.MaxValue / factor) return false;
        bytes = n * factor;
        return true;
    }

    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 when bytes % (1L << 30) == 0 => $"{bytes >> 30}GiB",
        >= 1L << 20 when bytes % (1L << 20) == 0 => $"{bytes >> 20}MiB",
        >= 1L << 10 when bytes % (1L << 10) == 0 => $"{bytes >> 10}KiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture),
    };
}
