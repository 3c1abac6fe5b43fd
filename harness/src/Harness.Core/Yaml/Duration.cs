// Durations as users type them, the same everywhere a time is read (--budget, --boot-timeout,
// --deadline, --hung-task-timeout): plain seconds (600), or numbers with s, m, h, d (90s, 10m,
// 2h, 1h30m). Bounded so no later arithmetic can overflow.
using System.Globalization;
using System.Text.RegularExpressions;

namespace Harness.Yaml;

public static partial class Duration
{
    /// <summary>The longest accepted duration: a year is beyond any run and far from TimeSpan's limits.</summary>
    public static readonly TimeSpan Max = TimeSpan.FromDays(365);

    /// <summary>What a valid duration looks like, for error messages.</summary>
    public const string Expected = "seconds (600) or numbers with s, m, h or d (90s, 10m, 2h, 1h30m)";

    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text)) return false;
        text = text.Trim();
        if (decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var plain))
            return Bounded(plain, out value);
        var parts = Part().Matches(text);
        if (parts.Count == 0 || string.Concat(parts.Select(m => m.Value)) != text) return false;
        decimal seconds = 0;
        foreach (Match m in parts)
        {
            if (!decimal.TryParse(m.Groups[1].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) || n > 1_000_000_000) return false;
            seconds += n * m.Groups[2].Value switch { "s" => 1, "m" => 60, "h" => 3600, _ => 86400 };
        }
        return Bounded(seconds, out value);
    }

    /// <summary>600 s -> "10m", 5400 s -> "1h30m", 90 s -> "1m30s".</summary>
    public static string Format(TimeSpan value)
    {
        if (value.TotalSeconds < 1) return value.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";
        var parts = new List<string>();
        if (value.Days > 0) parts.Add($"{value.Days}d");
        if (value.Hours > 0) parts.Add($"{value.Hours}h");
        if (value.Minutes > 0) parts.Add($"{value.Minutes}m");
        if (value.Seconds > 0 || parts.Count == 0) parts.Add($"{value.Seconds}s");
        return string.Concat(parts);
    }

    private static bool Bounded(decimal seconds, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (seconds <= 0 || seconds > (decimal)Max.TotalSeconds) return false;
        value = TimeSpan.FromSeconds((double)seconds);
        return true;
    }

    [GeneratedRegex(@"(\d+(?:\.\d+)?)([smhd])", RegexOptions.CultureInvariant)]
    private static partial Regex Part();
}
