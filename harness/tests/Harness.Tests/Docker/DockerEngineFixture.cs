// A real Docker engine for the docker-machine tests: the one answering on the default socket
// (or $DOCKER_HOST), else one this fixture starts as `dockerd --iptables=false --bridge=none`
// (this sandbox has no iptables for Docker's bridge; cells need no network) and stops again,
// gracefully, when the collection ends. It stops only what it started. The runner image is
// built (or imported from the cached tar) once for the collection, as a user's first run would.
using Harness.Machines;
using Harness.Machines.Docker;
using Harness.Tests.Kernels;
using Xunit;

namespace Harness.Tests.Docker;

public sealed class DockerEngineFixture : IAsyncLifetime
{
    private TestDockerd? _dockerd;

    public DockerEngine Engine { get; private set; } = null!;

    /// <summary>True when this fixture started the engine (and so stops it).</summary>
    public bool Started => _dockerd is not null;

    public RunnerImageResult Image { get; private set; } = null!;

    public static string Log => Path.Combine(Path.GetTempPath(), "harness-test-dockerd.log");

    public async Task InitializeAsync()
    {
        try
        {
            Engine = await DockerEngine.ConnectAsync(null, CancellationToken.None);
        }
        catch (MachineException) when (DockerEngine.EndpointFromEnvironment() == DockerEngine.DefaultEndpoint && HostCommand.FindOnPath("dockerd") is not null)
        {
            // --pidfile of our own: a stale /var/run/docker.pid of another engine is not ours to touch.
            (_dockerd, Engine) = await TestDockerd.StartAsync("dockerd",
                ["--iptables=false", "--bridge=none", "--pidfile", Path.Combine(Path.GetTempPath(), "harness-test-dockerd.pid")],
                Log, () => DockerEngine.ConnectAsync(null, CancellationToken.None), "the test engine");
        }
        var recipe = await RunnerImage.ResolveAsync(CancellationToken.None);
        Image = await new RunnerImage(DebianKernelFixture.CacheRoot, TextWriter.Null).EnsureAsync(Engine.Client, recipe, rebuild: false, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        Engine?.Dispose();
        if (_dockerd is not null) await _dockerd.StopAsync();
    }
}

/// <summary>Tests that need the engine share one fixture and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class DockerCollection : ICollectionFixture<DockerEngineFixture>, ICollectionFixture<DebianKernelFixture>
{
    public const string Name = "docker engine";
}
