// btrfs's FIEMAP reports its own logical addresses, not device offsets; btrfs-map-logical
// (btrfs-progs) resolves one on the unmounted image. Data is single-copy on one device.
using System.Globalization;
using System.Text.RegularExpressions;
using Harness.Machines;

namespace Harness.Faults;

public static partial class BtrfsAddresses
{
    /// <summary>The image offset of btrfs logical address <paramref name="logical"/> (first mirror).</summary>
    public static async Task<long> MapAsync(string imagePath, long logical, CancellationToken cancellationToken)
    {
        var output = await HostCommand.RunAsync("btrfs-map-logical",
            ["-l", logical.ToString(CultureInfo.InvariantCulture), "-b", "512", imagePath], cancellationToken);
        return Parse(output) ?? throw new MachineException($"btrfs-map-logical gave no physical address for logical {logical} in {imagePath}: {output.Trim()}");
    }

    /// <summary>The physical offset of the first mirror in btrfs-map-logical's output.</summary>
    public static long? Parse(string output)
    {
        var m = PhysicalLine().Match(output);
        return m.Success ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    [GeneratedRegex(@"mirror 1 logical \d+ physical (\d+)")]
    private static partial Regex PhysicalLine();
}
