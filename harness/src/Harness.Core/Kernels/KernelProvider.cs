// One entry point for "give me this kernel": fetched (Debian package, local image) or built
// (source tree + config + patches). Callers never care which.
namespace Harness.Kernels;

public sealed class KernelProvider(string cacheRoot, TextWriter progress)
{
    public async Task<KernelImage> GetAsync(KernelSpec spec, CancellationToken cancellationToken, string? extraPatch = null)
    {
        if (spec.Build is not null)
            return await new KernelBuilder(cacheRoot, progress).BuildAsync(spec, cancellationToken, extraPatch);
        if (extraPatch is not null)
            throw new Yaml.InputException(new Yaml.InputProblem(spec.SourceFile, 0, 0, "source", "a patch under test needs a kernel built from source (debian-source or git)"));
        return await new KernelFetcher(Path.Combine(cacheRoot, "kernels"), progress).FetchAsync(spec, cancellationToken);
    }
}
