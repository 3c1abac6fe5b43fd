// Snapshot testing: compare text with a checked-in `.verified.txt` beside the test.
// Verify.Xunit is not served by this project's NuGet mirror (its core package 'Verify' is
// missing), so this is the small subset we need, with Verify's file conventions: a
// mismatch writes `.received.txt` next to it; HARNESS_ACCEPT_SNAPSHOTS=1 accepts.
using System.Runtime.CompilerServices;
using Xunit;

namespace Harness.Tests.Support;

public static class Snapshot
{
    public static void Match(string actual, string? suffix = null, [CallerFilePath] string sourceFile = "", [CallerMemberName] string test = "")
    {
        var folder = Path.Combine(Path.GetDirectoryName(sourceFile)!, "Snapshots");
        var stem = Path.Combine(folder, $"{Path.GetFileNameWithoutExtension(sourceFile)}.{test}{(suffix is null ? "" : "." + suffix)}");
        var verified = stem + ".verified.txt";
        var received = stem + ".received.txt";
        var text = Scrub(actual);
        if (File.Exists(verified) && File.ReadAllText(verified) == text)
        {
            File.Delete(received);
            return;
        }
        Directory.CreateDirectory(folder);
        if (Environment.GetEnvironmentVariable("HARNESS_ACCEPT_SNAPSHOTS") == "1")
        {
            File.WriteAllText(verified, text);
            return;
        }
        File.WriteAllText(received, text);
        Assert.Fail(File.Exists(verified)
            ? $"snapshot differs: compare {received} with {verified}\n--- received ---\n{text}"
            : $"no snapshot yet: review {received} and rename it to .verified.txt (or run with HARNESS_ACCEPT_SNAPSHOTS=1)\n{text}");
    }

    /// <summary>Removes what changes between machines and runs: temp paths, line-ending noise.</summary>
    private static string Scrub(string text) =>
        text.Replace("\r\n", "\n", StringComparison.Ordinal)
            .Replace(Path.GetTempPath().TrimEnd('/'), "{tmp}", StringComparison.Ordinal)
            .Replace(Environment.CurrentDirectory, "{cwd}", StringComparison.Ordinal);
}
