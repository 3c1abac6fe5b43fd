// Turns a kernel spec into a bootable KernelImage. Debian packages are resolved against apt's
// index (newest matching version), downloaded once into <folder>/debs/, unpacked into
// <folder>/<package>-<version>/ and given a modules.dep (the .deb ships none). A marker
// written last makes the unpacked folder the cache: a second fetch does no apt work at all.
using System.Security.Cryptography;
using System.Text;
using Harness.Machines;
using Harness.Yaml;

namespace Harness.Kernels;

/// <summary>
/// Fetches kernels into <c>cacheDirectory</c>, a folder it owns (the harness uses <c>.cache/kernels</c>),
/// reporting each step on <c>progress</c>.
/// </summary>
public sealed class KernelFetcher(string cacheDirectory, TextWriter progress)
{
    private const string CompleteMarker = ".harness-complete";
    // Debian's default Dir::State::lists; only used to notice `apt-get update`.
    private readonly AptRepository _apt = new("/var/lib/apt/lists");

    /// <summary>The kernel the spec names, downloaded and unpacked if not cached yet.</summary>
    public Task<KernelImage> FetchAsync(KernelSpec spec, CancellationToken cancellationToken) => spec.Source switch
    {
        DebianPackageSource debian => FetchDebianAsync(spec, debian, cancellationToken),
        LocalImageSource local => Task.FromResult(CheckLocal(spec, local)),
        _ => throw new NotSupportedException($"{spec.SourceFile}: source kind {spec.Source.GetType().Name} cannot be fetched yet"),
    };

    /// <summary>
    /// What the spec could resolve to: for a Debian pattern, "package version" of each match, newest
    /// (the one <see cref="FetchAsync"/> takes) first; for a local image, its bzImage path.
    /// </summary>
    public async Task<IReadOnlyList<string>> ListAvailableAsync(KernelSpec spec, CancellationToken cancellationToken) => spec.Source switch
    {
        DebianPackageSource debian => (await _apt.FindAsync(debian.PackagePattern, cancellationToken)).Select(p => $"{p.Name} {p.Version}").ToArray(),
        LocalImageSource local => [local.BzImage],
        _ => [],
    };

    private async Task<KernelImage> FetchDebianAsync(KernelSpec spec, DebianPackageSource source, CancellationToken cancellationToken) =>
        await FetchPackageAsync(spec, await ResolveAsync(spec, source, cancellationToken), cancellationToken);

    /// <summary>One exact version of a Debian kernel package (package bisection walks the versions apt can download).</summary>
    public Task<KernelImage> FetchVersionAsync(KernelSpec spec, string package, string version, CancellationToken cancellationToken) =>
        FetchPackageAsync(spec, new DebianPackage(package, version), cancellationToken);

    private async Task<KernelImage> FetchPackageAsync(KernelSpec spec, DebianPackage package, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(cacheDirectory, $"{package.Name}-{package.Version}");
        var marker = Path.Combine(folder, CompleteMarker);
        if (File.Exists(marker))
        {
            progress.WriteLine($"kernel {spec.Name}: {package.Name} {package.Version} (cached)");
            Cache.LastUse.MarkFolder(folder);
        }
        else
        {
            using (await CacheLock.AcquireAsync(CacheLock.For(folder), progress, $"fetching {package.Name}", cancellationToken))
            {
                // Another process may have finished it while this one waited.
                if (!File.Exists(marker)) await DownloadAndUnpackAsync(spec, package, folder, marker, cancellationToken);
            }
        }
        var release = ReleaseOfUnpacked(folder);
        return new KernelImage(
            spec.Name,
            release,
            Path.Combine(folder, "boot", $"vmlinuz-{release}"),
            Path.Combine(folder, "lib", "modules", release),
            $"debian {package.Name} {package.Version}")
        {
            ConfigFile = Path.Combine(folder, "boot", $"config-{release}"),
            SpecFile = spec.SourceFile,
        };
    }

    /// <summary>The .deb of exactly that version, downloaded once into <c>debs/</c> (the file a fetch unpacks; the changelog of a package walk is read from it).</summary>
    public Task<string> DownloadDebAsync(string package, string version, CancellationToken cancellationToken) =>
        DownloadDebAsync(package, new DebianPackage(package, version), cancellationToken);

    private async Task<string> DownloadDebAsync(string who, DebianPackage package, CancellationToken cancellationToken)
    {
        var debs = Directory.CreateDirectory(Path.Combine(cacheDirectory, "debs")).FullName;
        var deb = Path.Combine(debs, $"{package.Name}_{package.Version.Replace(":", "%3a", StringComparison.Ordinal)}_amd64.deb");
        if (!File.Exists(deb))
        {
            progress.WriteLine($"kernel {who}: downloading {package.Name} {package.Version}");
            await _apt.DownloadAsync(package, deb, cancellationToken);
        }
        return deb;
    }

    private async Task DownloadAndUnpackAsync(KernelSpec spec, DebianPackage package, string folder, string marker, CancellationToken cancellationToken)
    {
        var deb = await DownloadDebAsync(spec.Name, package, cancellationToken);

        // No marker: whatever is there is from an interrupted unpack.
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        progress.WriteLine($"kernel {spec.Name}: unpacking into {folder}");
        await HostCommand.RunAsync("dpkg-deb", ["-x", deb, folder], cancellationToken);
        var release = ReleaseOfUnpacked(folder);
        // The .deb has modules.builtin and modules.order but no modules.dep: depmod writes it.
        await HostCommand.RunAsync("/sbin/depmod", ["-b", folder, release], cancellationToken);
        // The marker says "complete": written whole (temp + rename), last.
        var temp = $"{marker}.{Guid.NewGuid():N}.tmp";
        await File.WriteAllTextAsync(temp, $"{package.Name} {package.Version} {release}\n", cancellationToken);
        File.Move(temp, marker);
        progress.WriteLine($"kernel {spec.Name}: ready, release {release}");
    }

    /// <summary>
    /// The newest package matching the pattern. The answer is kept per pattern while apt's lists are
    /// unchanged (apt-cache takes about a second a call here); `apt-get update` invalidates it.
    /// </summary>
    private async Task<DebianPackage> ResolveAsync(KernelSpec spec, DebianPackageSource source, CancellationToken cancellationToken)
    {
        var stamp = _apt.ListsStamp();
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(source.PackagePattern)))[..16];
        var file = Path.Combine(cacheDirectory, "resolved", $"{key}.txt");
        if (File.Exists(file)
            && File.ReadAllLines(file) is [var pattern, var seenStamp, var name, var version]
            && pattern == source.PackagePattern && seenStamp == stamp)
            return new DebianPackage(name, version);

        var matches = await _apt.FindAsync(source.PackagePattern, cancellationToken);
        if (matches.Count == 0)
            throw new InputException(new InputProblem(spec.SourceFile, 0, 0, "source.debian-package",
                $"no package apt knows matches '{source.PackagePattern}' (run `apt-get update`; `apt-cache pkgnames linux-image-` lists what apt knows)"));
        var newest = matches[0];
        progress.WriteLine($"kernel {spec.Name}: {source.PackagePattern} is {newest.Name} {newest.Version} (newest of {matches.Count})");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var temp = $"{file}.{Guid.NewGuid():N}.tmp";
        await File.WriteAllLinesAsync(temp, [source.PackagePattern, stamp, newest.Name, newest.Version], cancellationToken);
        File.Move(temp, file, overwrite: true);
        return newest;
    }

    private static string ReleaseOfUnpacked(string folder)
    {
        var images = Directory.Exists(Path.Combine(folder, "boot"))
            ? Directory.GetFiles(Path.Combine(folder, "boot"), "vmlinuz-*")
            : [];
        if (images.Length != 1)
            throw new MachineException($"{folder}: expected one boot/vmlinuz-<release>, found {images.Length} (is this a linux-image package?)");
        var release = Path.GetFileName(images[0])["vmlinuz-".Length..];
        if (!Directory.Exists(Path.Combine(folder, "lib", "modules", release)))
            throw new MachineException($"{folder}: the package has boot/vmlinuz-{release} but no lib/modules/{release}");
        return release;
    }

    private KernelImage CheckLocal(KernelSpec spec, LocalImageSource source)
    {
        var problems = new List<InputProblem>();
        void Problem(string field, string message) => problems.Add(new InputProblem(spec.SourceFile, 0, 0, $"source.{field}", message));

        string? imageRelease = null;
        if (!File.Exists(source.BzImage)) Problem("bzimage", $"no such file: {source.BzImage}");
        else imageRelease = BzImage.TryReadRelease(source.BzImage);

        string? modulesRelease = null;
        if (source.ModulesDirectory is { } modules)
        {
            if (!Directory.Exists(modules))
                Problem("modules", $"no such folder: {modules}");
            else if (!File.Exists(Path.Combine(modules, "modules.dep")))
                Problem("modules", $"{modules} has no modules.dep; run depmod (for `make modules_install INSTALL_MOD_PATH=DIR`: `depmod -b DIR <release>`)");
            else
                modulesRelease = Path.GetFileName(Path.TrimEndingDirectorySeparator(modules));
        }
        if (problems.Count == 0 && modulesRelease is null && imageRelease is null)
            Problem("bzimage", $"{source.BzImage} is not an x86 bzImage with a version string, so its release is unknown; give source.modules (its folder name is the release)");
        if (problems.Count > 0) throw new InputException(problems);

        if (modulesRelease is not null && imageRelease is not null && modulesRelease != imageRelease)
            progress.WriteLine($"kernel {spec.Name}: warning: modules folder is {modulesRelease} but the bzImage says {imageRelease}; modules may not load");
        var release = (modulesRelease ?? imageRelease)!;
        // A kernel on disk may have its config beside it (a build tree's .config, or /boot's config-<release>).
        var folder = Path.GetDirectoryName(source.BzImage) ?? ".";
        var config = new[] { "config", ".config", $"config-{release}" }.Select(n => Path.Combine(folder, n)).FirstOrDefault(File.Exists);
        return new KernelImage(spec.Name, release, source.BzImage, source.ModulesDirectory, $"local {source.BzImage}")
        {
            ConfigFile = config,
            SpecFile = spec.SourceFile,
        };
    }
}
