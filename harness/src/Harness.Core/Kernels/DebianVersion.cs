// Debian version ordering (epoch:upstream-revision, '~' sorts before everything), ported from
// dpkg's verrevcmp (lib/dpkg/version.c) so picking the newest kernel needs no process per pair.
// https://www.debian.org/doc/debian-policy/ch-controlfields.html#version
namespace Harness.Kernels;

internal static class DebianVersion
{
    /// <summary>Negative, zero or positive, as dpkg --compare-versions would order them.</summary>
    public static int Compare(string a, string b)
    {
        var (epochA, upstreamA, revisionA) = Split(a);
        var (epochB, upstreamB, revisionB) = Split(b);
        if (epochA != epochB) return epochA.CompareTo(epochB);
        var upstream = VerRevCmp(upstreamA, upstreamB);
        return upstream != 0 ? upstream : VerRevCmp(revisionA, revisionB);
    }

    private static (long Epoch, string Upstream, string Revision) Split(string version)
    {
        var colon = version.IndexOf(':');
        var epoch = colon > 0 && long.TryParse(version.AsSpan(0, colon), out var e) ? e : 0;
        var rest = colon >= 0 ? version[(colon + 1)..] : version;
        var dash = rest.LastIndexOf('-');
        return dash >= 0 ? (epoch, rest[..dash], rest[(dash + 1)..]) : (epoch, rest, "");
    }

    private static int Order(char c) => c switch
    {
        >= '0' and <= '9' => 0,
        (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') => c,
        '~' => -1,
        _ => c + 256,
    };

    private static int VerRevCmp(string a, string b)
    {
        int i = 0, j = 0;
        while (i < a.Length || j < b.Length)
        {
            // Non-digit runs, character by character; a string's end orders as 0.
            while ((i < a.Length && !char.IsAsciiDigit(a[i])) || (j < b.Length && !char.IsAsciiDigit(b[j])))
            {
                var ac = i < a.Length ? Order(a[i]) : 0;
                var bc = j < b.Length ? Order(b[j]) : 0;
                if (ac != bc) return ac - bc;
                i++;
                j++;
            }
            while (i < a.Length && a[i] == '0') i++;
            while (j < b.Length && b[j] == '0') j++;
            var firstDiff = 0;
            while (i < a.Length && j < b.Length && char.IsAsciiDigit(a[i]) && char.IsAsciiDigit(b[j]))
            {
                if (firstDiff == 0) firstDiff = a[i] - b[j];
                i++;
                j++;
            }
            if (i < a.Length && char.IsAsciiDigit(a[i])) return 1;
            if (j < b.Length && char.IsAsciiDigit(b[j])) return -1;
            if (firstDiff != 0) return firstDiff;
        }
        return 0;
    }
}
