// An exclusive lock on a cache entry, held across processes (two harness runs, parallel tests)
// so one fetch downloads and unpacks while the others wait. .NET takes flock(LOCK_EX|LOCK_NB)
// for FileShare.None on Linux; the kernel drops it if the process dies.
namespace Harness.Kernels;

internal static class CacheLock
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    public static async Task<IDisposable> AcquireAsync(string lockFile, TextWriter progress, string what, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(lockFile)!);
        var told = false;
        while (true)
        {
            try
            {
                return new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                if (!told) progress.WriteLine($"waiting for another harness to finish {what} ({lockFile})");
                told = true;
                await Task.Delay(Poll, cancellationToken);
            }
        }
    }
}
