// The harness CLI run in this process, its two streams captured: what CLI tests assert on.
using Harness.Cli;

namespace Harness.Tests.Support;

internal static class InProcessCli
{
    /// <summary>Runs `harness args...` with the real CliApp; returns its exit code, stdout and stderr.</summary>
    public static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await new CliApp(stdout, stderr, TimeProvider.System).RunAsync(args, CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
