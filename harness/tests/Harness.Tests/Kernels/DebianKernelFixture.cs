// The real Debian 6.1 cloud kernel, fetched once per test run into a cache shared across runs
// ($HARNESS_CACHE/kernels when set, as `make test` does, else /tmp/harness-test-cache/kernels),
// so the suite downloads its ~27 MB at most once per machine.
using Harness.Kernels;
using Harness.Tests.Support;
using Xunit;

namespace Harness.Tests.Kernels;

public sealed class DebianKernelFixture : IAsyncLifetime
{
    public static string CacheRoot =>
        Path.GetFullPath(Environment.GetEnvironmentVariable("HARNESS_CACHE") is { Length: > 0 } cache ? cache : "/tmp/harness-test-cache");

    public static string KernelCache => Path.Combine(CacheRoot, "kernels");

    public KernelSpec Spec { get; } = new KernelCatalog(Path.Combine(RepoPaths.Root, "kernels")).Find("debian-6.1-cloud");

    public KernelImage Kernel { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Kernel = await new KernelFetcher(KernelCache, TextWriter.Null).FetchAsync(Spec, CancellationToken.None);

    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>Tests that use the fetched kernel share one fetch and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class DebianKernelCollection : ICollectionFixture<DebianKernelFixture>
{
    public const string Name = "debian 6.1 cloud kernel";
}
