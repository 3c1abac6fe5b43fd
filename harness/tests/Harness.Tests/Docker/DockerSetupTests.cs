// What needs no engine: the runner image's inputs (read from apt's own files, hashed into the
// tag so a change rebuilds and nothing else does), and the error a user gets with no engine.
using Harness.Machines.Docker;
using Harness.Tests.Support;
using Xunit;

namespace Harness.Tests.Docker;

public sealed class DockerSetupTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("docker-setup-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Write(string relative, string text)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    [Fact]
    public void Mirror_comes_from_a_deb822_source_naming_the_suite_and_main()
    {
        Write("etc/apt/sources.list.d/debian.sources", """
            Types: deb
            URIs: http://mirror.lab/debian-security
            Suites: bookworm-security
            Components: main

            Types: deb
            # a comment
            URIs: http://mirror.lab/debian/
            Suites: bookworm bookworm-updates
            Components: main contrib
            """);

        Assert.Equal("http://mirror.lab/debian", AptSources.DebianMirror(_root, "bookworm"));
        Assert.Null(AptSources.DebianMirror(_root, "trixie"));
    }

    [Fact]
    public void Mirror_comes_from_a_one_line_source_with_options()
    {
        Write("etc/apt/sources.list", "# deb http://old/debian bookworm main\ndeb [arch=amd64] http://ftp.lab/debian bookworm main non-free\n");

        Assert.Equal("http://ftp.lab/debian", AptSources.DebianMirror(_root, "bookworm"));
    }

    [Fact]
    public void Version_is_the_suites_own_not_the_security_update()
    {
        const string madison = """
            qemu-system-x86 | 1:7.2+dfsg-7+deb12u18+b3 | http://deb.debian.org/debian bookworm/main amd64 Packages
            qemu-system-x86 | 1:7.2+dfsg-7+deb12u15 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
            """;

        Assert.Equal("1:7.2+dfsg-7+deb12u18+b3", AptSources.VersionIn(madison, "http://deb.debian.org/debian", "bookworm"));
        Assert.Null(AptSources.VersionIn(madison, "http://deb.debian.org/debian", "trixie"));
    }

    [Fact]
    public void Index_identity_changes_when_apt_fetches_a_new_release_file()
    {
        Write("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", "Date: one");
        var first = AptSources.IndexId(_root, "http://deb.debian.org/debian", "bookworm");
        Write("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", "Date: two");

        Assert.NotEqual(first, AptSources.IndexId(_root, "http://deb.debian.org/debian", "bookworm"));
        Assert.Equal("none", AptSources.IndexId(_root, "http://other/debian", "bookworm"));
    }

    [Fact]
    public void Image_tag_changes_with_every_input_and_only_with_them()
    {
        var recipe = new RunnerRecipe("bookworm", "http://deb.debian.org/debian", "minbase", ["qemu-system-x86"], ["qemu-system-x86=1:7.2"], "abc", 1);

        Assert.Equal(recipe.Tag, (recipe with { Packages = ["qemu-system-x86"] }).Tag);
        Assert.Matches("^harness-runner:[0-9a-f]{16}$", recipe.Tag);
        Assert.All(new[]
        {
            recipe with { Suite = "trixie" },
            recipe with { Mirror = "http://mirror.lab/debian" },
            recipe with { CandidateVersions = ["qemu-system-x86=1:7.3"] },
            recipe with { IndexId = "abd" },
            recipe with { RecipeVersion = 2 },
        }, changed => Assert.NotEqual(recipe.Tag, changed.Tag));
    }

    [Fact]
    public async Task No_engine_is_exit_3_naming_the_socket_and_the_dockerd_line_that_starts_one()
    {
        var socket = Path.Combine(_root, "docker.sock");
        var result = await HarnessProcess.Command(["run", "--machine", "docker", "--fs", "ext4", "--case", "tiny", "--results", Path.Combine(_root, "results")], Path.Combine(_root, "cache"))
            .WithEnvironmentVariables(e => e.Set("HARNESS_CACHE", Path.Combine(_root, "cache")).Set("DOCKER_HOST", $"unix://{socket}"))
            .ExecuteBufferedAsyncFor(TimeSpan.FromMinutes(1));

        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Equal($"harness: no Docker engine answers at unix://{socket} (no socket {socket}); start one as root: `dockerd --iptables=false --bridge=none -H unix://{socket} &`", result.Stderr.Trim());
        Assert.False(Directory.Exists(Path.Combine(_root, "results")) && Directory.EnumerateFileSystemEntries(Path.Combine(_root, "results")).Any(), "no run folder before the engine answers");
    }
}

internal static class CommandExtensions
{
    public static async Task<HarnessResult> ExecuteBufferedAsyncFor(this CliWrap.Command command, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        var result = await CliWrap.Buffered.BufferedCommandExtensions.ExecuteBufferedAsync(command, cancel.Token);
        return new HarnessResult(result.ExitCode, result.StandardOutput, result.StandardError);
    }
}
