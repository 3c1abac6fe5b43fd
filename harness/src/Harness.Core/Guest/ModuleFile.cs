// Reads a kernel module file as plain ELF, whatever compression the kernel package used
// (Debian 6.1: none; 6.12: xz), because busybox insmod takes only uncompressed modules.
using System.IO.Compression;
using Harness.Machines;

namespace Harness.Guest;

/// <summary>Module files as busybox insmod wants them: plain ELF, whatever compression the kernel package used.</summary>
internal static class ModuleFile
{
    public static async Task<byte[]> ReadDecompressedAsync(string path, string scratchParent, CancellationToken cancellationToken)
    {
        if (path.EndsWith(".ko", StringComparison.Ordinal)) return await File.ReadAllBytesAsync(path, cancellationToken);
        if (path.EndsWith(".ko.gz", StringComparison.Ordinal))
        {
            await using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
            using var plain = new MemoryStream();
            await gzip.CopyToAsync(plain, cancellationToken);
            return plain.ToArray();
        }
        // xz and zstd have no decoder in .NET 10: the host tools decompress into a scratch folder
        // (into files, since HostCommand hands back standard output as text).
        var scratch = Directory.CreateDirectory(Path.Combine(scratchParent, $".module-{Guid.NewGuid():N}")).FullName;
        try
        {
            var output = Path.Combine(scratch, "module.ko");
            if (path.EndsWith(".ko.xz", StringComparison.Ordinal))
            {
                var copy = output + ".xz";
                File.Copy(path, copy);
                await HostCommand.RunAsync("xz", ["--decompress", "--quiet", copy], cancellationToken);
            }
            else if (path.EndsWith(".ko.zst", StringComparison.Ordinal))
            {
                await HostCommand.RunAsync("zstd", ["--decompress", "--quiet", "--force", path, "-o", output], cancellationToken);
            }
            else
            {
                throw new MachineException($"{path}: unknown module file kind (expected .ko, .ko.gz, .ko.xz or .ko.zst)");
            }
            return await File.ReadAllBytesAsync(output, cancellationToken);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }
}
