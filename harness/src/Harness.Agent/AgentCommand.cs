// The agent's command line, hand-parsed (it has three options and must stay dependency-free
// for NativeAOT): read a request, run it, write the report. Streams are passed in for tests.
using System.Text.Json;
using Harness.Workload;

namespace Harness.Agent;

/// <summary><c>harness-agent run --request &lt;path|-&gt; --report &lt;path|-&gt;</c> and <c>--help</c>.</summary>
public sealed class AgentCommand(Stream standardInput, Stream standardOutput, TextWriter standardError, AgentEnvironment environment)
{
    public const int ExitRan = 0;
    public const int ExitCouldNotRun = 1;
    public const int ExitUsage = 2;

    public const string Usage =
        """
        harness-agent: runs one phase of a harness workload iteration on this machine and
        reports what it wrote and read back. It never judges the data.

        Usage:
          harness-agent run --request <path|-> --report <path|-> [--iteration N]
          harness-agent serve
          harness-agent --help

        Options:
          --request <path>  AgentRequest JSON to execute; '-' reads standard input
          --report <path>   where to write the AgentReport JSON; '-' writes standard output.
                            A path is replaced atomically (temporary file, then rename).
          --iteration <N>   run iteration N instead of the request's (its run tag and plan
                            follow from N): a guest runs any iteration from one request file.

        serve: one process for many phases (a guest under TCG pays ~0.5 s to start a
        process): reads "run <request> <iteration> <report>" lines on standard input,
        runs each like `run` (the report written straight to <report>, a device or file
        opened for writing, then a newline), answers each with its exit status on a line
        of standard output; ends at end of input.

        Exit status: 0 the phase ran (even if the data read back is corrupt), or was
                       skipped because the device cannot take the case's alignment
                       (the report's skipReason says why);
                     1 it could not run (the report's error and standard error say why);
                     2 usage error. Progress and diagnostics go to standard error.
        """;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Count == 0)
        {
            await standardError.WriteLineAsync(Usage);
            return ExitUsage;
        }
        if (args[0] is "-h" or "--help" or "help")
        {
            await using var usage = new StreamWriter(standardOutput, leaveOpen: true);
            await usage.WriteLineAsync(Usage);
            return ExitRan;
        }
        if (args[0] == "serve" && args.Count == 1) return await ServeAsync(cancellationToken);
        if (!TryParseRun(args, out var requestPath, out var reportPath, out var iteration, out var usageError))
        {
            await standardError.WriteLineAsync($"harness-agent: {usageError}\nTry 'harness-agent --help'.");
            return ExitUsage;
        }
        return await RunOnceAsync(requestPath, reportPath, iteration, streamReport: false, cancellationToken);
    }

    private async Task<int> ServeAsync(CancellationToken cancellationToken)
    {
        using var commands = new StreamReader(standardInput);
        await using var replies = new StreamWriter(standardOutput, leaveOpen: true) { AutoFlush = true, NewLine = "\n" };
        while (!cancellationToken.IsCancellationRequested && await commands.ReadLineAsync(cancellationToken) is { } line)
        {
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int rc;
            if (words is ["run", var request, var n, var report] &&
                int.TryParse(n, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var iteration))
                rc = await RunOnceAsync(request, report, iteration, streamReport: true, cancellationToken);
            else
            {
                await standardError.WriteLineAsync($"harness-agent: serve: not 'run <request> <iteration> <report>': {line}");
                rc = ExitUsage;
            }
            await replies.WriteLineAsync(rc.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        return ExitRan;
    }

    private async Task<int> RunOnceAsync(string requestPath, string reportPath, int? iteration, bool streamReport, CancellationToken cancellationToken)
    {
        var runner = new AgentRunner(environment, standardError);
        AgentReport report;
        try
        {
            var request = await ReadRequestAsync(requestPath, cancellationToken);
            if (iteration is { } n) request = request with { Iteration = n };
            report = await runner.RunAsync(request, cancellationToken);
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException or AgentException)
        {
            var error = $"cannot read request {requestPath}: {e.Message}";
            await standardError.WriteLineAsync($"harness-agent: error: {error}");
            report = runner.Failed(AgentPhase.Write, error);
        }
        catch (OperationCanceledException)
        {
            await standardError.WriteLineAsync("harness-agent: error: cancelled");
            report = runner.Failed(AgentPhase.Write, "cancelled");
        }

        try
        {
            if (streamReport) await StreamReportAsync(reportPath, report);
            else await WriteReportAsync(reportPath, report);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await standardError.WriteLineAsync($"harness-agent: error: cannot write report {reportPath}: {e.Message}");
            return ExitCouldNotRun;
        }
        return report.Error is null ? ExitRan : ExitCouldNotRun;
    }

    // serve writes to the guest's results port, a character device: no temporary file and rename there.
    private static async Task StreamReportAsync(string path, AgentReport report)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 64 * 1024);
        await JsonSerializer.SerializeAsync(stream, report, AgentJsonContext.Default.AgentReport, CancellationToken.None);
        stream.WriteByte((byte)'\n');
        await stream.FlushAsync(CancellationToken.None);
    }

    private static bool TryParseRun(IReadOnlyList<string> args, out string request, out string report, out int? iteration, out string error)
    {
        request = report = error = "";
        iteration = null;
        if (args[0] != "run")
        {
            error = $"unknown command '{args[0]}'; valid: run, --help";
            return false;
        }
        for (var i = 1; i < args.Count; i++)
        {
            var (name, value) = args[i].Split('=', 2) is [var n, var v] ? (n, (string?)v) : (args[i], null);
            if (name is not ("--request" or "--report" or "--iteration"))
            {
                error = $"unknown option '{args[i]}'; valid: --request, --report, --iteration";
                return false;
            }
            if (value is null)
            {
                if (i + 1 >= args.Count)
                {
                    error = $"{name} needs a path or '-'";
                    return false;
                }
                value = args[++i];
            }
            if (name == "--iteration")
            {
                if (!int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number))
                {
                    error = $"--iteration needs a whole number, not '{value}'";
                    return false;
                }
                iteration = number;
            }
            else if (name == "--request") request = value;
            else report = value;
        }
        if (request.Length == 0 || report.Length == 0)
        {
            error = "run needs both --request and --report";
            return false;
        }
        return true;
    }

    private async Task<AgentRequest> ReadRequestAsync(string path, CancellationToken cancellationToken)
    {
        AgentRequest? request;
        if (path == "-")
        {
            request = await JsonSerializer.DeserializeAsync(standardInput, AgentJsonContext.Default.AgentRequest, cancellationToken);
        }
        else
        {
            await using var stream = File.OpenRead(path);
            request = await JsonSerializer.DeserializeAsync(stream, AgentJsonContext.Default.AgentRequest, cancellationToken);
        }
        return request ?? throw new AgentException("the request is JSON null");
    }

    // The report is written even when the run was cancelled: the host wants to know why.
    private async Task WriteReportAsync(string path, AgentReport report)
    {
        if (path != "-")
        {
            await ReportFile.WriteAsync(path, report, CancellationToken.None);
            return;
        }
        await JsonSerializer.SerializeAsync(standardOutput, report, AgentJsonContext.Default.AgentReport, CancellationToken.None);
        standardOutput.WriteByte((byte)'\n');
        await standardOutput.FlushAsync(CancellationToken.None);
    }
}
