// Locates the repository (for cases/) from the test binary, or from this source file when
// the build put the binary elsewhere (--artifacts-path).
using System.Runtime.CompilerServices;

namespace Harness.Tests.Support;

public static class RepoPaths
{
    public static string Root { get; } = Find(AppContext.BaseDirectory) ?? Find(ThisFile()) ?? throw new InvalidOperationException("Harness.sln not found");

    public static string Cases => Path.Combine(Root, "cases");

    private static string ThisFile([CallerFilePath] string path = "") => path;

    private static string? Find(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Harness.sln"))) return dir.FullName;
        return null;
    }
}
