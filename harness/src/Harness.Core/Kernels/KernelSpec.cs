// A kernel under test as kernels/*.yaml describes it: a name and where its image comes from.
// Sources are data: a new kind (a Debian source tree or git tree built with a patch) is a
// new KernelSource record plus its branch in KernelSpecLoader and KernelFetcher.
namespace Harness.Kernels;

/// <summary>A validated kernel spec file.</summary>
public sealed record KernelSpec(string Name, string Description, KernelSource Source, string SourceFile);

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
