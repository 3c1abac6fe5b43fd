// Human byte sizes in inputs and output ("64MiB"), powers of 1024 as kernel people expect.
using System.Globalization;

namespace Harness.Yaml;

public static class ByteSize
{
    private static readonly (string Suffix, long Factor)[] Suffixes =
    [
        ("TiB", 1L << 40), ("GiB", 1L << 30), ("MiB", 1L << 20), ("KiB", 1L << 10),
        ("T", 1L << 40), ("G", 1L << 30), ("M", 1L << 20), ("K", 1L << 10), ("B", 1),
    ];

    /// <summary>The units a size may carry, for messages.</summary>
    public const string Units = "B, K/KiB, M/MiB, G/GiB, T/TiB (powers of 1024)";

    public static bool TryParse(string? text, out long bytes) => TryParse(text, out bytes, out _);

    /// <summary>
    /// Parses a size; <paramref name="error"/> says what is wrong. Decimal units (MB, GB) are
    /// refused rather than guessed: 512MB meaning 512MiB or 512*10^6 would differ by 5 %.
    /// </summary>
    public static bool TryParse(string? text, out long bytes, out string error)
    {
        bytes = 0;
        error = $"'{text}' is not a size (examples: 4096, 512KiB, 64MiB, 1GiB)";
        if (string.IsNullOrWhiteSpace(text)) return false;
        var t = text.Trim();
        var digits = 0;
        while (digits < t.Length && char.IsAsciiDigit(t[digits])) digits++;
        var unit = t[digits..].Trim();
        if (digits == 0) return false;
        long factor = 1;
        if (unit.Length > 0)
        {
            var match = Suffixes.FirstOrDefault(s => s.Suffix == unit);
            if (match.Suffix is null)
            {
                error = unit.EndsWith("B", StringComparison.Ordinal) && unit.Length == 2 && "KMGT".Contains(unit[0], StringComparison.Ordinal)
                    ? $"'{text}': unknown unit {unit}; use {unit[0]}iB (sizes are powers of 1024)"
                    : $"'{text}': unknown unit '{unit}'; units: {Units}";
                return false;
            }
            factor = match.Factor;
        }
        if (!long.TryParse(t[..digits], NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > long.MaxValue / factor)
        {
            error = $"'{text}' is out of range (max {Format(long.MaxValue / (1L << 40) << 40)})";
            return false;
        }
        bytes = n * factor;
        return true;
    }

    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 40 when bytes % (1L << 40) == 0 => $"{bytes >> 40}TiB",
        >= 1L << 30 when bytes % (1L << 30) == 0 => $"{bytes >> 30}GiB",
        >= 1L << 20 when bytes % (1L << 20) == 0 => $"{bytes >> 20}MiB",
        >= 1L << 10 when bytes % (1L << 10) == 0 => $"{bytes >> 10}KiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture),
    };
}
