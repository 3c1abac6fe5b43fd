// How the environment turns into a connection, the docker CLI's rules (cli/flags/options.go):
// any non-empty DOCKER_TLS_VERIFY is on, "0" included; DOCKER_CERT_PATH else $DOCKER_CONFIG else
// ~/.docker; a unix socket ignores TLS; tcp:// without a port takes 2376 (TLS) or 2375. No engine.
using Harness.Machines;
using Harness.Machines.Docker;
using Xunit;

namespace Harness.Tests.Docker;

public sealed class DockerTlsEnvironmentTests
{
    private static DockerConnection From(params (string Name, string Value)[] variables) =>
        DockerConnection.FromEnvironment(null, name => variables.FirstOrDefault(v => v.Name == name).Value);

    [Theory]
    [InlineData("1")]
    [InlineData("0")]
    [InlineData("false")]
    [InlineData("yes")]
    public void Any_non_empty_DOCKER_TLS_VERIFY_turns_tls_on_as_the_docker_cli_does(string value)
    {
        var connection = From(("DOCKER_HOST", "tcp://engine.lab:2376"), ("DOCKER_TLS_VERIFY", value), ("DOCKER_CERT_PATH", "/certs"), ("HOME", "/home/u"));

        Assert.Equal("tcp://engine.lab:2376", connection.Endpoint);
        Assert.NotNull(connection.Tls);
        Assert.Equal("/certs/ca.pem", connection.Tls.CaFile);
        Assert.Equal("/certs/cert.pem", connection.Tls.CertFile);
        Assert.Equal("/certs/key.pem", connection.Tls.KeyFile);
        Assert.Equal("DOCKER_CERT_PATH", connection.Tls.FolderFrom);
    }

    [Fact]
    public void Empty_or_unset_DOCKER_TLS_VERIFY_is_plain_http()
    {
        Assert.Null(From(("DOCKER_HOST", "tcp://engine.lab:2375"), ("DOCKER_TLS_VERIFY", "")).Tls);
        Assert.Null(From(("DOCKER_HOST", "tcp://engine.lab:2375")).Tls);
    }

    [Fact]
    public void Cert_folder_defaults_to_DOCKER_CONFIG_then_home_dot_docker()
    {
        Assert.Equal("/cfg/ca.pem", From(("DOCKER_HOST", "tcp://e:1"), ("DOCKER_TLS_VERIFY", "1"), ("DOCKER_CONFIG", "/cfg"), ("HOME", "/home/u")).Tls!.CaFile);
        var home = From(("DOCKER_HOST", "tcp://e:1"), ("DOCKER_TLS_VERIFY", "1"), ("HOME", "/home/u")).Tls!;
        Assert.Equal("/home/u/.docker/key.pem", home.KeyFile);
        Assert.Contains("~/.docker", home.FolderFrom);
    }

    [Fact]
    public void Unix_socket_ignores_tls_and_says_so()
    {
        var connection = From(("DOCKER_HOST", "unix:///run/other.sock"), ("DOCKER_TLS_VERIFY", "1"));

        Assert.Null(connection.Tls);
        Assert.Contains("ignored for a unix socket", connection.TlsIgnored);
        Assert.Equal(DockerEngine.DefaultEndpoint, From().Endpoint);
    }

    [Fact]
    public void Tcp_without_a_port_takes_the_clis_default_ports()
    {
        Assert.Equal("tcp://engine.lab:2376", From(("DOCKER_HOST", "tcp://engine.lab"), ("DOCKER_TLS_VERIFY", "1"), ("HOME", "/h")).Endpoint);
        Assert.Equal("tcp://engine.lab:2375", From(("DOCKER_HOST", "tcp://engine.lab")).Endpoint);
    }

    [Fact]
    public void Tls_without_verification_is_refused_not_imitated()
    {
        var e = Assert.Throws<MachineException>(() => From(("DOCKER_HOST", "tcp://engine.lab:2376"), ("DOCKER_TLS", "1")));

        Assert.Contains("DOCKER_TLS is set without DOCKER_TLS_VERIFY", e.Message);
    }

    [Fact]
    public void A_node_endpoint_takes_the_same_tls_settings()
    {
        var connection = DockerConnection.FromEnvironment("tcp://node2.lab:2376", name => name switch
        {
            "DOCKER_HOST" => "tcp://manager.lab:2376",
            "DOCKER_TLS_VERIFY" => "1",
            "DOCKER_CERT_PATH" => "/certs",
            _ => null,
        });

        Assert.Equal("tcp://node2.lab:2376", connection.Endpoint);
        Assert.Equal("/certs/ca.pem", connection.Tls!.CaFile);
    }
}
