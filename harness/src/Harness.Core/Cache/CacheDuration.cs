// Ages for `cache gc`: "30d", "12h", "90m", "600s" or plain seconds ("600").
using System.Globalization;

namespace Harness.Cache;

public static class CacheDuration
{
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var t = text.Trim();
        var unit = char.IsAsciiLetter(t[^1]) ? t[^1] : 's';
        var number = char.IsAsciiLetter(t[^1]) ? t[..^1] : t;
        if (!long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > 36_500L * 86_400) return false;
        duration = unit switch
        {
            'd' => TimeSpan.FromDays(n),
            'h' => TimeSpan.FromHours(n),
            'm' => TimeSpan.FromMinutes(n),
            's' => TimeSpan.FromSeconds(n),
            _ => TimeSpan.MinValue,
        };
        return duration != TimeSpan.MinValue && duration <= TimeSpan.FromDays(36_500);
    }
}
