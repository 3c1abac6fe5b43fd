// An exclusive lock on a cache entry, held across processes (two harness runs, parallel tests)
// so one writer downloads, unpacks, builds or packs while the others wait, and `cache gc` never
// deletes what a live process is writing. .NET takes flock(LOCK_EX|LOCK_NB) for FileShare.None
// on Linux; the kernel drops it if the process dies, so a killed harness never leaves it held.
namespace Harness.Kernels;

internal static class CacheLock
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    /// <summary>The lock file that guards <paramref name="entry"/> (a file or folder in the cache): the entry's path + ".lock".</summary>
    public static string For(string entry) => Path.TrimEndingDirectorySeparator(entry) + ".lock";

    public static async Task<IDisposable> AcquireAsync(string lockFile, TextWriter progress, string what, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(lockFile)!);
        var told = false;
        while (true)
        {
            if (TryAcquire(lockFile) is { } held) return held;
            if (!told) progress.WriteLine($"waiting for another harness to finish {what} ({lockFile})");
            told = true;
            await Task.Delay(Poll, cancellationToken);
        }
    }

    /// <summary>The lock if no other process holds it now, else null (never waits).</summary>
    public static IDisposable? TryAcquire(string lockFile)
    {
        try
        {
            return new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }
}
