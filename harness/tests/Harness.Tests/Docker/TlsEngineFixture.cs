// A PRIVATE second Docker engine that speaks only TLS on tcp://127.0.0.1:23760 (and 127.0.0.2, a
// name its certificate does not carry), with real certificates openssl makes here: a CA, the
// engine's certificate (SAN IP:127.0.0.1, DNS:localhost), a client certificate, and the wrong
// ones the error tests need (a second CA that signed nothing of the engine's, a client certificate
// from that CA, one that ends in 5 days). Its data and exec roots are its own, so it starts its
// own containerd and never touches the default engine's state; it is stopped gracefully (SIGINT)
// at the end and its data root removed. Measured first: two dockerds run side by side here, each
// with the containerd it starts under its --exec-root.
using CliWrap;
using CliWrap.Buffered;
using Harness.Machines;
using Harness.Machines.Docker;
using Harness.Tests.Kernels;
using Xunit;

namespace Harness.Tests.Docker;

public sealed class TlsEngineFixture : IAsyncLifetime
{
    public const string DataRoot = "/var/lib/harness-test-tls-docker";
    public const string ExecRoot = "/run/harness-test-tls-docker";
    public const string Socket = "/run/harness-test-tls-docker.sock";
    public const string PidFile = "/run/harness-test-tls-docker.pid";
    public const string Endpoint = "tcp://127.0.0.1:23760";

    /// <summary>The same engine on an address its certificate does not name.</summary>
    public const string WrongNameEndpoint = "tcp://127.0.0.2:23760";

    private TestDockerd? _dockerd;

    /// <summary>The temp folder holding every certificate folder below.</summary>
    public string Root { get; } = Directory.CreateTempSubdirectory("harness-tls-").FullName;

    /// <summary>ca.pem, cert.pem, key.pem as a client of this engine needs them.</summary>
    public string Client => Path.Combine(Root, "client");

    /// <summary>The right client certificate, but ca.pem is a second CA that did not sign the engine's certificate.</summary>
    public string OtherCa => Path.Combine(Root, "other-ca");

    /// <summary>The right ca.pem, but the client certificate was signed by the second CA: the engine refuses it.</summary>
    public string ForeignClient => Path.Combine(Root, "foreign-client");

    /// <summary>A good client certificate that ends in 5 days (doctor warns under 14).</summary>
    public string ShortLived => Path.Combine(Root, "short-lived");

    public string Log => Path.Combine(Root, "dockerd.log");

    /// <summary>Connected over TLS with <see cref="Client"/>'s files.</summary>
    public DockerEngine Engine { get; private set; } = null!;

    public RunnerImageResult Image { get; private set; } = null!;

    /// <summary>Seconds the fixture took: certificates, engine start, runner image import.</summary>
    public double SetupSeconds { get; private set; }

    public DockerConnection Connection(string folder, string endpoint = Endpoint) => new(endpoint, new DockerTlsFiles(folder, "DOCKER_CERT_PATH"));

    public async Task InitializeAsync()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await MakeCertificatesAsync();
        await TestDockerd.StopStaleAsync(PidFile, DataRoot);  // a killed test run's engine would hold the port
        Directory.CreateDirectory(ExecRoot);
        var server = Path.Combine(Root, "server");
        (_dockerd, Engine) = await TestDockerd.StartAsync("dockerd",
            [
                "--iptables=false", "--bridge=none", "--data-root", DataRoot, "--exec-root", ExecRoot, "--pidfile", PidFile,
                "-H", $"unix://{Socket}", "-H", Endpoint, "-H", WrongNameEndpoint,
                "--tlsverify", "--tlscacert", Path.Combine(server, "ca.pem"), "--tlscert", Path.Combine(server, "cert.pem"), "--tlskey", Path.Combine(server, "key.pem"),
            ],
            Log, () => DockerEngine.ConnectToAsync(Connection(Client), CancellationToken.None), "the private TLS engine");
        var recipe = await RunnerImage.ResolveAsync(CancellationToken.None);
        Image = await new RunnerImage(DebianKernelFixture.CacheRoot, TextWriter.Null).EnsureAsync(Engine.Client, recipe, rebuild: false, CancellationToken.None);
        SetupSeconds = clock.Elapsed.TotalSeconds;
    }

    public async Task DisposeAsync()
    {
        Engine?.Dispose();
        if (_dockerd is not null) await _dockerd.StopAsync();
        // Its data root is this fixture's alone; never removed while something is still mounted in it.
        if (!File.ReadAllText("/proc/self/mountinfo").Contains(DataRoot, StringComparison.Ordinal))
        {
            if (Directory.Exists(DataRoot)) Directory.Delete(DataRoot, recursive: true);
            if (Directory.Exists(ExecRoot)) Directory.Delete(ExecRoot, recursive: true);
        }
        Directory.Delete(Root, recursive: true);
    }

    private async Task MakeCertificatesAsync()
    {
        var ca = await AuthorityAsync("ca");
        var other = await AuthorityAsync("other");
        await LeafAsync(ca, "server", "localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n", days: 30);
        await LeafAsync(ca, "client", "harness-test-client", "extendedKeyUsage=clientAuth\n", days: 30);
        await LeafAsync(other, "foreign-client", "harness-test-foreign-client", "extendedKeyUsage=clientAuth\n", days: 30, caPem: ca.Pem);
        await LeafAsync(ca, "short-lived", "harness-test-short-lived", "extendedKeyUsage=clientAuth\n", days: 5);
        Directory.CreateDirectory(OtherCa);
        File.Copy(other.Pem, Path.Combine(OtherCa, "ca.pem"));
        File.Copy(Path.Combine(Client, "cert.pem"), Path.Combine(OtherCa, "cert.pem"));
        File.Copy(Path.Combine(Client, "key.pem"), Path.Combine(OtherCa, "key.pem"));
    }

    private sealed record Authority(string Pem, string Key);

    private async Task<Authority> AuthorityAsync(string name)
    {
        var pem = Path.Combine(Root, $"{name}-ca.pem");
        var key = Path.Combine(Root, $"{name}-ca-key.pem");
        await OpensslAsync("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", pem, "-days", "30", "-subj", $"/CN=harness test CA {name}");
        return new Authority(pem, key);
    }

    /// <summary>A key and a certificate signed by <paramref name="ca"/>, in folder <paramref name="name"/> with ca.pem (the CA a client of this engine trusts).</summary>
    private async Task LeafAsync(Authority ca, string name, string commonName, string extensions, int days, string? caPem = null)
    {
        var folder = Directory.CreateDirectory(Path.Combine(Root, name)).FullName;
        var key = Path.Combine(folder, "key.pem");
        var csr = Path.Combine(folder, "request.csr");
        var ext = Path.Combine(folder, "extensions.cnf");
        File.WriteAllText(ext, extensions);
        await OpensslAsync("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", csr, "-subj", $"/CN={commonName}");
        await OpensslAsync("x509", "-req", "-in", csr, "-CA", ca.Pem, "-CAkey", ca.Key, "-set_serial", Random.Shared.NextInt64(1, long.MaxValue).ToString(), "-out", Path.Combine(folder, "cert.pem"), "-days", days.ToString(), "-extfile", ext);
        File.Copy(caPem ?? ca.Pem, Path.Combine(folder, "ca.pem"));
    }

    private static async Task OpensslAsync(params string[] args)
    {
        var result = await CliWrap.Cli.Wrap("openssl").WithArguments(args).WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        if (result.ExitCode != 0) throw new InvalidOperationException($"openssl {string.Join(' ', args)}: exit {result.ExitCode}: {result.StandardError}");
    }

}

/// <summary>The tests of the private TLS engine share it and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class TlsEngineCollection : ICollectionFixture<TlsEngineFixture>, ICollectionFixture<DebianKernelFixture>
{
    public const string Name = "docker engine over tls";
}
