// Writes "newc" cpio archives, the format the kernel unpacks as an initramfs
// (https://docs.kernel.org/driver-api/early-userspace/buffer-format.html). Output is
// deterministic: inode numbers count up from 1, mtime, uid and gid are 0, so the same
// entries give the same bytes. Missing parent folders are written first, because the
// kernel's unpacker does not create them.
using System.Text;

namespace Harness.Guest;

/// <summary>Appends newc cpio entries to a stream; call <see cref="Finish"/> once at the end.</summary>
public sealed class CpioWriter(Stream output)
{
    private const int TypeDirectory = 0x4000;   // S_IFDIR
    private const int TypeRegular = 0x8000;     // S_IFREG
    private const int TypeSymlink = 0xA000;     // S_IFLNK
    private const int TypeCharDevice = 0x2000;  // S_IFCHR
    private const int DirectoryMode = 0b111_101_101;
    private const int HeaderLength = 110;       // "070701" and 13 fields of 8 hex digits

    private readonly HashSet<string> _directories = new(StringComparer.Ordinal);
    private uint _nextInode = 1;
    private bool _finished;

    /// <summary>A folder with permission bits <paramref name="mode"/> (default 0755).</summary>
    public void AddDirectory(string path, int mode = DirectoryMode)
    {
        var name = Normalize(path);
        if (_directories.Contains(name)) return;
        AddParents(name);
        _directories.Add(name);
        WriteEntry(name, TypeDirectory | (mode & 0xFFF), nlink: 2, [], 0, 0);
    }

    /// <summary>A regular file with permission bits <paramref name="mode"/> (e.g. 0755 for executables).</summary>
    public void AddFile(string path, ReadOnlySpan<byte> content, int mode)
    {
        var name = Normalize(path);
        AddParents(name);
        WriteEntry(name, TypeRegular | (mode & 0xFFF), nlink: 1, content, 0, 0);
    }

    /// <summary>A symbolic link at <paramref name="path"/> pointing at <paramref name="target"/> (stored as given).</summary>
    public void AddSymlink(string path, string target)
    {
        var name = Normalize(path);
        AddParents(name);
        WriteEntry(name, TypeSymlink | 0x1FF, nlink: 1, Encoding.UTF8.GetBytes(target), 0, 0);
    }

    /// <summary>A character device node, e.g. /dev/console (5, 1), which the kernel opens before running /init.</summary>
    public void AddCharacterDevice(string path, int mode, int major, int minor)
    {
        var name = Normalize(path);
        AddParents(name);
        WriteEntry(name, TypeCharDevice | (mode & 0xFFF), nlink: 1, [], major, minor);
    }

    /// <summary>Writes the TRAILER!!! entry; the archive is complete (and 4-byte aligned, so another may follow).</summary>
    public void Finish()
    {
        if (_finished) throw new InvalidOperationException("the archive is already finished");
        WriteHeader("TRAILER!!!", inode: 0, mode: 0, nlink: 1, size: 0, 0, 0);
        _finished = true;
    }

    private void AddParents(string name)
    {
        var slash = name.LastIndexOf('/');
        if (slash > 0) AddDirectory(name[..slash]);
    }

    private void WriteEntry(string name, int mode, int nlink, ReadOnlySpan<byte> data, int rdevMajor, int rdevMinor)
    {
        if (_finished) throw new InvalidOperationException("the archive is already finished");
        WriteHeader(name, _nextInode++, mode, nlink, data.Length, rdevMajor, rdevMinor);
        output.Write(data);
        Pad(data.Length);
    }

    private void WriteHeader(string name, uint inode, int mode, int nlink, long size, int rdevMajor, int rdevMinor)
    {
        if (size > uint.MaxValue) throw new ArgumentException($"{name}: {size} bytes do not fit a newc entry (4 GiB at most)");
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var header = new StringBuilder("070701", HeaderLength);
        // ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize (with NUL), check
        foreach (var field in (ReadOnlySpan<long>)[inode, mode, 0, 0, nlink, 0, size, 0, 0, rdevMajor, rdevMinor, nameBytes.Length + 1, 0])
            header.Append(field.ToString("X8", System.Globalization.CultureInfo.InvariantCulture));
        output.Write(Encoding.ASCII.GetBytes(header.ToString()));
        output.Write(nameBytes);
        output.WriteByte(0);
        Pad(HeaderLength + nameBytes.Length + 1);
    }

    private void Pad(long written)
    {
        var padding = (int)((4 - written % 4) % 4);
        if (padding > 0) output.Write(stackalloc byte[padding]);
    }

    /// <summary>Archive names are relative ("bin/busybox"); the kernel unpacks them at the root.</summary>
    private static string Normalize(string path)
    {
        var name = path.Trim('/');
        if (name.Length == 0 || name.Split('/').Any(part => part is "" or "." or ".."))
            throw new ArgumentException($"'{path}' is not a usable path inside an archive", nameof(path));
        return name;
    }
}
