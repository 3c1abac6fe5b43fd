// TLS to a Docker engine for real: the private engine of TlsEngineFixture (tcp://127.0.0.1:23760,
// --tlsverify, certificates openssl made), reached the way a user reaches a remote engine:
// DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH in the environment of the harness binary.
// The CLI runs as its own process because the environment is process-wide and other test
// collections run at the same time (an in-process DOCKER_HOST would redirect their engines).
// Every error is produced for real: a CA that did not sign the engine's certificate, a client
// certificate the engine refuses, missing and unreadable files, plain HTTP to the TLS port, TLS
// to a plain port, an address the engine's certificate does not name.
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Docker.DotNet.Models;
using Harness.Cases;
using Harness.Cli;
using Harness.Machines;
using Harness.Machines.Docker;
using Harness.Results;
using Harness.Tests.Kernels;
using Harness.Tests.Support;
using Harness.Verdicts;
using Xunit;
using Xunit.Abstractions;

namespace Harness.Tests.Docker;

[Collection(TlsEngineCollection.Name)]
public sealed class TlsEngineTests(TlsEngineFixture engine, ITestOutputHelper output) : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("docker-tls-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static string Cache => DebianKernelFixture.CacheRoot;

    /// <summary>The harness binary with the docker CLI's variables set as given (null: unset), nothing inherited.</summary>
    private static Task<HarnessResult> HarnessAsync(IReadOnlyList<string> args, string? certPath, string endpoint = TlsEngineFixture.Endpoint, string? verify = "1", int minutes = 1) =>
        HarnessProcess.Command(args, Cache)
            .WithEnvironmentVariables(e => e.Set("DOCKER_HOST", endpoint).Set("DOCKER_TLS_VERIFY", verify).Set("DOCKER_CERT_PATH", certPath)
                .Set("DOCKER_TLS", null).Set("DOCKER_CONFIG", null))
            .ExecuteBufferedAsyncFor(TimeSpan.FromMinutes(minutes));

    /// <summary>A command that connects before any other work: the connection error is all it prints.</summary>
    private string[] Run => ["run", "--machine", "docker", "--fs", "ext4", "--case", "tiny", "--repeats", "1", "--results", Path.Combine(_scratch, "results")];

    private void AssertExit3(HarnessResult result, params string[] parts)
    {
        output.WriteLine(result.Stderr);
        Assert.True(result.ExitCode == 3, result.ToString());
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("harness: ", line);
        Assert.All(parts, part => Assert.Contains(part, line));
    }

    private string Copy(string from, string name)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_scratch, name)).FullName;
        foreach (var file in Directory.GetFiles(from, "*.pem")) File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        return folder;
    }

    [Fact]
    public async Task Engine_answers_over_tls_and_is_the_private_one_with_the_verified_certificates()
    {
        var info = await engine.Engine.Client.System.GetSystemInfoAsync(CancellationToken.None);

        Assert.Equal(TlsEngineFixture.DataRoot, info.DockerRootDir);
        Assert.Equal(TlsEngineFixture.Endpoint, engine.Engine.Endpoint);
        Assert.NotNull(engine.Engine.Tls);
        Assert.Contains("CN=localhost", engine.Engine.Tls.ServerCertificate!.Subject);
        Assert.Contains("CN=harness test CA ca", engine.Engine.Tls.ServerCertificate.Issuer);
        Assert.Contains("CN=harness-test-client", engine.Engine.Tls.ClientCertificate.Subject);
        Assert.True(engine.Engine.ApiVersion >= DockerEngine.MinimumApi, engine.Engine.Version.APIVersion);
        // The docker CLI's rule: DOCKER_TLS_VERIFY=0 is on too (non-empty), and verifies just the same.
        using var zero = await DockerEngine.ConnectToAsync(DockerConnection.FromEnvironment(null, name => name switch
        {
            "DOCKER_HOST" => "tcp://localhost:23760",
            "DOCKER_TLS_VERIFY" => "0",
            "DOCKER_CERT_PATH" => engine.Client,
            _ => null,
        }), CancellationToken.None);
        Assert.NotNull(zero.Tls?.ServerCertificate);
    }

    [Fact]
    public async Task Doctor_shows_the_tls_files_and_expiry_and_warns_on_a_certificate_ending_within_14_days()
    {
        var result = await HarnessAsync(["doctor"], engine.Client);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"engine +ok +tcp://127\.0\.0\.1:23760: Docker \d+", result.Stdout);
        var tls = Assert.Single(result.Stdout.Split('\n'), l => l.StartsWith("tls ", StringComparison.Ordinal));
        Assert.Matches(@"^tls +ok +verify the engine against .*/client/ca\.pem only; client .*/client/cert\.pem \+ .*/client/key\.pem \(folder: DOCKER_CERT_PATH\)", tls);
        Assert.Matches(@"client cert valid until \d{4}-\d\d-\d\d \(29 days\); engine cert valid until \d{4}-\d\d-\d\d \(29 days\)$", tls);
        Assert.Contains("engine cert", tls);
        Assert.Matches(@"image +ok +harness-runner:[0-9a-f]{16} present", result.Stdout);

        var warned = await HarnessAsync(["doctor"], engine.ShortLived);
        Assert.True(warned.ExitCode == 0, warned.ToString());
        Assert.Matches(@"tls +-- +verify the engine against .*client cert ends \d{4}-\d\d-\d\d \d\d:\d\d UTC, in 4 day\(s\): renew it soon", warned.Stdout);

        var plain = await HarnessAsync(["doctor"], null, "unix:///var/run/docker.sock", verify: "1");
        Assert.Matches(@"tls +-- +not used: a unix socket \(DOCKER_TLS_VERIFY is ignored for a unix socket, as the docker CLI does\)", plain.Stdout);
    }

    [Fact]
    public void Doctor_warns_within_14_days_of_a_certificates_end_and_says_NO_once_it_ended()
    {
        var now = DateTime.UtcNow;
        var ends = engine.Engine.Tls!.ClientCertificate.NotAfter.ToUniversalTime();

        Assert.Equal(true, DockerCommand.TlsStatus(engine.Engine.Connection, engine.Engine, now).Ok);
        var (soonOk, soon) = DockerCommand.TlsStatus(engine.Engine.Connection, engine.Engine, ends.AddDays(-10));
        Assert.Null(soonOk);
        Assert.Contains("client cert ends", soon);
        Assert.Contains("in 10 day(s): renew it soon", soon);
        var (endedOk, ended) = DockerCommand.TlsStatus(engine.Engine.Connection, engine.Engine, ends.AddMinutes(1));
        Assert.Equal(false, endedOk);
        Assert.Contains($"client cert EXPIRED on {ends:yyyy-MM-dd HH:mm} UTC", ended);
        // Without an engine (it did not answer) the client certificate is still read from cert.pem.
        var (offlineOk, offline) = DockerCommand.TlsStatus(engine.Connection(engine.Client), null, now);
        Assert.Equal(false, offlineOk);
        Assert.Contains("client cert valid until", offline);
        Assert.DoesNotContain("engine cert", offline);
    }

    [Fact]
    public async Task A_docker_cell_passes_through_tls_and_leaves_no_container()
    {
        var results = Path.Combine(_scratch, "results");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = await HarnessAsync(["run", "--machine", "docker", "--kernel", "debian-6.1-cloud", "--fs", "ext4", "--case", "tiny", "--repeats", "1", "--results", results], engine.Client, minutes: 10);

        Assert.True(result.ExitCode == 0, result.ToString() + $"\n{clock.Elapsed.TotalSeconds:F0} s");
        var runJson = Assert.Single(Directory.GetFiles(results, "run.json", SearchOption.AllDirectories));
        var record = JsonSerializer.Deserialize<RunRecord>(File.ReadAllText(runJson), ResultStore.Json)!;
        Assert.Equal(Outcome.Pass, record.Outcome);
        Assert.Equal("docker", record.Machine.Kind);
        var cell = Assert.Single(record.Cells);
        Assert.Equal(1, cell.Passed);
        Assert.StartsWith("6.1.0-", cell.Kernel);
        var plan = new CaseCatalog(RepoPaths.Cases).Find("tiny").Workload;
        var folder = Path.Combine(Path.GetDirectoryName(runJson)!, "cells", "ext4-tiny");
        var iteration = JsonSerializer.Deserialize<IterationResult>(File.ReadAllText(Path.Combine(folder, "iteration-000.json")), ResultStore.Json)!;
        Assert.Equal(plan.IoCount, iteration.IoCount);
        Assert.Equal(0, iteration.IoErrors);
        Assert.NotEmpty(iteration.Passes);
        Assert.All(iteration.Passes, p => Assert.Equal(plan.FileSize >> 9, p.SectorsChecked));
        Assert.Contains("HARNESS-BOOTED", File.ReadAllText(Path.Combine(folder, "console.log")));
        // The container ran on the private engine (its qemu command line names it) and is gone from it.
        Assert.Contains("# in container harness-ext4-tiny-", File.ReadAllText(Path.Combine(folder, "qemu-command.txt")));
        var left = await engine.Engine.Client.Containers.ListContainersAsync(new ContainersListParameters { All = true }, CancellationToken.None);
        Assert.Empty(left);
    }

    [Fact]
    public async Task A_ca_that_did_not_sign_the_engines_certificate_is_certificate_verify_failed_naming_the_ca_file()
    {
        var result = await HarnessAsync(Run, engine.OtherCa);

        AssertExit3(result, $"TLS to the Docker engine at {TlsEngineFixture.Endpoint} failed: certificate verify failed",
            "(CN=localhost, issued by CN=harness test CA ca)", $"is not signed by the CA in {engine.OtherCa}/ca.pem");
        Assert.False(Directory.Exists(Path.Combine(_scratch, "results")) && Directory.EnumerateFileSystemEntries(Path.Combine(_scratch, "results")).Any(), "no run folder before the engine answers");
    }

    [Fact]
    public async Task A_client_certificate_from_another_ca_is_refused_by_the_engine()
    {
        var result = await HarnessAsync(Run, engine.ForeignClient);

        AssertExit3(result, $"TLS to the Docker engine at {TlsEngineFixture.Endpoint} failed: the engine refused this client's certificate {engine.ForeignClient}/cert.pem",
            "issued by CN=harness test CA other", "accepts only client certificates signed by its own --tlscacert");
    }

    [Fact]
    public async Task An_address_the_engines_certificate_does_not_name_is_refused()
    {
        var result = await HarnessAsync(Run, engine.Client, TlsEngineFixture.WrongNameEndpoint);

        AssertExit3(result, $"TLS to the Docker engine at {TlsEngineFixture.WrongNameEndpoint} failed: the engine's certificate is for localhost, 127.0.0.1, not for 127.0.0.2");
    }

    [Theory]
    [InlineData("ca.pem", "the CA certificate that signed the engine's certificate")]
    [InlineData("cert.pem", "this client's certificate")]
    [InlineData("key.pem", "this client's private key")]
    public async Task A_missing_tls_file_is_named_with_where_docker_docs_make_it(string file, string what)
    {
        var folder = Copy(engine.Client, "missing-" + file);
        File.Delete(Path.Combine(folder, file));

        var result = await HarnessAsync(Run, folder);

        AssertExit3(result, $"DOCKER_TLS_VERIFY is set but there is no {folder}/{file} ({what}; the folder is DOCKER_CERT_PATH)",
            "https://docs.docker.com/engine/security/protect-access/");
    }

    [Fact]
    public async Task An_unreadable_key_names_the_key_file()
    {
        var folder = Copy(engine.Client, "bad-key");
        File.WriteAllText(Path.Combine(folder, "key.pem"), "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n");

        var result = await HarnessAsync(Run, folder);

        AssertExit3(result, $"cannot load the client certificate {folder}/cert.pem with its key {folder}/key.pem");
    }

    [Fact]
    public async Task Plain_http_to_the_tls_port_says_the_engine_wants_tls()
    {
        var result = await HarnessAsync(Run, null, verify: null);

        AssertExit3(result, $"the Docker engine at {TlsEngineFixture.Endpoint} speaks TLS and this was plain HTTP", "set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH");
    }

    [Fact]
    public async Task A_closed_tls_port_is_no_engine_not_a_tls_error()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var result = await HarnessAsync(Run, engine.Client, $"tcp://127.0.0.1:{port}");

        AssertExit3(result, $"no Docker engine answers at tcp://127.0.0.1:{port} (Connection refused", "start the engine DOCKER_HOST names");
    }

    [Fact]
    public async Task Tls_to_a_plain_http_port_says_the_port_does_not_speak_tls()
    {
        // A plain HTTP listener answering as Go's net/http (dockerd without TLS) answers bytes it cannot parse.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var stop = new CancellationTokenSource();
        var serve = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var client = await listener.AcceptTcpClientAsync(stop.Token);
                var stream = client.GetStream();
                _ = await stream.ReadAtLeastAsync(new byte[4096], 1, throwOnEndOfStream: false, stop.Token);
                await stream.WriteAsync("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request"u8.ToArray(), stop.Token);
            }
        });

        var result = await HarnessAsync(Run, engine.Client, $"tcp://127.0.0.1:{port}");
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => serve);

        AssertExit3(result, $"TLS to the Docker engine at tcp://127.0.0.1:{port} failed: TLS handshake failed, the port does not speak TLS", "unset DOCKER_TLS_VERIFY for an engine without TLS");
    }
}
