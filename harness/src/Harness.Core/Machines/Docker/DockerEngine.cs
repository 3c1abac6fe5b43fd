// The Docker engine the docker machine talks to, through Docker.DotNet: $DOCKER_HOST as the
// docker CLI reads it (unix:// or tcp://, TLS from DOCKER_TLS_VERIFY/DOCKER_CERT_PATH: see
// DockerTls.cs), else the default socket. An engine that does not answer is the host's problem
// (exit 3), reported with the command that starts one here.
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

    private DockerEngine(DockerClient client, DockerConnection connection, DockerTlsClient? tls, VersionResponse version)
    {
        Client = client;
        Connection = connection;
        Tls = tls;
        Version = version;
    }

    public DockerClient Client { get; }
    public string Endpoint => Connection.Endpoint;
    public DockerConnection Connection { get; }

    /// <summary>The client certificate and the engine's verified certificate; null on a plain connection.</summary>
    public DockerTlsClient? Tls { get; }

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

    /// <summary>
    /// Connects to <paramref name="endpoint"/> (else $DOCKER_HOST, else the default socket) with TLS as
    /// the docker CLI would take it from the environment, and asks the engine its version; a
    /// <see cref="MachineException"/> names the endpoint, the file or variable at fault and the fix.
    /// </summary>
    public static Task<DockerEngine> ConnectAsync(string? endpoint, CancellationToken cancellationToken) =>
        ConnectToAsync(DockerConnection.FromEnvironment(endpoint), cancellationToken);

    /// <summary>Connects as <paramref name="connection"/> says (plain or TLS) and asks the engine its version.</summary>
    public static async Task<DockerEngine> ConnectToAsync(DockerConnection connection, CancellationToken cancellationToken)
    {
        var endpoint = connection.Endpoint;
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("unix" or "tcp" or "http"))
            throw new MachineException($"DOCKER_HOST '{endpoint}' is not unix:///path or tcp://host:port");
        if (connection.Tls is not null && uri.Scheme != "tcp")
            throw new MachineException($"DOCKER_TLS_VERIFY is set but DOCKER_HOST '{endpoint}' is not tcp://host:port (the docker CLI's form for a TLS engine)");
        var tls = connection.Tls is null ? null : DockerTlsClient.Load(connection.Tls);
        Credentials credentials = tls is null ? new AnonymousCredentials() : tls.Credentials();
        var client = new DockerClientConfiguration(uri, credentials, defaultTimeout: TimeSpan.FromMinutes(10)).CreateClient();
        try
        {
            using var quick = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            quick.CancelAfter(TimeSpan.FromSeconds(10));
            var version = await client.System.GetVersionAsync(quick.Token);
            return new DockerEngine(client, connection, tls, version);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not MachineException)
        {
            client.Dispose();
            var socket = endpoint.StartsWith("unix://", StringComparison.Ordinal) ? endpoint["unix://".Length..] : null;
            if (tls?.Explain(e) is { } tlsWhy)
                throw new MachineException($"TLS to the Docker engine at {endpoint} failed: {tlsWhy}", e);
            // Go's TLS server answers a plain request with this 400 (net/http): the port wants TLS.
            if (Chain(e).Any(x => x.Message.Contains("Client sent an HTTP request to an HTTPS server", StringComparison.Ordinal)))
                throw new MachineException($"the Docker engine at {endpoint} speaks TLS and this was plain HTTP (it answered \"Client sent an HTTP request to an HTTPS server\"): set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the folder holding the engine's ca.pem and a client cert.pem and key.pem", e);
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

    private static IEnumerable<Exception> Chain(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException) yield return x;
    }

    public void Dispose() => Client.Dispose();
}
