// The agent's command line with in-memory standard streams: how the harness and a guest's
// init script talk to it.
using System.Text;
using System.Text.Json;
using Harness.Agent;
using Harness.Workload;
using Xunit;

namespace Harness.Tests.Agent;

public sealed class AgentCommandTests : IDisposable
{
    private static readonly WorkloadSpec Small = new(
        FileSize: 1L << 20, FsBlockSize: 4096, IoSize: 4096, Alignment: 512, Pattern: IoPattern.Stride,
        Stride: 4096, Start: 512, QueueDepth: 4, IoCount: 64, Preparation: FilePreparation.Sparse,
        DirtyBytes: 1L << 20, Seed: 7);

    private readonly TempDirectory _temp = new();
    private readonly MemoryStream _stdout = new();
    private readonly StringWriter _stderr = new();

    public void Dispose() => _temp.Dispose();

    private Task<int> RunAsync(string stdin, params string[] args) =>
        new AgentCommand(new MemoryStream(Encoding.UTF8.GetBytes(stdin)), _stdout, _stderr, AgentEnvironment.Linux)
            .RunAsync(args, CancellationToken.None);

    private string RequestJson() =>
        JsonSerializer.Serialize(new AgentRequest(AgentPhase.Write, _temp.Path, "data", Small, 0, false), AgentJsonContext.Default.AgentRequest);

    private static AgentReport Parse(string json) =>
        JsonSerializer.Deserialize(json, AgentJsonContext.Default.AgentReport)!;

    [Fact]
    public async Task Help_prints_usage_on_stdout_and_exits_zero()
    {
        var exit = await RunAsync("", "--help");

        Assert.Equal(AgentCommand.ExitRan, exit);
        Assert.Contains("harness-agent run --request <path|-> --report <path|->", Encoding.UTF8.GetString(_stdout.ToArray()));
    }

    [Theory]
    [InlineData(new string[0], "Usage:")]
    [InlineData(new[] { "walk" }, "unknown command 'walk'; valid: run, --help")]
    [InlineData(new[] { "run", "--request", "-" }, "run needs both --request and --report")]
    [InlineData(new[] { "run", "--request", "-", "--verbose" }, "unknown option '--verbose'; valid: --request, --report")]
    [InlineData(new[] { "run", "--request" }, "--request needs a path or '-'")]
    public async Task Bad_usage_says_what_is_wrong_on_stderr_and_exits_two(string[] args, string message)
    {
        var exit = await RunAsync("", args);

        Assert.Equal(AgentCommand.ExitUsage, exit);
        Assert.Contains(message, _stderr.ToString());
        Assert.Equal(0, _stdout.Length);
    }

    [Fact]
    public async Task Request_on_stdin_gives_the_report_on_stdout_and_progress_on_stderr()
    {
        var exit = await RunAsync(RequestJson(), "run", "--request", "-", "--report", "-");

        Assert.Equal(AgentCommand.ExitRan, exit);
        var report = Parse(Encoding.UTF8.GetString(_stdout.ToArray()));
        Assert.Null(report.Error);
        Assert.Equal(64, report.Ios.Count);
        Assert.Equal("after-fsync", Assert.Single(report.Passes).Name);
        Assert.Contains("harness-agent:", _stderr.ToString());
    }

    [Fact]
    public async Task Report_path_is_replaced_whole_with_no_temporary_left_behind()
    {
        var requestPath = Path.Combine(_temp.Path, "request.json");
        var reportPath = Path.Combine(_temp.Path, "report.json");
        await File.WriteAllTextAsync(requestPath, RequestJson());
        await File.WriteAllTextAsync(reportPath, "stale");

        var exit = await RunAsync("", "run", $"--request={requestPath}", "--report", reportPath);

        Assert.Equal(AgentCommand.ExitRan, exit);
        Assert.Null(Parse(await File.ReadAllTextAsync(reportPath)).Error);
        Assert.Equal(["data", "report.json", "request.json"], Directory.GetFiles(_temp.Path).Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task Unreadable_request_still_writes_a_report_with_the_error_and_exits_one()
    {
        var reportPath = Path.Combine(_temp.Path, "report.json");

        var exit = await RunAsync("{ not json", "run", "--request", "-", "--report", reportPath);

        Assert.Equal(AgentCommand.ExitCouldNotRun, exit);
        var report = Parse(await File.ReadAllTextAsync(reportPath));
        Assert.StartsWith("cannot read request -:", report.Error);
        Assert.Contains("cannot read request", _stderr.ToString());
    }

    [Fact]
    public async Task Run_that_cannot_start_exits_one_with_the_reason_in_the_report()
    {
        var request = RequestJson().Replace(_temp.Path, _temp.Path + "/absent", StringComparison.Ordinal);

        var exit = await RunAsync(request, "run", "--request", "-", "--report", "-");

        Assert.Equal(AgentCommand.ExitCouldNotRun, exit);
        Assert.Contains("does not exist", Parse(Encoding.UTF8.GetString(_stdout.ToArray())).Error);
    }
}
