// The Docker engine the docker machine talks to, through Docker.DotNet: $DOCKER_HOST as the
// docker CLI reads it (unix:// or tcp://), else the default socket. An engine that does not
// answer is the host's problem (exit 3), reported with the command that starts one here.
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Harness.Machines.Docker;

/// <summary>A connected engine: the client, the endpoint and what the engine said about itself.</summary>
public sealed class DockerEngine : IDisposable
{
    /// <summary>The default socket (the docker CLI's too).</summary>
    public const string DefaultEndpoint = "unix:///var/run/docker.sock";

    /// <summary>
    /// How to start an engine on this kind of host: Docker's default bridge networking needs
    /// iptables, which the sandboxes here lack; cells need no network at all (NetworkMode none).
    /// </summary>
    public const string StartCommand = "dockerd --iptables=false --bridge=none";

    /// <summary>The API version Debian 12's engine (20.10) speaks; swarm jobs need it.</summary>
    public static readonly System.Version MinimumApi = new(1, 41);

    private DockerEngine(DockerClient client, string endpoint, VersionResponse version)
    {
        Client = client;
        Endpoint = endpoint;
        Version = version;
    }

    public DockerClient Client { get; }
    public string Endpoint { get; }
    public VersionResponse Version { get; }

    /// <summary>$DOCKER_HOST when set, else <see cref="DefaultEndpoint"/>.</summary>
    public static string EndpointFromEnvironment() =>
        Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } host ? host : DefaultEndpoint;

    /// <summary>The fix for "no engine answers", for the error line and `harness doctor`.</summary>
    public static string Fix(string endpoint)
    {
        if (!endpoint.StartsWith("unix://", StringComparison.Ordinal))
            return $"start the engine DOCKER_HOST names, or unset DOCKER_HOST to use {DefaultEndpoint}";
        var start = endpoint == DefaultEndpoint ? StartCommand : $"{StartCommand} -H {endpoint}";
        return HostCommand.FindOnPath("dockerd") is null
            ? $"install Docker (`apt-get install docker.io`; `make deps` does) and start it as root: `{start} &`"
            : $"start one as root: `{start} &`" + (endpoint == DefaultEndpoint ? " (or `systemctl start docker`), or point DOCKER_HOST at your engine" : "");
    }

    /// <summary>Connects and asks the engine its version; a <see cref="MachineException"/> names the endpoint and the fix.</summary>
    public static async Task<DockerEngine> ConnectAsync(string? endpoint, CancellationToken cancellationToken)
    {
        endpoint ??= EndpointFromEnvironment();
        if (Environment.GetEnvironmentVariable("DOCKER_TLS_VERIFY") is { Length: > 0 } tls && tls != "0")
            throw new MachineException($"DOCKER_TLS_VERIFY is set: TLS connections to a remote engine are not built into the harness yet; unset it or reach the engine through a unix socket (ssh -L)");
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("unix" or "tcp" or "http"))
            throw new MachineException($"DOCKER_HOST '{endpoint}' is not unix:///path or tcp://host:port");
        var client = new DockerClientConfiguration(uri, defaultTimeout: TimeSpan.FromMinutes(10)).CreateClient();
        try
        {
            using var quick = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            quick.CancelAfter(TimeSpan.FromSeconds(10));
            var version = await client.System.GetVersionAsync(quick.Token);
            return new DockerEngine(client, endpoint, version);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not MachineException)
        {
            client.Dispose();
            var socket = endpoint.StartsWith("unix://", StringComparison.Ordinal) ? endpoint["unix://".Length..] : null;
            var why = socket is not null && !File.Exists(socket) && !Directory.Exists(socket) ? $"no socket {socket}"
                : e is OperationCanceledException ? "no answer within 10 s" : Innermost(e).Message;
            throw new MachineException($"no Docker engine answers at {endpoint} ({why}); {Fix(endpoint)}", e);
        }
    }

    /// <summary>The engine's API version as a number (0.0 when unreadable).</summary>
    public System.Version ApiVersion => System.Version.TryParse(Version.APIVersion, out var v) ? v : new System.Version(0, 0);

    /// <summary>The swarm state of this engine's node: inactive, pending, active, error, locked.</summary>
    public async Task<string> SwarmStateAsync(CancellationToken cancellationToken)
    {
        var info = await Client.System.GetSystemInfoAsync(cancellationToken);
        return info.Swarm?.LocalNodeState ?? "unknown";
    }

    private static Exception Innermost(Exception e) => e.InnerException is null ? e : Innermost(e.InnerException);

    public void Dispose() => Client.Dispose();
}
