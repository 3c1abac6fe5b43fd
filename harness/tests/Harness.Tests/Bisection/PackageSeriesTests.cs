// Package bisection's walk against the real Debian archive this machine's apt knows (the versions of
// Debian's 6.1 cloud kernel), with a fake oracle: the real kernels all pass the seed case, so only the
// walk is checked here — the versions found and ordered, and the first "bad" version named.
using Harness.Bisection;
using Harness.Kernels;
using Harness.Results;
using Xunit;

namespace Harness.Tests.Bisection;

public sealed class PackageSeriesTests
{
    private const string CloudSeries = "linux-image-6.1.0-*-cloud-amd64-unsigned";   // kernels/debian-6.1-cloud.yaml's pattern

    [Fact]
    public async Task The_cloud_kernel_series_resolves_to_several_versions_oldest_first()
    {
        var series = await PackageSeries.ResolveAsync(CloudSeries, CancellationToken.None);

        Assert.True(series.Count >= 3, $"apt knows {series.Count} versions of {CloudSeries}; `make deps` runs apt-get update on a fresh machine");
        Assert.All(series, v => Assert.Matches(@"^linux-image-6\.1\.0-\d+-cloud-amd64-unsigned=6\.1\.", v.Sha));
        for (var i = 1; i < series.Count; i++)
            Assert.True(DebianVersion.Compare(series[i - 1].Subject, series[i].Subject) <= 0, $"{series[i - 1].Sha} before {series[i].Sha}");
        Assert.Equal(Enumerable.Range(0, series.Count), series.Select(v => v.Index));
    }

    [Fact]
    public async Task The_walk_names_the_first_version_the_fake_oracle_calls_bad()
    {
        var series = await PackageSeries.ResolveAsync(CloudSeries, CancellationToken.None);
        var range = PackageSeries.Slice(series, null, null, CloudSeries);
        var firstBad = range.Count / 2;   // a made-up regression: the real kernels all pass
        var history = new FakeHistory(range.Select(v => v.Sha).ToArray(), firstBad, rate: 0.5, seed: 5);
        var results = Directory.CreateTempSubdirectory("harness-package-walk-").FullName;
        try
        {
            var (record, _) = await new BisectDriver(new ResultStore(results), TimeProvider.System, TextWriter.Null)
                .RunAsync(new GitRange("apt", range), "ext4", "seed", new BisectionPolicy(Probability: 0.99), history, "test", CancellationToken.None);

            Assert.Equal(BisectionEnd.Culprit, record.End);
            Assert.Equal(range[firstBad].Sha, record.Culprit!.Sha);
            Assert.Contains($"first bad commit {range[firstBad].Sha} with probability", record.Summary);
        }
        finally
        {
            Directory.Delete(results, recursive: true);
        }
    }

    [Fact]
    public void A_slice_takes_versions_or_names_and_refuses_ambiguity_and_reversal()
    {
        BisectCommit V(int i, string name, string version) => new(i, $"{name}={version}", version);
        IReadOnlyList<BisectCommit> series = [V(0, "linux-source-6.1", "6.1.170-1"), V(1, "linux-source-6.1", "6.1.180-1"), V(2, "linux-source-6.1", "6.1.192-1")];

        var slice = PackageSeries.Slice(series, "6.1.180-1", null, "linux-source-6.1");
        var ambiguous = Assert.Throws<Harness.Yaml.InputException>(() => PackageSeries.Slice(series, "linux-source-6.1", null, "linux-source-6.1"));
        var reversed = Assert.Throws<Harness.Yaml.InputException>(() => PackageSeries.Slice(series, "6.1.192-1", "6.1.170-1", "linux-source-6.1"));

        Assert.Equal(["linux-source-6.1=6.1.180-1", "linux-source-6.1=6.1.192-1"], slice.Select(v => v.Sha));
        Assert.Equal([0, 1], slice.Select(v => v.Index));
        Assert.Contains("names 3 of the 3 versions", ambiguous.Message);
        Assert.Contains("is not older than --bad", reversed.Message);
    }
}
