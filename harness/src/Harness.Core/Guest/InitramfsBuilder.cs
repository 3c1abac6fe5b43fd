// Builds the guest's initramfs: busybox, the agent with the shared libraries it needs, the
// kernel modules it needs (decompressed, with their insmod order), and an /init script. The
// base archive is cached under a SHA-256 of every input, so it is rebuilt only when one changes;
// per-cell files (plan, settings) go into a small second archive appended to a copy of it,
// which the kernel unpacks over the first.
using System.Security.Cryptography;
using System.Text;
using Harness.Kernels;
using Harness.Machines;

namespace Harness.Guest;

/// <summary>
/// Builds initramfs archives in <c>cacheDirectory</c>, a folder it owns (the harness uses
/// <c>.cache/initramfs</c>). <paramref name="busybox"/> must be a static busybox (Debian's
/// busybox-static); <paramref name="runtimeLibraries"/> are sonames the agent loads at run time,
/// which ldd cannot see (default <see cref="AgentRuntimeLibraries"/>). Archives are packed under a
/// cross-process lock (<c>base-&lt;hash&gt;.cpio.lock</c>); a wait for another process is said on <paramref name="progress"/>.
/// </summary>
public sealed class InitramfsBuilder(string cacheDirectory, string busybox = "/bin/busybox", IReadOnlyList<string>? runtimeLibraries = null, TextWriter? progress = null)
{
    /// <summary>Libraries the agent opens through P/Invoke: libaio for io_submit.</summary>
    public static IReadOnlyList<string> AgentRuntimeLibraries { get; } = ["libaio.so.1"];

    /// <summary>Where the agent lands in the guest.</summary>
    public const string AgentPath = "/harness/harness-agent";

    /// <summary>The insmod order, one guest path a line (e.g. /lib/modules/virtio_ring.ko).</summary>
    public const string ModuleListPath = "/harness/modules";

    // Bump when the archive layout changes, so cached archives are not reused.
    private const string LayoutVersion = "initramfs-layout-1";
    private static readonly string[] EmptyDirectories = ["bin", "sbin", "usr/bin", "usr/sbin", "dev", "proc", "sys", "mnt", "tmp", "harness", "lib/modules"];

    private readonly IReadOnlyList<string> _runtimeLibraries = runtimeLibraries ?? AgentRuntimeLibraries;

    /// <summary>
    /// The base archive for <paramref name="kernel"/>: /init (<paramref name="initScript"/>, 0755),
    /// /bin/busybox (init runs <c>busybox --install -s</c>), the agent at <see cref="AgentPath"/> with its
    /// libraries at their host paths, each module needed for <paramref name="modules"/> as
    /// /lib/modules/&lt;name&gt;.ko and their order in <see cref="ModuleListPath"/>, and /dev/console.
    /// A kernel without a modules folder is taken to have everything built in. Returns the archive's path.
    /// </summary>
    public async Task<string> BuildBaseAsync(KernelImage kernel, IReadOnlyList<string> modules, string agentBinary, string initScript, CancellationToken cancellationToken)
    {
        if (!File.Exists(busybox))
            throw new MachineException($"no busybox at {busybox} (Debian package busybox-static)");
        if (HostLibraries.ElfInterpreter(busybox) is not null)
            throw new MachineException($"{busybox} is dynamically linked; the guest needs a static one (Debian package busybox-static)");
        if (!File.Exists(agentBinary))
            throw new MachineException($"no agent binary at {agentBinary} (`make agent-aot` publishes it)");

        var libraries = await HostLibraries.ResolveAsync(agentBinary, _runtimeLibraries, cancellationToken);
        var moduleFiles = kernel.ModulesDirectory is null
            ? []
            : ModuleResolver.Load(kernel.ModulesDirectory).Resolve(modules).Select(m => Path.Combine(kernel.ModulesDirectory, m)).ToArray();
        var moduleList = string.Concat(moduleFiles.Select(m => GuestModulePath(m) + "\n"));

        var inputs = new List<(string Label, byte[] Content)>
        {
            ("layout", Encoding.UTF8.GetBytes(LayoutVersion)),
            ("init", Encoding.UTF8.GetBytes(initScript)),
            ("busybox", await File.ReadAllBytesAsync(busybox, cancellationToken)),
            ("agent", await File.ReadAllBytesAsync(agentBinary, cancellationToken)),
            ("modules", Encoding.UTF8.GetBytes(moduleList)),
        };
        foreach (var library in libraries)
            inputs.Add(($"library {library}", await File.ReadAllBytesAsync(library, cancellationToken)));
        foreach (var module in moduleFiles)
            inputs.Add(($"module {GuestModulePath(module)}", await File.ReadAllBytesAsync(module, cancellationToken)));

        var archive = Path.Combine(cacheDirectory, $"base-{Fingerprint(inputs)}.cpio");
        if (File.Exists(archive))
        {
            Cache.LastUse.MarkFile(archive);
            return archive;
        }

        // Two harness processes needing the same archive: one packs it, the other waits and
        // takes it (the temp file + rename below already keeps readers from half an archive).
        Directory.CreateDirectory(cacheDirectory);
        using var held = await CacheLock.AcquireAsync(CacheLock.For(archive), progress ?? TextWriter.Null, $"packing {Path.GetFileName(archive)}", cancellationToken);
        if (File.Exists(archive)) return archive;
        var temp = Path.Combine(cacheDirectory, $".base-{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                var cpio = new CpioWriter(stream);
                foreach (var directory in EmptyDirectories) cpio.AddDirectory(directory);
                // The kernel opens /dev/console for init's stdin/stdout before /init runs, and
                // before init could mount devtmpfs; without the node init starts with no output.
                cpio.AddCharacterDevice("dev/console", 0b110_000_000, 5, 1);
                cpio.AddFile("init", Encoding.UTF8.GetBytes(initScript), GuestFile.Executable);
                cpio.AddFile("bin/busybox", Input(inputs, "busybox"), GuestFile.Executable);
                cpio.AddFile(AgentPath, Input(inputs, "agent"), GuestFile.Executable);
                // 0755 for all: the dynamic loader among them must be executable.
                foreach (var library in libraries)
                    cpio.AddFile(library, await File.ReadAllBytesAsync(library, cancellationToken), GuestFile.Executable);
                foreach (var module in moduleFiles)
                    cpio.AddFile(GuestModulePath(module), await ModuleFile.ReadDecompressedAsync(module, cacheDirectory, cancellationToken), GuestFile.Regular);
                cpio.AddFile(ModuleListPath, Encoding.UTF8.GetBytes(moduleList), GuestFile.Regular);
                cpio.Finish();
            }
            File.Move(temp, archive, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
        return archive;
    }

    /// <summary>
    /// Writes <paramref name="outputPath"/>: the base archive's bytes followed by a second archive of
    /// <paramref name="extraFiles"/>. The kernel unpacks both in order, so these files add to (or
    /// replace) the base's. Written to a temporary file and renamed, so a reader never sees half of it.
    /// </summary>
    public static async Task WriteCellInitrdAsync(string baseArchive, IReadOnlyList<GuestFile> extraFiles, string outputPath, CancellationToken cancellationToken)
    {
        var temp = $"{outputPath}.{Guid.NewGuid():N}.tmp";
        try
        {
            await using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                await using (var input = File.OpenRead(baseArchive))
                    await input.CopyToAsync(output, cancellationToken);
                // Each newc entry is padded to 4 bytes, so the second archive starts where the kernel looks for it.
                if (output.Length % 4 != 0)
                    throw new MachineException($"{baseArchive} is not a newc archive (its length is not a multiple of 4)");
                var cpio = new CpioWriter(output);
                foreach (var file in extraFiles) cpio.AddFile(file.GuestPath, file.Content, file.Mode);
                cpio.Finish();
            }
            File.Move(temp, outputPath, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static string GuestModulePath(string moduleFile) => $"/lib/modules/{ModuleResolver.FileStem(moduleFile)}.ko";

    private static byte[] Input(List<(string Label, byte[] Content)> inputs, string label) => inputs.First(i => i.Label == label).Content;

    /// <summary>SHA-256 over every input, each length-prefixed so no two input sets hash alike by concatenation.</summary>
    private static string Fingerprint(List<(string Label, byte[] Content)> inputs)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[8];
        foreach (var (label, content) in inputs)
        {
            foreach (var part in new[] { Encoding.UTF8.GetBytes(label), content })
            {
                System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(length, part.Length);
                hash.AppendData(length);
                hash.AppendData(part);
            }
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..24];
    }
}
