// The host's apt, as a source of Debian kernel packages: which ones match a glob (newest first),
// and downloading one .deb. Only apt's local index is read; apt-get download fetches one file.
using System.Security.Cryptography;
using System.Text;
using Harness.Machines;

namespace Harness.Kernels;

/// <summary>One version of one Debian package.</summary>
internal sealed record DebianPackage(string Name, string Version);

internal sealed class AptRepository(string listsDirectory)
{
    /// <summary>Packages whose names match <paramref name="pattern"/>, each at apt's candidate version, newest first.</summary>
    public async Task<IReadOnlyList<DebianPackage>> FindAsync(string pattern, CancellationToken cancellationToken)
    {
        var glob = PackageGlob.ToRegex(pattern);
        // pkgnames lists only real packages and exits 0 when none match (apt-cache show would fail).
        var names = (await HostCommand.RunAsync("apt-cache", ["pkgnames", PackageGlob.Prefix(pattern)], cancellationToken))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(name => glob.IsMatch(name))
            .Distinct(StringComparer.Ordinal)
            .ToArray();
        if (names.Length == 0) return [];
        var show = await HostCommand.RunAsync("apt-cache", ["show", "--no-all-versions", .. names], cancellationToken);
        return ParseStanzas(show)
            .OrderByDescending(p => p.Version, Comparer<string>.Create(DebianVersion.Compare))
            .ThenBy(p => p.Name, StringComparer.Ordinal)
            .ToArray();
    }

    /// <summary>Downloads exactly that version's .deb to <paramref name="destination"/>.</summary>
    public async Task DownloadAsync(DebianPackage package, string destination, CancellationToken cancellationToken)
    {
        var folder = Path.GetDirectoryName(destination)!;
        var scratch = Directory.CreateDirectory(Path.Combine(folder, $".download-{Guid.NewGuid():N}")).FullName;
        try
        {
            // apt-get download writes into the working directory; env --chdir sets it without a shell.
            // Sandbox::User=root: as root, apt would otherwise try (and warn about) the _apt user.
            await HostCommand.RunAsync("env",
                [$"--chdir={scratch}", "apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", $"{package.Name}={package.Version}"],
                cancellationToken);
            var debs = Directory.GetFiles(scratch, "*.deb");
            if (debs.Length != 1)
                throw new MachineException($"apt-get download {package.Name}={package.Version} left {debs.Length} .deb files in {scratch}, expected 1");
            File.Move(debs[0], destination, overwrite: true);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    /// <summary>
    /// A fingerprint of apt's package lists (names, sizes, times): it changes when `apt-get update`
    /// brings new lists, so a cached "newest package" answer is only trusted while it is the same.
    /// </summary>
    public string ListsStamp()
    {
        var text = new StringBuilder();
        if (Directory.Exists(listsDirectory))
        {
            foreach (var file in new DirectoryInfo(listsDirectory).GetFiles().OrderBy(f => f.Name, StringComparer.Ordinal))
                text.Append(file.Name).Append(' ').Append(file.Length).Append(' ').Append(file.LastWriteTimeUtc.Ticks).Append('\n');
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static IEnumerable<DebianPackage> ParseStanzas(string text)
    {
        string? name = null;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("Package: ", StringComparison.Ordinal)) name = line["Package: ".Length..].Trim();
            else if (line.StartsWith("Version: ", StringComparison.Ordinal) && name is not null)
            {
                yield return new DebianPackage(name, line["Version: ".Length..].Trim());
                name = null;
            }
        }
    }
}
