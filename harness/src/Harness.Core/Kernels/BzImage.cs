// Reads the release (uname -r) out of an x86 bzImage without booting it: the setup header's
// kernel_version field (offset 0x20E, protocol 2.00+) points, minus 0x200, at a NUL-terminated
// "6.1.0-56-cloud-amd64 (builder) #1 SMP ..." string. https://docs.kernel.org/arch/x86/boot.html
using System.Buffers.Binary;
using System.Text;

namespace Harness.Kernels;

/// <summary>Facts read from an x86 bzImage file.</summary>
public static class BzImage
{
    // The real-mode setup is at most 64 KiB; the version string lives inside it.
    private const int SetupLimit = 0x10000;

    /// <summary>The kernel release in <paramref name="path"/>, or null when it is not an x86 bzImage with a version string.</summary>
    public static string? TryReadRelease(string path)
    {
        using var file = File.OpenRead(path);
        var buffer = new byte[Math.Min(SetupLimit, file.Length)];
        file.ReadExactly(buffer);
        return TryReadRelease(buffer);
    }

    /// <summary>The release from the first bytes of a bzImage (at least its setup sectors).</summary>
    public static string? TryReadRelease(ReadOnlySpan<byte> image)
    {
        if (image.Length < 0x210 || !image.Slice(0x202, 4).SequenceEqual("HdrS"u8)) return null;
        if (BinaryPrimitives.ReadUInt16LittleEndian(image[0x206..]) < 0x0200) return null;
        var pointer = BinaryPrimitives.ReadUInt16LittleEndian(image[0x20E..]);
        if (pointer == 0) return null;
        var start = pointer + 0x200;
        if (start >= image.Length) return null;
        var text = image[start..];
        var end = text.IndexOfAny((byte)0, (byte)' ');
        if (end <= 0) return null;
        var release = Encoding.ASCII.GetString(text[..end]);
        return release.All(c => c is > ' ' and < (char)127) ? release : null;
    }
}
