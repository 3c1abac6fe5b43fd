// Where a file's bytes live on its device, from `filefrag -e -b512` (FIEMAP). Used to aim
// a fault at a precise sector of the image.
using System.Globalization;
using System.Text.RegularExpressions;
using Harness.Machines;

namespace Harness.Faults;

public static partial class FileExtents
{
    public static async Task<IReadOnlyList<FileExtent>> ReadAsync(string path, CancellationToken cancellationToken) =>
        Parse(await HostCommand.RunAsync("filefrag", ["-e", "-b512", path], cancellationToken));

    /// <summary>Parses filefrag's extent table (units of 512 bytes) into byte extents.</summary>
    public static IReadOnlyList<FileExtent> Parse(string filefragOutput)
    {
        var extents = new List<FileExtent>();
        foreach (var line in filefragOutput.Split('\n'))
        {
            var m = ExtentLine().Match(line);
            if (!m.Success) continue;
            long N(int g) => long.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture) * 512;
            extents.Add(new FileExtent(N(1), N(3), N(2) - N(1) + 512));
        }
        return extents;
    }

    [GeneratedRegex(@"^\s*\d+:\s*(\d+)\.\.\s*(\d+):\s*(\d+)\.\.\s*(\d+):")]
    private static partial Regex ExtentLine();
}
