// Finds the shared libraries a host binary needs in the guest: ldd's answer for dynamic ELF
// executables, plus libraries loaded at run time by soname (the agent P/Invokes libaio.so.1,
// which ldd cannot see), found with ldconfig -p. Paths stay as the loader names them
// (/lib64/ld-linux-x86-64.so.2, not the file a symlink points at).
using System.Buffers.Binary;
using Harness.Machines;

namespace Harness.Guest;

internal static class HostLibraries
{
    /// <summary>Absolute paths of every library <paramref name="binary"/> and the run-time sonames need, sorted.</summary>
    public static async Task<IReadOnlyList<string>> ResolveAsync(string binary, IReadOnlyList<string> runtimeSonames, CancellationToken cancellationToken)
    {
        var paths = new SortedSet<string>(StringComparer.Ordinal);
        if (ElfInterpreter(binary) is not null)
            paths.UnionWith(await LddAsync(binary, cancellationToken));
        if (runtimeSonames.Count > 0)
        {
            var cache = await HostCommand.RunAsync("/sbin/ldconfig", ["-p"], cancellationToken);
            foreach (var soname in runtimeSonames)
            {
                var path = FindInLdconfig(cache, soname)
                    ?? throw new MachineException($"the guest agent loads {soname} at run time, but the host has none (ldconfig -p does not list it; `make deps` installs it)");
                paths.Add(path);
                paths.UnionWith(await LddAsync(path, cancellationToken));
            }
        }
        return paths.ToArray();
    }

    /// <summary>The ELF's PT_INTERP path (its dynamic loader), or null for a static binary; throws for a non-ELF file.</summary>
    public static string? ElfInterpreter(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 64 || !bytes.AsSpan(0, 4).SequenceEqual("\u007fELF"u8) || bytes[4] != 2)
            throw new MachineException($"{path} is not a 64-bit ELF executable");
        var span = bytes.AsSpan();
        var phoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(span[0x20..]);
        var phentsize = BinaryPrimitives.ReadUInt16LittleEndian(span[0x36..]);
        var phnum = BinaryPrimitives.ReadUInt16LittleEndian(span[0x38..]);
        for (var i = 0; i < phnum; i++)
        {
            var header = span[(int)(phoff + i * phentsize)..];
            if (BinaryPrimitives.ReadUInt32LittleEndian(header) != 3) continue; // PT_INTERP
            var offset = (int)BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
            var size = (int)BinaryPrimitives.ReadUInt64LittleEndian(header[32..]);
            return System.Text.Encoding.ASCII.GetString(span.Slice(offset, size)).TrimEnd('\0');
        }
        return null;
    }

    private static async Task<IReadOnlyList<string>> LddAsync(string binary, CancellationToken cancellationToken)
    {
        var output = await HostCommand.RunAsync("ldd", [binary], cancellationToken);
        var paths = new List<string>();
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.Trim();
            // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)", "/lib64/ld-linux-x86-64.so.2 (0x...)",
            // "linux-vdso.so.1 (0x...)" (in the kernel, nothing to copy), "libfoo.so.1 => not found".
            var arrow = line.IndexOf(" => ", StringComparison.Ordinal);
            var target = arrow >= 0 ? line[(arrow + 4)..] : line;
            if (target.StartsWith("not found", StringComparison.Ordinal))
                throw new MachineException($"{binary} needs {line[..arrow]}, which the host does not have (ldd: {line})");
            if (!target.StartsWith('/')) continue;
            var paren = target.IndexOf(" (", StringComparison.Ordinal);
            paths.Add(paren >= 0 ? target[..paren] : target);
        }
        return paths;
    }

    // "\tlibaio.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libaio.so.1"
    private static string? FindInLdconfig(string cache, string soname) =>
        cache.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.StartsWith(soname + " (", StringComparison.Ordinal) && l.Contains("x86-64", StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf(" => ", StringComparison.Ordinal) + 4)..].Trim())
            .FirstOrDefault(File.Exists);
}
