// A kernel under test as kernels/*.yaml describes it: a name and where its image comes from.
// Sources are data: a new kind (a Debian source tree or git tree built with a patch) is a
// new KernelSource record plus its branch in KernelSpecLoader and KernelFetcher.
namespace Harness.Kernels;

/// <summary>A validated kernel spec file. <see cref="Build"/> is set for kernels built from source.</summary>
public sealed record KernelSpec(string Name, string Description, KernelSource Source, string SourceFile)
{
    public KernelBuildSpec? Build { get; init; }
}

/// <summary>
/// How to configure and patch a source tree: a base config target (tinyconfig, defconfig, ...)
/// merged with fragments, then an ordered patch series. Paths are absolute.
/// </summary>
public sealed record KernelBuildSpec(string BaseConfig, IReadOnlyList<string> Fragments, IReadOnlyList<string> Patches)
{
    /// <summary>The same build with one more patch on top (the patch under test).</summary>
    public KernelBuildSpec WithPatch(string patch) => this with { Patches = [.. Patches, patch] };

    /// <summary>How errors and records name a patch file (an mbox message, a commit of a range); absent: its path.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>The same build with a series on top (the patches under test), each keeping its label.</summary>
    public KernelBuildSpec WithSeries(PatchSeries series) => this with
    {
        Patches = [.. Patches, .. series.Patches.Select(p => p.File)],
        Labels = Labels.Concat(series.Patches.Select(p => KeyValuePair.Create(p.File, p.Label)))
            .GroupBy(l => l.Key).ToDictionary(g => g.Key, g => g.Last().Value),
    };
}

/// <summary>Debian's kernel source package (e.g. <c>linux-source-6.1</c>): its tarball, fetched with apt-get download.</summary>
public sealed record DebianSourceTree(string Package) : KernelSource
{
    /// <summary>One exact version (a package walk's step); null: the version apt would install.</summary>
    public string? Version { get; init; }
}

/// <summary>A local git repository and a ref to build (a commit, tag or branch).</summary>
public sealed record GitTree(string Repository, string Ref) : KernelSource;

/// <summary>Where a kernel image (and its modules) comes from.</summary>
public abstract record KernelSource;

/// <summary>
/// A prebuilt Debian kernel package, e.g. <c>linux-image-6.1.0-*-cloud-amd64-unsigned</c>.
/// The pattern is a glob (<c>*</c>, <c>?</c>) over package names; the newest version apt knows is taken.
/// </summary>
public sealed record DebianPackageSource(string PackagePattern) : KernelSource;

/// <summary>
/// A kernel built elsewhere: a bzImage and, optionally, its <c>lib/modules/&lt;release&gt;</c> folder
/// (with modules.dep, as <c>make modules_install</c> leaves it). Paths are absolute.
/// </summary>
public sealed record LocalImageSource(string BzImage, string? ModulesDirectory) : KernelSource;
