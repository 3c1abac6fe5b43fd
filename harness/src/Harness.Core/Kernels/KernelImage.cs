// What a fetched (later: built) kernel hands to machines: the image to boot and its modules.
namespace Harness.Kernels;

/// <summary>
/// A kernel ready to boot. <see cref="Release"/> is its <c>uname -r</c>; <see cref="ModulesDirectory"/>
/// is its <c>lib/modules/&lt;release&gt;</c> (with modules.dep) or null for a kernel without modules;
/// <see cref="Origin"/> says exactly what it is, for run records
/// (e.g. "debian linux-image-6.1.0-56-cloud-amd64-unsigned 6.1.192-2").
/// </summary>
public sealed record KernelImage(string Name, string Release, string BzImage, string? ModulesDirectory, string Origin)
{
    /// <summary>The kernel's .config (built: beside the image; Debian: the package's boot/config-&lt;release&gt;), or null when unknown.</summary>
    public string? ConfigFile { get; init; }

    /// <summary>The kernel spec file it came from, for error messages.</summary>
    public string? SpecFile { get; init; }
}
