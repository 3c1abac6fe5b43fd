// The runner image, built by the harness without a registry: a minbase Debian root filesystem
// with QEMU, made by debootstrap from this machine's own apt mirror, packed as a tar (kept in the
// cache) and imported through the engine API (POST /images/create?fromSrc=-, `docker import`).
// Its tag is a hash of its inputs, so it is rebuilt only when one changes; a missing image is
// built on first use, like a kernel, never an error.
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using CliWrap;
using Docker.DotNet;
using Docker.DotNet.Models;
using Harness.Kernels;
using Harness.Yaml;

namespace Harness.Machines.Docker;

/// <summary>
/// What the image is made from. <see cref="Key"/> hashes all of it: the suite, mirror, variant,
/// the packages asked for with the version apt would install of each, the identity of the apt
/// index those versions come from (any change to the archive's index can change what debootstrap
/// resolves), and the harness's recipe version.
/// </summary>
public sealed record RunnerRecipe(
    string Suite,
    string Mirror,
    string Variant,
    IReadOnlyList<string> Packages,
    IReadOnlyList<string> CandidateVersions,
    string IndexId,
    int RecipeVersion)
{
    /// <summary>
    /// Bumped when the way the image is made changes (packages, cleanup). Not the harness build:
    /// the agent travels in each cell's initramfs, not in this image, so a new agent must not cost
    /// a rebuild.
    /// </summary>
    public const int CurrentRecipeVersion = 2;

    public const string Repository = "harness-runner";

    /// <summary>The inputs, one per line: what is hashed and what `harness docker image` prints.</summary>
    public string Describe() =>
        $"suite {Suite}\nmirror {Mirror}\nvariant {Variant}\npackages {string.Join(" ", CandidateVersions)}\napt index {IndexId}\nrecipe {RecipeVersion}\n";

    public string Key => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Describe())))[..16];

    public string Tag => $"{Repository}:{Key}";
}

/// <summary>The image a run uses, and whether this call built or imported it.</summary>
public sealed record RunnerImageResult(string Tag, string Id, string How, double Seconds);

public sealed class RunnerImage(string cacheDirectory, TextWriter progress)
{
    /// <summary>
    /// What the containers need: QEMU (docker machine; its formatting and fsck stay on the host), and
    /// for docker-host, where mkfs, mount and the agent run in the container against the host's kernel,
    /// the mkfs tools of the filesystems it tests and libaio for the NativeAOT agent.
    /// </summary>
    public static readonly IReadOnlyList<string> Packages = ["qemu-system-x86", "e2fsprogs", "xfsprogs", "btrfs-progs", "libaio1"];

    public string Folder { get; } = Path.Combine(cacheDirectory, "docker");

    /// <summary>The cached root filesystem tar of <paramref name="recipe"/>.</summary>
    public string TarFor(RunnerRecipe recipe) => Path.Combine(Folder, $"runner-{recipe.Key}.tar");

    /// <summary>The recipe for this machine: its Debian suite and mirror, and apt's candidate versions now.</summary>
    public static async Task<RunnerRecipe> ResolveAsync(CancellationToken cancellationToken, string aptRoot = "/")
    {
        var suite = OsRelease(Path.Combine(aptRoot, "etc/os-release"), "VERSION_CODENAME")
            ?? throw new MachineException("cannot tell the Debian suite (no VERSION_CODENAME in /etc/os-release); the runner image is built with debootstrap from a Debian host");
        var mirror = AptSources.DebianMirror(aptRoot, suite)
            ?? throw new MachineException($"no apt source for Debian {suite} main in /etc/apt/sources.list(.d); the runner image is built from the machine's own mirror");
        var versions = new List<string>();
        foreach (var package in Packages)
        {
            // debootstrap installs from the suite itself (not -updates or -security): that suite's version.
            var shown = await HostCommand.RunAsync("apt-cache", ["madison", package], cancellationToken);
            var version = AptSources.VersionIn(shown, mirror, suite)
                ?? throw new MachineException($"apt knows no version of {package} in {mirror} {suite}; run `apt-get update`");
            versions.Add($"{package}={version}");
        }
        return new RunnerRecipe(suite, mirror, "minbase", Packages, versions, AptSources.IndexId(aptRoot, mirror, suite), RunnerRecipe.CurrentRecipeVersion);
    }

    /// <summary>The image for <paramref name="recipe"/>: present, imported from the cached tar, or built (debootstrap, minutes cold).</summary>
    public async Task<RunnerImageResult> EnsureAsync(DockerClient client, RunnerRecipe recipe, bool rebuild, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var held = await CacheLock.AcquireAsync(CacheLock.For(Path.Combine(Folder, "runner")), progress, "the runner image", cancellationToken);
        var tar = TarFor(recipe);
        if (rebuild)
        {
            await RemoveImageAsync(client, recipe.Tag, cancellationToken);
            File.Delete(tar);
        }
        else if (await InspectAsync(client, recipe.Tag, cancellationToken) is { } present)
        {
            return new RunnerImageResult(recipe.Tag, present.ID, "present", clock.Elapsed.TotalSeconds);
        }
        var how = "imported from the cached root filesystem";
        if (!File.Exists(tar))
        {
            await BuildTarAsync(recipe, tar, cancellationToken);
            how = "built";
        }
        progress.WriteLine($"runner image: importing {ByteSize.Format(new FileInfo(tar).Length)} into the engine as {recipe.Tag}");
        await using (var stream = new FileStream(tar, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true))
        {
            var messages = new Progress<JSONMessage>(m =>
            {
                if (m.Error is not null) progress.WriteLine($"runner image: import: {m.Error.Message}");
            });
            await client.Images.CreateImageAsync(
                new ImagesCreateParameters { FromSrc = "-", Repo = RunnerRecipe.Repository, Tag = recipe.Key, Message = $"harness runner image: {recipe.CandidateVersions[0]}" },
                stream, null, messages, cancellationToken);
        }
        var image = await InspectAsync(client, recipe.Tag, cancellationToken)
            ?? throw new MachineException($"the engine took the runner image tar ({tar}) but has no {recipe.Tag} afterwards");
        progress.WriteLine($"runner image: {recipe.Tag} {how} in {clock.Elapsed.TotalSeconds:F0} s");
        return new RunnerImageResult(recipe.Tag, image.ID, how, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The image's inspect answer, or null when the engine has no such image.</summary>
    public static async Task<ImageInspectResponse?> InspectAsync(DockerClient client, string tag, CancellationToken cancellationToken)
    {
        try { return await client.Images.InspectImageAsync(tag, cancellationToken); }
        catch (DockerImageNotFoundException) { return null; }
        catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound) { return null; }
    }

    private static async Task RemoveImageAsync(DockerClient client, string tag, CancellationToken cancellationToken)
    {
        if (await InspectAsync(client, tag, cancellationToken) is null) return;
        await client.Images.DeleteImageAsync(tag, new ImageDeleteParameters { Force = true }, cancellationToken);
    }

    /// <summary>debootstrap into a scratch folder, record its packages, tar it (temp + rename), delete the folder.</summary>
    private async Task BuildTarAsync(RunnerRecipe recipe, string tar, CancellationToken cancellationToken)
    {
        if (HostCommand.FindOnPath("debootstrap") is null)
            throw new MachineException("the runner image is built with debootstrap, which is not installed: `apt-get install debootstrap` (`make deps` does)");
        var root = Path.Combine(Folder, $"rootfs-{recipe.Key}-{Environment.ProcessId}");
        var debs = Path.Combine(Folder, "debs");
        Directory.CreateDirectory(debs);
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        var log = Path.Combine(Folder, $"runner-{recipe.Key}.build.log");
        progress.WriteLine($"runner image: debootstrap --variant={recipe.Variant} --include={string.Join(",", recipe.Packages)} {recipe.Suite} from {recipe.Mirror} (log: {log})");
        var clock = Stopwatch.StartNew();
        try
        {
            var stages = new Dictionary<string, int>();
            await using (var logWriter = new StreamWriter(log, append: false))
            {
                var result = await Cli.Wrap("debootstrap")
                    .WithArguments([$"--variant={recipe.Variant}", $"--include={string.Join(",", recipe.Packages)}", $"--cache-dir={Path.GetFullPath(debs)}",
                        recipe.Suite, root, recipe.Mirror])
                    .WithValidation(CommandResultValidation.None)
                    .WithStandardOutputPipe(PipeTarget.ToDelegate(line =>
                    {
                        lock (logWriter) logWriter.WriteLine(line);
                        // A line when a stage starts (Retrieving, Extracting, Unpacking, Configuring ...) and every
                        // 25 packages within it: debootstrap prints one line per package per stage.
                        var word = line.StartsWith("I: ", StringComparison.Ordinal) ? line[3..].Split(' ')[0] : "";
                        if (word.Length == 0) return;
                        var seen = stages[word] = stages.GetValueOrDefault(word) + 1;
                        if (seen == 1 || seen % 25 == 0)
                            progress.WriteLine($"runner image: {clock.Elapsed.TotalSeconds,4:F0} s  {line[3..]}{(seen > 1 ? $" ({seen} so far)" : "")}");
                    }))
                    .WithStandardErrorPipe(PipeTarget.ToDelegate(line => { lock (logWriter) logWriter.WriteLine(line); }))
                    .ExecuteAsync(cancellationToken);
                if (result.ExitCode != 0)
                    throw new MachineException($"debootstrap exited with {result.ExitCode} after {clock.Elapsed.TotalSeconds:F0} s; see {log}");
            }
            var packages = await HostCommand.RunAsync("chroot", [root, "dpkg-query", "-W", "-f", "${Package}=${Version}\\n"], cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(Folder, $"runner-{recipe.Key}.packages"), recipe.Describe() + "\n" + packages, cancellationToken);
            // Package lists and downloaded archives are not needed to run QEMU.
            foreach (var junk in new[] { "var/cache/apt/archives", "var/lib/apt/lists" })
                foreach (var file in Directory.EnumerateFiles(Path.Combine(root, junk), "*", SearchOption.AllDirectories)) File.Delete(file);
            var temp = $"{tar}.tmp-{Environment.ProcessId}";
            progress.WriteLine($"runner image: {clock.Elapsed.TotalSeconds,4:F0} s  packing {packages.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length} packages into {tar}");
            await HostCommand.RunAsync("tar", ["--numeric-owner", "-C", root, "-cf", temp, "."], cancellationToken);
            File.Move(temp, tar, overwrite: true);
        }
        finally
        {
            // debootstrap may leave /proc mounted inside the root on failure: never rm through a mount.
            await HostCommand.TryRunAsync("umount", ["-R", Path.Combine(root, "proc")], "/", CancellationToken.None);
            if (Directory.Exists(root) && !File.Exists(Path.Combine(root, "proc", "self", "status")))
                Directory.Delete(root, recursive: true);
        }
    }

    private static string? OsRelease(string file, string key) =>
        File.Exists(file)
            ? File.ReadLines(file).Where(l => l.StartsWith(key + "=", StringComparison.Ordinal)).Select(l => l[(key.Length + 1)..].Trim('"')).FirstOrDefault(v => v.Length > 0)
            : null;
}
