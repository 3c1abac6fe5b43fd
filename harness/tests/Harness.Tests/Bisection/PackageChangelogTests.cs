// A package walk's answer with the changelog entries between the last good and the first bad version,
// read from the first bad version's own .deb, against the real archive with the fake oracle of the walk
// tests (the real kernels all pass, so the first bad version is made up: the newest, whose .deb the
// shared test cache already holds). Also the linux-source-6.1 series: resolved from apt, one version's
// source .deb fetched (the version a cold 6.1 build downloads anyway); building each version is `make e2e`.
using Harness.Bisection;
using Harness.Cli;
using Harness.Kernels;
using Harness.Results;
using Harness.Tests.Kernels;
using Harness.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Harness.Tests.Bisection;

[Collection(DebianKernelCollection.Name)]
public sealed class PackageChangelogTests(DebianKernelFixture debian, ITestOutputHelper log) : IDisposable
{
    private const string CloudSeries = "linux-image-6.1.0-*-cloud-amd64-unsigned";
    private readonly string _scratch = Directory.CreateTempSubdirectory("harness-changelog-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private async Task<(int Code, string Out, string Err)> Bisect(IBisectStepRunner runner, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var app = new CliApp(stdout, stderr, TimeProvider.System) { BisectRunnerFactory = (_, _) => Task.FromResult(runner) };
        var code = await app.RunAsync(["bisect", .. args, "--cases-dir", RepoPaths.Cases, "--kernels-dir", Path.Combine(RepoPaths.Root, "kernels"),
            "--results", Path.Combine(_scratch, "results"), "--cache", Path.Combine(_scratch, "cache")], CancellationToken.None);
        log.WriteLine(stdout.ToString());
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>The shared cache's .deb, linked where the walk's cache looks for it, so nothing is downloaded twice.</summary>
    private void Link(string deb, string folder)
    {
        var debs = Directory.CreateDirectory(Path.Combine(_scratch, "cache", folder)).FullName;
        File.CreateSymbolicLink(Path.Combine(debs, Path.GetFileName(deb)), deb);
    }

    private const string Changelog = """
        linux (6.1.192-2) bookworm-security; urgency=high

          * ext4: fix NULL folio dereference in mballoc (Closes: #1154101)

         -- Salvatore Bonaccorso <carnil@debian.org>  Mon, 16 Nov 2026 11:17:40 +0100

        linux (6.1.192-1) bookworm-security; urgency=high

          * New upstream stable update:
            - ext4: avoid a stale read
            - xfs: something else

         -- Ben Hutchings <benh@debian.org>  Sat, 07 Nov 2026 10:00:00 +0100

        linux (6.1.190-1) bookworm-security; urgency=high

          * New upstream stable update

         -- Ben Hutchings <benh@debian.org>  Sat, 24 Oct 2026 10:00:00 +0100

        """;

    [Fact]
    public void Entries_after_the_good_version_up_to_the_bad_one_are_kept_with_their_lines()
    {
        var entries = DebianChangelog.Parse(Changelog);

        var span = DebianChangelog.Between(entries, "6.1.190-1", "6.1.192-1");
        var rendered = DebianChangelog.Render(new ChangelogSpan("linux-source-6.1", "6.1.190-1", "6.1.192-1", "m", span), "ext4");

        Assert.Equal(["6.1.192-2", "6.1.192-1", "6.1.190-1"], entries.Select(e => e.Version));
        Assert.Equal("6.1.192-1", Assert.Single(span).Version);
        Assert.Equal(["  * New upstream stable update:", "    - ext4: avoid a stale read", "    - xfs: something else"], span[0].Lines);
        Assert.Equal("bookworm-security", span[0].Distribution);
        Assert.Contains("lines mentioning ext4: 1", rendered);
        Assert.Contains("    - ext4: avoid a stale read", rendered);
        Assert.DoesNotContain("mballoc", rendered);   // 6.1.192-2 is after the first bad version
    }

    [Fact]
    public async Task The_cloud_walk_prints_and_records_the_changelog_between_the_last_good_and_the_first_bad_version()
    {
        var versions = await PackageSeries.ResolveAsync(CloudSeries, CancellationToken.None);
        var (good, bad) = (versions[^2], versions[^1]);
        Assert.Equal($"{debian.Kernel.Origin["debian ".Length..].Replace(' ', '=')}", bad.Sha);   // the newest: the fixture's kernel
        var deb = Directory.GetFiles(Path.Combine(DebianKernelFixture.KernelCache, "debs"), $"{bad.Sha.Replace('=', '_')}_amd64.deb").Single();
        Link(deb, Path.Combine("kernels", "debs"));
        var history = new FakeHistory(versions.Select(v => v.Sha).ToArray(), culprit: versions.Count - 1, rate: 0.6, seed: 4);

        var (code, output, error) = await Bisect(history, "--kernel-series", "debian-6.1-cloud", "--fs", "ext4");

        Assert.True(code == 0, $"exit {code}: {error}\n{output}");
        Assert.Contains($"CULPRIT: first bad commit {bad.Sha} with probability", output);
        Assert.Contains($"changelog of {bad.Sha[..bad.Sha.IndexOf('=')]} after {good.Subject} up to {bad.Subject}:", output);
        var results = output.Split('\n').Single(l => l.StartsWith("results: ", StringComparison.Ordinal))["results: ".Length..].Trim();
        var span = RecordFormat.Read<ChangelogSpan>(Path.Combine(Path.GetDirectoryName(results)!, "changelog.json"));
        Assert.Null(span.Note);
        Assert.Equal(bad.Subject, span.Entries[0].Version);
        Assert.All(span.Entries, e => Assert.True(DebianVersion.Compare(e.Version, good.Subject) > 0 && DebianVersion.Compare(e.Version, bad.Subject) <= 0, e.Version));
        Assert.All(span.Entries, e => Assert.Equal("linux", e.Source));
        Assert.True(span.Entries.Sum(e => e.Lines.Count) > 0);
    }

    [Fact]
    public async Task The_linux_source_series_resolves_apts_versions_and_fetches_the_one_a_step_asks_for()
    {
        var versions = await PackageSeries.ResolveAsync("linux-source-6.1", CancellationToken.None);
        var newest = versions[^1];

        var (deb, version) = await new KernelBuilder(DebianKernelFixture.CacheRoot, TextWriter.Null)
            .SourceDebAsync("linux-source-6.1", newest.Subject, CancellationToken.None);
        var fields = await Harness.Machines.HostCommand.RunAsync("dpkg-deb", ["--field", deb, "Package", "Version"], CancellationToken.None);

        Assert.True(versions.Count >= 2, $"apt serves {versions.Count} versions of linux-source-6.1 (`apt-cache madison linux-source-6.1`)");
        Assert.All(versions, v => Assert.StartsWith("linux-source-6.1=6.1.", v.Sha));
        Assert.Equal(newest.Subject, version);
        Assert.Equal($"Package: linux-source-6.1\nVersion: {newest.Subject}\n", fields);
    }

    [Fact]
    public async Task The_source_walk_names_the_fake_first_bad_version_and_its_changelog()
    {
        var versions = await PackageSeries.ResolveAsync("linux-source-6.1", CancellationToken.None);
        var (deb, _) = await new KernelBuilder(DebianKernelFixture.CacheRoot, TextWriter.Null).SourceDebAsync("linux-source-6.1", versions[^1].Subject, CancellationToken.None);
        Link(deb, Path.Combine("kernels", "debs"));
        var history = new FakeHistory(versions.Select(v => v.Sha).ToArray(), culprit: versions.Count - 1, rate: 0.7, seed: 6);

        var (code, output, error) = await Bisect(history, "--kernel-series", "linux-6.1", "--fs", "ext4");

        Assert.True(code == 0, $"exit {code}: {error}\n{output}");
        Assert.Contains($"CULPRIT: first bad commit {versions[^1].Sha} with probability", output);
        Assert.Contains($"changelog of linux-source-6.1 after {versions[^2].Subject} up to {versions[^1].Subject}: ", output);
        Assert.DoesNotContain("apt-get download", error);
    }
}
