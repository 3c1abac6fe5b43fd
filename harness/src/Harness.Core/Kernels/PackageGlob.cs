// Shell-style wildcards (* and ?) over Debian package names, as kernel specs write them.
using System.Text.RegularExpressions;

namespace Harness.Kernels;

internal static class PackageGlob
{
    public static Regex ToRegex(string pattern) =>
        new("^" + Regex.Escape(pattern).Replace(@"\*", ".*", StringComparison.Ordinal).Replace(@"\?", ".", StringComparison.Ordinal) + "$",
            RegexOptions.CultureInvariant);

    /// <summary>The literal part before the first wildcard: what apt-cache pkgnames takes as a prefix.</summary>
    public static string Prefix(string pattern)
    {
        var wildcard = pattern.IndexOfAny(['*', '?']);
        return wildcard < 0 ? pattern : pattern[..wildcard];
    }
}
