// The recorded results folders under Reports/Data, copied to a temporary folder per test (reports
// are written beside the records, and a test must never change the data in git).
using Harness.Reports;
using Harness.Tests.Support;

namespace Harness.Tests.Reports;

internal sealed class ReportFixture : IDisposable
{
    public const string FaultRun = "20261126-230804-local-24728";
    public const string Validation = "20261126-211152-validate-20405";

    public ReportFixture(string name)
    {
        Root = Path.Combine(Path.GetTempPath(), $"report-{Guid.NewGuid():N}");
        Folder = Path.Combine(Root, "results", name);
        Copy(Path.Combine(RepoPaths.Root, "harness", "tests", "Harness.Tests", "Reports", "Data", name), Folder);
        ShownAs = $"results/{name}";
    }

    public string Root { get; }

    /// <summary>The run folder (absolute).</summary>
    public string Folder { get; }

    /// <summary>How reports name the folder: stable across machines, for snapshots.</summary>
    public string ShownAs { get; }

    public ReportModel Load() => ReportLoader.Load(Folder, ShownAs);

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (var dir in Directory.GetDirectories(from)) Copy(dir, Path.Combine(to, Path.GetFileName(dir)));
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { /* best effort */ }
    }
}
