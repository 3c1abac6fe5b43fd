// What `--machine swarm` says before any engine work: no engine is exit 3 with the line that
// starts one (the same boundary as the docker machine), and the task entry point refuses a
// plan it cannot run with exit 3 and a fatal frame the host turns into the cells' reason.
using Harness.Machines.Swarm;
using Harness.Tests.Docker;
using Harness.Tests.Support;
using Xunit;

namespace Harness.Tests.Swarm;

public sealed class SwarmSetupTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("swarm-setup-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task No_engine_is_exit_3_naming_the_socket_and_the_dockerd_line_that_starts_one()
    {
        var socket = Path.Combine(_root, "docker.sock");
        var result = await HarnessProcess.Command(["run", "--machine", "swarm", "--fs", "ext4", "--case", "tiny", "--results", Path.Combine(_root, "results")], Path.Combine(_root, "cache"))
            .WithEnvironmentVariables(e => e.Set("HARNESS_CACHE", Path.Combine(_root, "cache")).Set("DOCKER_HOST", $"unix://{socket}"))
            .ExecuteBufferedAsyncFor(TimeSpan.FromMinutes(1));

        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Equal($"harness: no Docker engine answers at unix://{socket} (no socket {socket}); start one as root: `dockerd --iptables=false --bridge=none -H unix://{socket} &`", result.Stderr.Trim());
    }

    [Fact]
    public async Task Task_without_its_plan_exits_3_with_a_fatal_frame_naming_the_file()
    {
        var stdout = new StringWriter();
        var progress = new StringWriter();
        var plan = Path.Combine(_root, "no-plan.json");

        var code = await new SwarmTask(stdout, progress).RunAsync(plan, "1", "node1", CancellationToken.None);

        Assert.Equal(3, code);
        var message = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(new SwarmFrameReader().Accept).OfType<SwarmMessage>().Single();
        Assert.Equal(SwarmMessage.FatalKind, message.Kind);
        Assert.Equal(1, message.Shard);
        Assert.Contains(plan, message.Text);
    }
}
