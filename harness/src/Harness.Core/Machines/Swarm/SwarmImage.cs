// The per-run image of a swarm job: the runner image (QEMU, mkfs and fsck tools) plus what the
// shards need, built through the engine API (POST /build with a tar context, FROM the local
// runner image, no registry): the .NET runtime this harness runs on, the harness itself
// (framework-dependent, as built: nothing to download), the kernel, the base initramfs with the
// agent, the case files and the plan. Nothing is bind-mounted, so a task runs the same on any
// node that has the image.
using System.Formats.Tar;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Harness.Machines.Swarm;

/// <summary>
/// The harness a task runs and the runtime it runs on: the folder of harness.dll (with its
/// runtimeconfig and dependencies) and a .NET root (dotnet, host/fxr, shared/Microsoft.NETCore.App).
/// </summary>
public sealed record SwarmPayload(string HarnessDirectory, string DotnetRoot, string RuntimeVersion)
{
    /// <summary>Overrides where the harness to ship is (tests run from the test assembly's folder).</summary>
    public const string HarnessVariable = "HARNESS_SWARM_APP";

    /// <summary>The harness folder given, else $HARNESS_SWARM_APP, else the running harness's own; and the running runtime.</summary>
    public static SwarmPayload Find(string? harnessDirectory = null)
    {
        var candidates = new[] { harnessDirectory, Environment.GetEnvironmentVariable(HarnessVariable), AppContext.BaseDirectory };
        var folder = candidates.FirstOrDefault(d => d is { Length: > 0 } && File.Exists(Path.Combine(d, "harness.dll")) && File.Exists(Path.Combine(d, "harness.runtimeconfig.json")))
            ?? throw new MachineException($"no harness build to ship to the swarm (harness.dll and harness.runtimeconfig.json in {AppContext.BaseDirectory}); run the harness from its build folder or set {HarnessVariable}");
        // .../shared/Microsoft.NETCore.App/<version>/ : three levels up is the .NET root.
        var runtime = new DirectoryInfo(RuntimeEnvironment.GetRuntimeDirectory());
        var root = runtime.Parent?.Parent?.Parent?.FullName;
        if (root is null || !File.Exists(Path.Combine(root, "dotnet")))
            throw new MachineException($"cannot find the .NET root above {runtime.FullName} (no dotnet there) to ship to the swarm");
        return new SwarmPayload(Path.GetFullPath(folder), root, runtime.Name);
    }

    /// <summary>What goes under /opt/dotnet: the muxer, its resolver and the one shared runtime the harness needs.</summary>
    internal IEnumerable<(string File, string Entry)> RuntimeFiles()
    {
        yield return (Path.Combine(DotnetRoot, "dotnet"), "opt/dotnet/dotnet");
        foreach (var folder in new[] { Path.Combine("host", "fxr"), Path.Combine("shared", "Microsoft.NETCore.App", RuntimeVersion) })
        {
            var from = Path.Combine(DotnetRoot, folder);
            if (!Directory.Exists(from)) throw new MachineException($"the .NET runtime has no {from} to ship to the swarm");
            foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
                yield return (file, "opt/dotnet/" + Path.GetRelativePath(DotnetRoot, file));
        }
    }

    internal IEnumerable<(string File, string Entry)> HarnessFiles() =>
        Directory.EnumerateFiles(HarnessDirectory, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".pdb", StringComparison.Ordinal) && !f.EndsWith(".xml", StringComparison.Ordinal))
            .Select(f => (f, "opt/harness/" + Path.GetRelativePath(HarnessDirectory, f)));
}

/// <summary>A cell as the image builder sees it: the plan's cell plus its case file on the host.</summary>
public sealed record SwarmImageCell(SwarmCell Cell, string HostCaseFile);

public static class SwarmImage
{
    /// <summary>Label on per-run images and services: the harness process that made them.</summary>
    public const string OwnerLabel = Docker.DockerQemuRuntime.OwnerLabel;

    /// <summary>
    /// Writes the build context (Dockerfile, runtime, harness, run files, plan) and builds
    /// <paramref name="tag"/> from it; returns the plan the tasks will read.
    /// <paramref name="damageKernelOfShard"/> puts a kernel with one flipped byte in that shard's
    /// place (the task must refuse it: what a transfer fault to a node would look like).
    /// </summary>
    public static async Task<SwarmPlan> BuildAsync(DockerClient client, string runnerTag, SwarmPayload payload, Qemu.QemuOptions options,
        IReadOnlyList<IReadOnlyList<SwarmImageCell>> shards, string tag, string scratch, int? damageKernelOfShard, TextWriter progress, CancellationToken cancellationToken)
    {
        const string run = SwarmPlan.RunFolder;
        var runFiles = new List<(string File, string Entry)>
        {
            (options.Kernel.BzImage, "harness-run/bzImage"),
            (options.BaseInitramfs, "harness-run/initramfs"),
        };
        var planShards = new List<SwarmShard>();
        for (var s = 0; s < shards.Count; s++)
        {
            var cells = new List<SwarmCell>();
            foreach (var c in shards[s])
            {
                var entry = $"harness-run/cases/{c.Cell.CellId}/{Path.GetFileName(c.HostCaseFile)}";
                runFiles.Add((c.HostCaseFile, entry));
                cells.Add(c.Cell with { CaseFile = "/" + entry });
            }
            planShards.Add(new SwarmShard(s, s == damageKernelOfShard ? $"{run}/bzImage-damaged" : $"{run}/bzImage", cells));
        }
        var plan = new SwarmPlan(
            options with
            {
                Kernel = options.Kernel with { BzImage = $"{run}/bzImage", ModulesDirectory = null, ConfigFile = null },
                BaseInitramfs = $"{run}/initramfs",
                // Swarm tasks get no devices: QEMU runs under TCG there.
                Acceleration = Qemu.Acceleration.Tcg,
                AccelerationReason = "swarm tasks get no /dev/kvm",
            },
            planShards,
            runFiles.Select(f => new SwarmFile("/" + f.Entry, Sha256(f.File))).ToArray());

        Directory.CreateDirectory(scratch);
        var context = Path.Combine(scratch, $"swarm-context-{Environment.ProcessId}-{Guid.NewGuid():N}.tar");
        try
        {
            await using (var file = File.Create(context))
            await using (var tar = new TarWriter(file, TarEntryFormat.Pax, leaveOpen: false))
            {
                await AddTextAsync(tar, "Dockerfile", Dockerfile(runnerTag), cancellationToken);
                foreach (var (from, entry) in payload.RuntimeFiles().Concat(payload.HarnessFiles()).Concat(runFiles))
                    await tar.WriteEntryAsync(from, entry, cancellationToken);
                if (damageKernelOfShard is not null)
                {
                    var bytes = await File.ReadAllBytesAsync(options.Kernel.BzImage, cancellationToken);
                    bytes[bytes.Length / 2] ^= 0xFF;
                    await AddBytesAsync(tar, "harness-run/bzImage-damaged", bytes, cancellationToken);
                }
                await AddTextAsync(tar, "harness-run/plan.json", JsonSerializer.Serialize(plan, SwarmPlan.Json), cancellationToken);
            }
            progress.WriteLine($"swarm: building image {tag} FROM {runnerTag} ({new FileInfo(context).Length / 1e6:F0} MB context: .NET {payload.RuntimeVersion}, harness, kernel, initramfs, {shards.Sum(s => s.Count)} case file(s), plan)");
            string? error = null;
            await using (var stream = File.OpenRead(context))
            {
                await client.Images.BuildImageFromDockerfileAsync(
                    new ImageBuildParameters
                    {
                        Tags = [tag],
                        Remove = true,
                        ForceRemove = true,
                        NetworkMode = "none",
                        Labels = new Dictionary<string, string> { [OwnerLabel] = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                    },
                    stream, null, null, new Progress<JSONMessage>(m => { if (m.Error is not null) error = m.Error.Message; }), cancellationToken);
            }
            // The build reports its failures in the progress stream, not as an HTTP status.
            if (error is not null) throw new MachineException($"building the swarm image {tag} failed: {error}");
            if (await Docker.RunnerImage.InspectAsync(client, tag, cancellationToken) is null)
                throw new MachineException($"the engine built no image {tag}");
            return plan;
        }
        finally
        {
            File.Delete(context);
        }
    }

    /// <summary>Runtime and harness in one layer, the run's files in the next; the entry point is the task command.</summary>
    internal static string Dockerfile(string runnerTag) =>
        $"FROM {runnerTag}\n" +
        "COPY opt /opt\n" +
        "COPY harness-run /harness-run\n" +
        // No ICU in a minbase image; the harness formats with the invariant culture anyway.
        "ENV DOTNET_ROOT=/opt/dotnet DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_NOLOGO=1\n" +
        $"ENTRYPOINT [\"/opt/dotnet/dotnet\", \"/opt/harness/harness.dll\", \"swarm-task\", \"--plan\", \"{SwarmPlan.PathInImage}\"]\n";

    private static Task AddTextAsync(TarWriter tar, string name, string text, CancellationToken cancellationToken) =>
        AddBytesAsync(tar, name, Encoding.UTF8.GetBytes(text), cancellationToken);

    private static async Task AddBytesAsync(TarWriter tar, string name, byte[] bytes, CancellationToken cancellationToken)
    {
        var entry = new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            DataStream = new MemoryStream(bytes),
            Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
        };
        await tar.WriteEntryAsync(entry, cancellationToken);
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
