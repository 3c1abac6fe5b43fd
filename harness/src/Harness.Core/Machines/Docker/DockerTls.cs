// TLS to a remote engine, read from the environment exactly as the docker CLI reads it
// (cli/flags/options.go): DOCKER_TLS_VERIFY turns verification on for ANY non-empty value ("0"
// included), DOCKER_CERT_PATH names the folder (default: the CLI's config dir, $DOCKER_CONFIG or
// ~/.docker) holding ca.pem, cert.pem and key.pem, and a unix socket ignores TLS. The engine's
// certificate is checked against ca.pem alone (a custom root, not the system store) and against
// the host DOCKER_HOST names; there is no "accept any" path, so the CLI's DOCKER_TLS without
// DOCKER_TLS_VERIFY (TLS without checking the server) is refused rather than imitated.
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Docker.DotNet.X509;

namespace Harness.Machines.Docker;

/// <summary>Where the client's TLS files are, and which variable chose the folder (for error lines and doctor).</summary>
public sealed record DockerTlsFiles(string Folder, string FolderFrom)
{
    /// <summary>The CA that signed the engine's certificate: the only root trusted.</summary>
    public string CaFile => Path.Combine(Folder, "ca.pem");

    /// <summary>The client certificate the engine checks against its own --tlscacert.</summary>
    public string CertFile => Path.Combine(Folder, "cert.pem");

    /// <summary>The client certificate's private key (unencrypted PEM, as Docker's docs make it).</summary>
    public string KeyFile => Path.Combine(Folder, "key.pem");
}

/// <summary>
/// An engine endpoint and how to reach it: plain (unix socket or tcp without TLS) or TLS with
/// <see cref="Tls"/>'s files. <see cref="TlsIgnored"/> says why DOCKER_TLS_VERIFY had no effect.
/// </summary>
public sealed record DockerConnection(string Endpoint, DockerTlsFiles? Tls, string? TlsIgnored = null)
{
    /// <summary>The docker CLI's default ports for tcp:// without one: 2376 with TLS, 2375 without.</summary>
    public const int TlsPort = 2376, PlainPort = 2375;

    /// <summary>
    /// The connection the docker CLI would make: <paramref name="endpoint"/> (else $DOCKER_HOST, else
    /// the default socket), TLS from $DOCKER_TLS_VERIFY and $DOCKER_CERT_PATH. A node endpoint of a
    /// swarm takes the same TLS settings, as the CLI would with DOCKER_HOST set to it.
    /// <paramref name="environment"/> replaces the process environment (tests; no global state).
    /// </summary>
    public static DockerConnection FromEnvironment(string? endpoint = null, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        string? Variable(string name) => environment(name) is { Length: > 0 } value ? value : null;
        endpoint ??= Variable("DOCKER_HOST") ?? DockerEngine.DefaultEndpoint;
        var verify = Variable("DOCKER_TLS_VERIFY") is not null;
        if (endpoint.StartsWith("unix://", StringComparison.Ordinal))
            // The CLI too: "there's no need to configure TLS for a socket connection".
            return new DockerConnection(endpoint, null, verify ? "DOCKER_TLS_VERIFY is ignored for a unix socket, as the docker CLI does" : null);
        if (!verify && Variable("DOCKER_TLS") is not null)
            throw new MachineException("DOCKER_TLS is set without DOCKER_TLS_VERIFY: that is TLS without checking the engine's certificate, which the harness does not do; set DOCKER_TLS_VERIFY=1 (the engine is then checked against $DOCKER_CERT_PATH/ca.pem)");
        DockerTlsFiles? tls = null;
        if (verify)
        {
            var home = Variable("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            tls = Variable("DOCKER_CERT_PATH") is { } certPath ? new DockerTlsFiles(Path.GetFullPath(certPath), "DOCKER_CERT_PATH")
                : Variable("DOCKER_CONFIG") is { } config ? new DockerTlsFiles(Path.GetFullPath(config), "DOCKER_CONFIG (DOCKER_CERT_PATH unset)")
                : new DockerTlsFiles(Path.Combine(home, ".docker"), "the default ~/.docker (DOCKER_CERT_PATH unset)");
        }
        // tcp://host without a port: the CLI's defaults.
        if (Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && uri.Scheme == "tcp" && uri.Port < 0 && uri.Host.Length > 0)
            endpoint = $"tcp://{uri.Authority}:{(tls is null ? PlainPort : TlsPort)}";
        return new DockerConnection(endpoint, tls);
    }
}

/// <summary>
/// The loaded TLS files of one connection: the client certificate and key, the trusted CA, and the
/// check of the engine's certificate. Remembers why a check failed, since the TLS stack only says
/// "rejected by the callback".
/// </summary>
public sealed class DockerTlsClient
{
    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    private const string Docs = "Docker's docs make them with openssl: https://docs.docker.com/engine/security/protect-access/";

    private readonly X509Certificate2Collection _authorities;
    private string? _failure;

    private DockerTlsClient(DockerTlsFiles files, X509Certificate2 client, X509Certificate2Collection authorities)
    {
        Files = files;
        ClientCertificate = client;
        _authorities = authorities;
    }

    /// <summary>The files it was loaded from.</summary>
    public DockerTlsFiles Files { get; }

    /// <summary>The client certificate with its private key.</summary>
    public X509Certificate2 ClientCertificate { get; }

    /// <summary>The engine's certificate as last verified (null before a handshake).</summary>
    public X509Certificate2? ServerCertificate { get; private set; }

    /// <summary>Reads the three files; a missing or unreadable one is a <see cref="MachineException"/> naming it.</summary>
    public static DockerTlsClient Load(DockerTlsFiles files)
    {
        foreach (var (path, what) in new[] { (files.CaFile, "the CA certificate that signed the engine's certificate"), (files.CertFile, "this client's certificate"), (files.KeyFile, "this client's private key") })
        {
            if (!File.Exists(path))
                throw new MachineException($"DOCKER_TLS_VERIFY is set but there is no {path} ({what}; the folder is {files.FolderFrom}): put ca.pem, cert.pem and key.pem there, or point DOCKER_CERT_PATH at the folder holding them; {Docs}");
        }
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(files.CaFile);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new MachineException($"cannot read the CA certificate {files.CaFile}: {e.Message.TrimEnd('.')}", e);
        }
        if (authorities.Count == 0)
            throw new MachineException($"{files.CaFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----); it must be the CA that signed the engine's certificate");
        X509Certificate2 client;
        try
        {
            client = X509Certificate2.CreateFromPemFile(files.CertFile, files.KeyFile);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            var hint = File.ReadAllText(files.KeyFile).Contains("ENCRYPTED", StringComparison.Ordinal)
                ? " (the key is encrypted: the engine's clients need it without a passphrase, `openssl rsa -in key.pem -out key.pem`)"
                : "";
            throw new MachineException($"cannot load the client certificate {files.CertFile} with its key {files.KeyFile}: {e.Message.TrimEnd('.')}{hint}; both must be PEM and belong together; {Docs}", e);
        }
        return new DockerTlsClient(files, client, authorities);
    }

    /// <summary>Docker.DotNet's credentials: this client certificate, the engine checked by <see cref="Verify"/>.</summary>
    public CertificateCredentials Credentials() => new(ClientCertificate) { ServerCertificateValidationCallback = Verify };

    /// <summary>
    /// The engine's certificate must chain to ca.pem (and only to it: CustomRootTrust, no system
    /// store) and name the host DOCKER_HOST names (the TLS stack's own name check, IP SANs included).
    /// </summary>
    public bool Verify(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            _failure = "the engine sent no certificate";
            return false;
        }
        var server = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_authorities);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        custom.ChainPolicy.ApplicationPolicy.Add(new Oid(ServerAuth));
        if (chain is not null) custom.ChainPolicy.ExtraStore.AddRange(chain.ChainElements.Select(e => e.Certificate).Skip(1).ToArray());
        if (!custom.Build(server))
        {
            var status = string.Join(", ", custom.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
            var expired = custom.ChainStatus.Any(s => s.Status == X509ChainStatusFlags.NotTimeValid);
            _failure = expired
                ? $"certificate verify failed: the engine's certificate ({server.Subject}) is outside its validity ({server.NotBefore:yyyy-MM-dd} to {server.NotAfter:yyyy-MM-dd}); the engine needs a new one signed by {Files.CaFile}"
                : $"certificate verify failed: the engine's certificate ({server.Subject}, issued by {server.Issuer}) is not signed by the CA in {Files.CaFile} ({status}); put the CA that signed the engine's --tlscert there";
            return false;
        }
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            var host = (sender as SslStream)?.TargetHostName is { Length: > 0 } name ? name : "the host DOCKER_HOST names";
            _failure = $"the engine's certificate is for {Names(server)}, not for {host}; use one of those names in DOCKER_HOST or give the engine a certificate with this host in its subjectAltName";
            return false;
        }
        // The TLS stack disposes the certificate it lent the callback: keep a copy for doctor.
        ServerCertificate = X509CertificateLoader.LoadCertificate(server.RawData);
        _failure = null;
        return true;
    }

    /// <summary>Why a connection through this client failed, in the words of the fix; null when TLS is not the reason.</summary>
    public string? Explain(Exception e)
    {
        if (_failure is not null) return _failure;
        var messages = string.Join(" | ", Chain(e).Select(x => x.Message));
        if (!Chain(e).Any(x => x is AuthenticationException or IOException)) return null;
        if (messages.Contains("certificate", StringComparison.OrdinalIgnoreCase) || messages.Contains("alert", StringComparison.OrdinalIgnoreCase)
            || messages.Contains("unexpected EOF", StringComparison.OrdinalIgnoreCase))
            return $"the engine refused this client's certificate {Files.CertFile} ({ClientCertificate.Subject}, issued by {ClientCertificate.Issuer}; TLS said: {Innermost(e).Message.Trim()}): "
                + "an engine run with --tlsverify accepts only client certificates signed by its own --tlscacert; use a cert.pem/key.pem signed by that CA";
        if (messages.Contains("frame", StringComparison.OrdinalIgnoreCase) || messages.Contains("packet", StringComparison.OrdinalIgnoreCase)
            || messages.Contains("wrong version", StringComparison.OrdinalIgnoreCase) || messages.Contains("handshake", StringComparison.OrdinalIgnoreCase))
            return $"TLS handshake failed, the port does not speak TLS (a plain-HTTP engine?) (TLS said: {Innermost(e).Message.Trim().TrimEnd('.')}): point DOCKER_HOST at the engine's TLS port (2376 by convention), or unset DOCKER_TLS_VERIFY for an engine without TLS";
        return null;
    }

    private static string Names(X509Certificate2 certificate)
    {
        var san = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
        var names = san is null ? [] : san.EnumerateDnsNames().Concat(san.EnumerateIPAddresses().Select(a => a.ToString())).ToArray();
        return names.Length > 0 ? string.Join(", ", names) : $"{certificate.Subject} (no subjectAltName)";
    }

    private static IEnumerable<Exception> Chain(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException) yield return x;
    }

    private static Exception Innermost(Exception e) => e.InnerException is null ? e : Innermost(e.InnerException);
}
