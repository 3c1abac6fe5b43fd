// Writes the agent's report so a reader never sees half of one: a temporary file beside the
// target, flushed to disk (the guest may be powered off right after), then renamed over it.
using System.Text.Json;
using Harness.Workload;

namespace Harness.Agent;

internal static class ReportFile
{
    public static async Task WriteAsync(string path, AgentReport report, CancellationToken cancellationToken)
    {
        var target = Path.GetFullPath(path);
        var temporary = $"{target}.tmp-{Environment.ProcessId}";
        try
        {
            await using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true))
            {
                await JsonSerializer.SerializeAsync(stream, report, AgentJsonContext.Default.AgentReport, cancellationToken);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, target, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }
}
