// Reads a setups file (cases/setups/setups.yaml) into validated SetupSpec records, with the
// project's YAML rules: bounded input, one document, every problem at file:line:column and field.
using Harness.Filesystems;
using Harness.Yaml;

namespace Harness.Setups;

public static class SetupLoader
{
    /// <summary>Where `compare` looks when --setups is not given (relative to the working directory, like cases/).</summary>
    public const string DefaultFile = "cases/setups/setups.yaml";

    private static readonly string[] Buses = [.. Enum.GetValues<DiskBus>().Select(DiskGeometry.BusName)];

    public static IReadOnlyList<SetupSpec> Load(string path)
    {
        if (!File.Exists(path))
            throw new InputException(new InputProblem(path, 0, 0, "--setups", Directory.Exists(path) ? "is a folder; pass the setups file (setups.yaml)" : "no such setups file"));
        return Parse(path, YamlFields.ReadBounded(path, path));
    }

    /// <summary>Parses a setups file: `setups:` maps each name to its fields.</summary>
    public static IReadOnlyList<SetupSpec> Parse(string displayPath, string text)
    {
        var root = YamlFields.Parse(displayPath, text);
        var entries = root.Entries("setups", required: true) ?? [];
        root.RejectUnknown();
        if (entries.Count == 0 && root.Problems.Count == 0) root.Problem("setups", "names no setup; add at least one (name: {fs: ext4})");
        var setups = new List<SetupSpec>();
        foreach (var (name, line, f) in entries)
        {
            if (!IsName(name))
                f.Problem("name", $"setup name '{name}' must be lower-case letters, digits, '-' and '_' (it names cells and result folders)");
            var fsName = f.OneOf("fs", FilesystemCatalog.All.Select(x => x.Name).ToArray(), required: true);
            var description = f.String("description");
            var mkfs = SplitWords(f.StringList("mkfs-options"));
            // mount(8) takes one comma-separated string; a list is joined the same way.
            var mount = (f.StringList("mount-options") ?? []).SelectMany(o => o.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
            // The guest's init sources them from a shell file: plain option words only.
            foreach (var bad in mount.Where(o => !o.All(c => char.IsAsciiLetterOrDigit(c) || "_=.:/+@-".Contains(c))))
                f.Problem("mount-options", $"'{bad}' has a character mount options here may not hold (letters, digits and _=.:/+@- only)");
            var block = f.Int("block-size", 512, 65536);
            var disk = f.Map("disk");
            var sectors = disk?.OneOf("sectors", DiskGeometry.SectorLayouts.Select(l => l.Name).ToArray()) ?? "512";
            var bus = disk?.OneOf("bus", Buses) ?? DiskGeometry.BusName(DiskBus.VirtioBlk);
            disk?.RejectUnknown();
            f.RejectUnknown();
            if (fsName is null) continue;

            var fs = FilesystemCatalog.Find(fsName);
            var layout = DiskGeometry.SectorLayouts.First(l => l.Name == sectors);
            var geometry = new DiskGeometry(layout.Logical, layout.Physical, Enum.GetValues<DiskBus>().First(b => DiskGeometry.BusName(b) == bus));
            if (block is { } b)
            {
                if ((b & (b - 1)) != 0) f.Problem("block-size", $"{b} must be a power of two");
                else if (b < fs.MinBlockSize || b > fs.MaxBlockSize)
                    f.Problem("block-size", $"{b} is not a block size mkfs accepts for {fs.Name} ({(fs.MinBlockSize == fs.MaxBlockSize ? $"only {fs.MinBlockSize}" : $"{fs.MinBlockSize} to {fs.MaxBlockSize}")})");
                else if (b < geometry.LogicalSector)
                    f.Problem("block-size", $"{b} is smaller than the disk's {geometry.LogicalSector}-byte logical sector (disk.sectors {sectors}): mkfs cannot make it");
            }
            // The harness sets the block size (and the sector size) itself: the same flag again in
            // mkfs-options would silently win or make mkfs refuse, and the judge would use the other.
            foreach (var flag in OwnedFlags(fs))
                if (mkfs.Contains(flag))
                    f.Problem("mkfs-options", $"'{flag}' sets what the harness sets itself ({(fs.SectorSizeArguments.Contains(flag) ? "the sector size, from disk.sectors" : "the block size")}); use {(fs.SectorSizeArguments.Contains(flag) ? "disk.sectors" : "block-size")} instead");
            setups.Add(new SetupSpec(name, fs.Name, description, mkfs, mount, block, geometry, displayPath, line));
        }
        root.ThrowIfProblems();
        return setups;
    }

    /// <summary>Setups by name, in the order asked; an unknown name lists the valid ones.</summary>
    public static IReadOnlyList<SetupSpec> Select(IReadOnlyList<SetupSpec> all, IReadOnlyList<string> names, string file)
    {
        if (names.Count == 0)
            throw new InputException(new InputProblem("--setup", 0, 0, "--setup", $"names no setup; valid ({file}): {string.Join(", ", all.Select(s => s.Name))}"));
        var unknown = names.Where(n => all.All(s => s.Name != n)).ToArray();
        if (unknown.Length > 0)
            throw new InputException(new InputProblem("--setup", 0, 0, "--setup",
                $"no setup named {string.Join(", ", unknown.Select(u => $"'{u}'"))} in {file}; valid: {string.Join(", ", all.Select(s => s.Name))}"));
        return names.Select(n => all.First(s => s.Name == n)).ToArray();
    }

    /// <summary>Flags of the filesystem's own mkfs arguments that carry the block or sector size ("-b" before "{block}").</summary>
    private static IEnumerable<string> OwnedFlags(FilesystemSpec fs)
    {
        for (var i = 1; i < fs.MkfsArguments.Count; i++)
            if (fs.MkfsArguments[i].Contains("{block}", StringComparison.Ordinal)) yield return fs.MkfsArguments[i - 1];
        for (var i = 1; i < fs.SectorSizeArguments.Count; i++)
            if (fs.SectorSizeArguments[i].Contains("{sector}", StringComparison.Ordinal)) yield return fs.SectorSizeArguments[i - 1];
    }

    /// <summary>A scalar "-O ^has_journal" is split on spaces; a list keeps each item as one argument.</summary>
    private static List<string> SplitWords(IReadOnlyList<string>? items) =>
        items is null ? [] : items.Count == 1 ? [.. items[0].Split(' ', StringSplitOptions.RemoveEmptyEntries)] : [.. items];

    private static bool IsName(string s) => s.Length is > 0 and <= 64 && s.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_');
}
