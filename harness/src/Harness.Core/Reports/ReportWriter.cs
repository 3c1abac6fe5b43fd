// Writes the reports of one results folder beside its records, each atomically and durably like
// the records themselves (AtomicFile): a crash while reporting never leaves half a report.
using Harness.Results;
using Harness.Verdicts;

namespace Harness.Reports;

/// <summary>The files one report pass wrote.</summary>
public sealed record WrittenReports(ReportModel Model, IReadOnlyList<string> Files);

public static class ReportWriter
{
    public const string Markdown = "report.md";
    public const string Html = "report.html";
    public const string Junit = "junit.xml";
    public const string Kcidb = "kcidb.json";

    /// <summary>
    /// Reads <paramref name="folder"/>'s records and writes report.md, report.html and junit.xml into
    /// it, and kcidb.json when <paramref name="kcidbOrigin"/> is given. <paramref name="shownAs"/> is
    /// how the folder appears in the commands the reports print.
    /// </summary>
    public static async Task<WrittenReports> WriteAsync(string folder, string shownAs, string? kcidbOrigin, PatchVerdict expected, CancellationToken cancellationToken)
    {
        if (kcidbOrigin is not null) KcidbReport.CheckOrigin(kcidbOrigin);
        var model = ReportLoader.Load(folder, shownAs);
        var files = new List<(string Name, string Text)>
        {
            (Markdown, MarkdownReport.Render(model)),
            (Html, HtmlReport.Render(model)),
            (Junit, JunitReport.Render(model, expected)),
        };
        if (kcidbOrigin is not null) files.Add((Kcidb, KcidbReport.Render(model, kcidbOrigin)));
        var written = new List<string>();
        foreach (var (name, text) in files)
        {
            var path = Path.Combine(folder, name);
            await AtomicFile.WriteTextAsync(path, text, cancellationToken);
            written.Add(path);
        }
        return new WrittenReports(model, written);
    }

    /// <summary>Writes a record's own report.md and report.html into <paramref name="folder"/>, each atomically.</summary>
    internal static async Task<IReadOnlyList<string>> WritePagesAsync(string folder, string markdown, string html, CancellationToken cancellationToken)
    {
        var written = new List<string>();
        foreach (var (name, text) in new[] { (Markdown, markdown), (Html, html) })
        {
            var path = Path.Combine(folder, name);
            await AtomicFile.WriteTextAsync(path, text, cancellationToken);
            written.Add(path);
        }
        return written;
    }

    /// <summary>
    /// The end of `compare` and `bisect`: their own pages (<see cref="CompareReport"/>, <see cref="BisectReport"/>)
    /// from the record just written; as for runs, a failure is said and never changes the exit code.
    /// </summary>
    public static async Task WritePagesAfterCommandAsync(string folder, Func<string, CancellationToken, Task<IReadOnlyList<string>>> write, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            var files = await write(folder, CancellationToken.None);
            stdout.WriteLine($"reports: {string.Join(", ", files.Select(Path.GetFileName))} in {ReportLoader.ShownAs(folder, Environment.CurrentDirectory)}");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            stderr.WriteLine($"harness: reports not written ({e.GetType().Name}): {e.Message.Split('\n')[0]}; 'harness report {folder}' retries");
        }
    }

    /// <summary>
    /// The end of `run` and `validate`: reports for what finished, even when interrupted. A report
    /// that cannot be written is said on <paramref name="stderr"/> and never changes the command's
    /// exit code (the records, which decide it, are already safe).
    /// </summary>
    public static async Task WriteAfterCommandAsync(string folder, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            var written = await WriteAsync(folder, ReportLoader.ShownAs(folder, Environment.CurrentDirectory), null, JunitReport.DefaultExpected, CancellationToken.None);
            stdout.WriteLine($"reports: {string.Join(", ", written.Files.Select(Path.GetFileName))} in {ReportLoader.ShownAs(folder, Environment.CurrentDirectory)}");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Whatever went wrong here (a full disk, a bug in a renderer), the run's records and exit code stand.
            stderr.WriteLine($"harness: reports not written ({e.GetType().Name}): {e.Message.Split('\n')[0]}; 'harness report {folder}' retries");
        }
    }
}
