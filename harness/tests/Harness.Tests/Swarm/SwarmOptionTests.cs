// `--node-engine` and `--shards` before any engine work: a malformed NODE=ENDPOINT, a shard count
// outside 1..cells and either option with another machine are input errors (exit 2) naming the option.
using Harness.Machines.Swarm;
using Harness.Tests.Docker;
using Harness.Tests.Support;
using Harness.Yaml;
using Xunit;

namespace Harness.Tests.Swarm;

public sealed class SwarmOptionTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("swarm-options-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("w=unix:///run/docker-w.sock", "w", "unix:///run/docker-w.sock")]
    [InlineData(" node-2 = tcp://10.0.0.7:2376", "node-2", "tcp://10.0.0.7:2376")]
    public void Node_engine_parses_node_and_endpoint(string text, string node, string endpoint) =>
        Assert.Equal(new SwarmNodeSpec(node, endpoint), SwarmNodeSpec.Parse(text));

    [Theory]
    [InlineData("w", "'w' is not NODE=ENDPOINT")]
    [InlineData("=unix:///x.sock", "'=unix:///x.sock' is not NODE=ENDPOINT")]
    [InlineData("w=", "'w=' is not NODE=ENDPOINT")]
    [InlineData("w=/run/docker.sock", "'w=/run/docker.sock': the endpoint '/run/docker.sock' is not unix:///path or tcp://host:port")]
    [InlineData("w=ssh://host", "the endpoint 'ssh://host' is not unix:///path or tcp://host:port")]
    public void Malformed_node_engine_is_an_input_error_naming_the_option(string text, string message)
    {
        var e = Assert.Throws<InputException>(() => SwarmNodeSpec.Parse(text));
        Assert.StartsWith("--node-engine: ", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Shards_deal_cells_round_robin_each_shard_in_cell_order()
    {
        var shards = SwarmMachine.Split(["a", "b", "c", "d", "e"], 3);
        Assert.Equal([["a", "d"], ["b", "e"], ["c"]], shards.Select(s => s.ToArray()).ToArray());
    }

    [Theory]
    [InlineData(new[] { "--machine", "qemu", "--fs", "ext4", "--shards", "2" }, "harness: --shards: works with --machine swarm only (not qemu)")]
    [InlineData(new[] { "--machine", "local", "--fs", "ext4", "--node-engine", "w=unix:///x.sock" }, "harness: --node-engine: works with --machine swarm only (not local)")]
    [InlineData(new[] { "--machine", "swarm", "--fs", "ext4", "--node-engine", "w" }, "harness: --node-engine: 'w' is not NODE=ENDPOINT")]
    [InlineData(new[] { "--machine", "swarm", "--fs", "ext4,xfs", "--shards", "3" }, "harness: --shards: 3 is out of range (min 1, max 2: the run has 2 cell(s); a shard holds at least one)")]
    [InlineData(new[] { "--machine", "swarm", "--fs", "ext4", "--shards", "0" }, "harness: --shards: 0 is out of range (min 1, max 1: the run has 1 cell(s)")]
    public async Task Swarm_options_are_checked_before_any_engine_work_exit_2(string[] args, string line)
    {
        // No engine at DOCKER_HOST: the option is refused before the harness looks for one.
        var result = await HarnessProcess.Command(["run", "--case", "tiny", "--results", Path.Combine(_root, "results"), .. args], Path.Combine(_root, "cache"))
            .WithEnvironmentVariables(e => e.Set("HARNESS_CACHE", Path.Combine(_root, "cache")).Set("DOCKER_HOST", $"unix://{_root}/none.sock"))
            .ExecuteBufferedAsyncFor(TimeSpan.FromMinutes(1));
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith(line, result.Stderr.Trim());
    }
}
