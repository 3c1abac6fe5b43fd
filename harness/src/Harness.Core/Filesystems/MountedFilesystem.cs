// `--dir` runs in a filesystem the user mounted: its type is read from the mount, never taken
// from --fs on trust, so a cell named "xfs" really ran on xfs (issue 7: three "different" PASS
// cells came from one tmpfs folder).
using Harness.Machines;

namespace Harness.Filesystems;

public static class MountedFilesystem
{
    /// <summary>The type of the filesystem holding <paramref name="directory"/>, as the kernel names it (findmnt's FSTYPE: ext4, xfs, tmpfs, ...).</summary>
    public static async Task<string> DetectAsync(string directory, CancellationToken cancellationToken)
    {
        // findmnt reads the mount table (/proc/self/mountinfo): it names ext2/3/4 apart, which
        // statfs's f_type (one magic for all three) cannot.
        var output = await HostCommand.RunAsync("findmnt", ["-n", "-o", "FSTYPE", "--target", directory], cancellationToken);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault()
            ?? throw new MachineException($"findmnt -n -o FSTYPE --target {directory} printed no filesystem type");
    }

    /// <summary>
    /// The catalog's entry for a mounted type, or a bare one for a type the harness cannot format
    /// (tmpfs, nfs, ...): cells are named after what is mounted either way.
    /// </summary>
    public static FilesystemSpec SpecFor(string type) =>
        FilesystemCatalog.All.FirstOrDefault(f => f.Name == type && f.MountType == type)
        ?? new FilesystemSpec(type, "", [], type, 0, "", "mounted by the user (--dir); the harness does not format it", []);
}
