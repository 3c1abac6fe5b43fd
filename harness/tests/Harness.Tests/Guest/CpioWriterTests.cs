// The newc writer, checked against the real GNU cpio: what it extracts is what was written.
using System.Text;
using Harness.Guest;
using Harness.Machines;
using Harness.Tests.Support;
using Xunit;

namespace Harness.Tests.Guest;

public sealed class CpioWriterTests : IDisposable
{
    private readonly string _dir = Directory.CreateDirectory(Path.Combine("/tmp", $"harness-cpio-test-{Guid.NewGuid():N}")).FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Gnu_cpio_extracts_folders_files_modes_symlinks_and_devices_as_written()
    {
        var archive = Path.Combine(_dir, "a.cpio");
        var big = Enumerable.Range(0, 70_001).Select(i => (byte)(i * 7)).ToArray();
        using (var stream = File.Create(archive))
        {
            var cpio = new CpioWriter(stream);
            cpio.AddDirectory("/tmp", 0b111_111_111);
            cpio.AddFile("/init", "#!/bin/sh\necho hi\n"u8, GuestFile.Executable);
            cpio.AddFile("/lib/x86_64-linux-gnu/libc.so.6", big, GuestFile.Regular);   // parents made on the way
            cpio.AddFile("/harness/empty", [], GuestFile.Regular);
            cpio.AddFile("/harness/odd", "abc"u8, GuestFile.Regular);                // needs data padding
            cpio.AddSymlink("/bin/sh", "busybox");
            cpio.AddCharacterDevice("/dev/console", 0b110_000_000, 5, 1);
            cpio.Finish();
        }

        var root = await ExtractAsync(archive);

        Snapshot.Match(await ListingAsync(root));
        Assert.Equal(big, await File.ReadAllBytesAsync(Path.Combine(root, "lib/x86_64-linux-gnu/libc.so.6")));
        Assert.Equal("#!/bin/sh\necho hi\n", await File.ReadAllTextAsync(Path.Combine(root, "init")));
        Assert.Equal("character special file 5:1\n", await HostCommand.RunAsync("stat", ["-c", "%F %t:%T", Path.Combine(root, "dev/console")], CancellationToken.None));
    }

    [Fact]
    public void Same_entries_give_the_same_bytes()
    {
        static byte[] Write()
        {
            using var stream = new MemoryStream();
            var cpio = new CpioWriter(stream);
            cpio.AddFile("/harness/a", "x"u8, GuestFile.Regular);
            cpio.AddSymlink("/bin/sh", "busybox");
            cpio.Finish();
            return stream.ToArray();
        }

        var first = Write();
        var second = Write();

        Assert.Equal(first, second);
        Assert.Equal(0, first.Length % 4);
        Assert.StartsWith("070701", Encoding.ASCII.GetString(first, 0, 6));
        Assert.Contains("TRAILER!!!", Encoding.ASCII.GetString(first));
    }

    [Fact]
    public async Task Cell_initrd_is_the_base_archive_followed_by_a_second_one_with_the_extra_files()
    {
        var baseArchive = Path.Combine(_dir, "base.cpio");
        using (var stream = File.Create(baseArchive))
        {
            var cpio = new CpioWriter(stream);
            cpio.AddFile("/harness/plan", "old"u8, GuestFile.Regular);
            cpio.Finish();
        }
        var output = Path.Combine(_dir, "cell.cpio");

        await InitramfsBuilder.WriteCellInitrdAsync(baseArchive,
            [new GuestFile("/harness/plan", "new"u8.ToArray(), GuestFile.Regular), new GuestFile("/harness/run", "#!/bin/sh\n"u8.ToArray(), GuestFile.Executable)],
            output, CancellationToken.None);

        // GNU cpio stops at the first trailer (the kernel goes on), so extract each part.
        var bytes = await File.ReadAllBytesAsync(output);
        var baseBytes = await File.ReadAllBytesAsync(baseArchive);
        Assert.Equal(baseBytes, bytes[..baseBytes.Length]);
        var second = Path.Combine(_dir, "second.cpio");
        await File.WriteAllBytesAsync(second, bytes[baseBytes.Length..]);
        var root = await ExtractAsync(second);
        Assert.Equal("new", await File.ReadAllTextAsync(Path.Combine(root, "harness/plan")));
        Assert.Equal(["harness", "harness/plan", "harness/run"], Directory.GetFileSystemEntries(root, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(root, p)).Order(StringComparer.Ordinal));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/harness/../etc/passwd")]
    [InlineData("a//b")]
    public void Paths_that_cannot_be_unpacked_safely_are_refused(string path)
    {
        var cpio = new CpioWriter(new MemoryStream());

        Assert.Throws<ArgumentException>(() => cpio.AddFile(path, "x"u8, GuestFile.Regular));
    }

    private async Task<string> ExtractAsync(string archive)
    {
        var root = Directory.CreateDirectory(Path.Combine(_dir, Path.GetFileNameWithoutExtension(archive))).FullName;
        await HostCommand.RunAsync("cpio", ["-idm", "--quiet", "--no-absolute-filenames", "-D", root, "-F", archive], CancellationToken.None);
        return root;
    }

    /// <summary>One line per entry: path, type and mode, size (or device numbers), link target.</summary>
    internal static async Task<string> ListingAsync(string root)
    {
        var lines = (await HostCommand.RunAsync("find", [root, "-mindepth", "1", "-printf", "%P %M %s %l\n"], CancellationToken.None))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.StartsWith("dev/console c", StringComparison.Ordinal) ? l.Split(' ')[0] + " " + l.Split(' ')[1] : l)
            .Select(l => l.Split(' ')[1].StartsWith('d') ? string.Join(' ', l.Split(' ')[..2]) : l)   // folder sizes vary by filesystem
            .Order(StringComparer.Ordinal);
        return string.Join('\n', lines) + "\n";
    }
}
