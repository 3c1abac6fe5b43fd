// Reads cases/*.yaml into validated CaseSpec records. Every problem names file, line, field.
using Harness.Workload;
using Harness.Yaml;

namespace Harness.Cases;

public static class CaseLoader
{
    private static readonly string[] Preparations = ["sparse", "unwritten", "written", "extending"];
    private static readonly string[] Patterns = ["stride", "random-sub-block", "overlap", "random-stride"];
    private static readonly string[] ReadbackWords = ["after-fsync", "after-remount"];

    /// <summary>
    /// The case schema this loader writes. 1: the write workload alone (files without
    /// <c>schema:</c>); 2: adds <c>ops:</c>, operations issued beside the writes.
    /// </summary>
    public const int CurrentSchema = 2;

    /// <summary>Most ops one case may list (each is one system call on the agent's second thread).</summary>
    public const int MaxOps = 64;

    /// <summary>Loads one case file. <paramref name="displayPath"/> is how errors name it.</summary>
    public static CaseSpec Parse(string displayPath, string text)
    {
        var root = YamlFields.Parse(displayPath, text);
        var name = root.String("name", required: true);
        var description = root.String("description", required: true);
        var catches = root.String("catches", required: true);
        var fixedBy = root.String("fixed-by");
        var fsBlock = root.Int("fs-block-size", 512, 65536, required: true);
        var dirty = root.Size("dirty-free-space") ?? 0;
        var repeats = root.Int("repeats", 1, 100_000) ?? 1;
        var seed = root.UInt64("seed", required: true);
        var readbackWords = root.StringList("readback") ?? ["after-fsync", "after-remount"];
        var schema = root.Int("schema", 1, CurrentSchema) ?? 1;
        var opItems = root.MapList("ops");

        var file = root.Map("file", required: true);
        var fileSize = file?.Size("size", required: true);
        var preparation = file?.OneOf("preparation", Preparations, required: true);
        file?.RejectUnknown();

        var io = root.Map("io", required: true);
        var pattern = io?.OneOf("pattern", Patterns, required: true);
        var ioSize = io?.Size("size", required: true, max: 1L << 30, why: "Linux caps one IO at 2GiB - 4KiB");
        var alignment = io?.Int("alignment", 512, 1 << 20) ?? 512;
        var stride = io?.Size("stride");
        var start = io?.Size("start") ?? 0;
        var count = io?.Int("count", 1, 1 << 20, required: true);
        var queueDepth = io?.Int("queue-depth", 1, 1024, required: true);
        io?.RejectUnknown();
        root.RejectUnknown();

        var readback = new List<ReadbackStep>();
        foreach (var word in readbackWords)
        {
            switch (word)
            {
                case "after-fsync": readback.Add(ReadbackStep.AfterFsync); break;
                case "after-remount": readback.Add(ReadbackStep.AfterRemount); break;
                default: root.Problem("readback", $"'{word}' is not one of: {string.Join(", ", ReadbackWords)}"); break;
            }
        }
        // Nothing read back means nothing judged: such a case could only ever PASS.
        if (readbackWords.Count == 0)
            root.Problem("readback", $"must list at least one read-back ({string.Join(", ", ReadbackWords)}): a case that reads nothing back judges nothing");
        if (name is not null && !IsSlug(name))
            root.Problem("name", $"'{name}' must be lower-case letters, digits and dashes (it names result folders)");
        root.ThrowIfProblems();

        // Cross-field rules: each names the field a user should change.
        var spec = new WorkloadSpec(
            FileSize: fileSize!.Value,
            FsBlockSize: fsBlock!.Value,
            IoSize: (int)ioSize!.Value,
            Alignment: alignment,
            Pattern: pattern switch { "stride" => IoPattern.Stride, "random-sub-block" => IoPattern.RandomSubBlock, "random-stride" => IoPattern.RandomStride, _ => IoPattern.Overlap },
            Stride: stride ?? ioSize.Value,
            Start: start,
            QueueDepth: queueDepth!.Value,
            IoCount: count!.Value,
            Preparation: preparation switch { "sparse" => FilePreparation.Sparse, "unwritten" => FilePreparation.Unwritten, "written" => FilePreparation.Written, _ => FilePreparation.Extending },
            DirtyBytes: dirty,
            Seed: seed!.Value);
        Check(root, io!, file!, spec);
        root.ThrowIfProblems();
        if (opItems is not null)
        {
            if (schema < 2) root.Problem("ops", $"ops need schema: 2 (this file is schema {schema}); add 'schema: 2' at the top");
            spec = spec with { Ops = OpsLoader.Read(root, opItems, spec) };
            root.ThrowIfProblems();
        }
        return new CaseSpec(name!, description!, catches!, fixedBy, spec, readback.Distinct().ToArray(), repeats, displayPath);
    }

    public static CaseSpec Load(string path, string? displayPath = null)
    {
        if (!File.Exists(path))
            throw new InputException(new InputProblem(displayPath ?? path, 0, 0, "(file)", "no such case file"));
        return Parse(displayPath ?? path, YamlFields.ReadBounded(path, displayPath ?? path));
    }

    private static void Check(YamlFields root, YamlFields io, YamlFields file, WorkloadSpec s)
    {
        const int sector = SectorFormat.SectorSize;
        if (s.Alignment % sector != 0) io.Problem("alignment", $"{s.Alignment} must be a multiple of {sector} (O_DIRECT and the sector format)");
        if (!IsPowerOfTwo(s.FsBlockSize) || s.FsBlockSize < sector) root.Problem("fs-block-size", $"{s.FsBlockSize} must be a power of two, at least {sector}");
        if (s.IoSize <= 0 || s.IoSize % s.Alignment != 0) io.Problem("size", $"{s.IoSize} must be a positive multiple of the alignment ({s.Alignment})");
        if (s.Start % s.Alignment != 0) io.Problem("start", $"{s.Start} must be a multiple of the alignment ({s.Alignment})");
        if (s.Stride <= 0 || s.Stride % s.Alignment != 0) io.Problem("stride", $"{s.Stride} must be a positive multiple of the alignment ({s.Alignment})");
        if (s.FileSize <= 0 || s.FileSize % s.FsBlockSize != 0) file.Problem("size", $"{s.FileSize} must be a positive multiple of fs-block-size ({s.FsBlockSize})");
        if (s.QueueDepth > s.IoCount) io.Problem("queue-depth", $"{s.QueueDepth} exceeds io.count ({s.IoCount}): the extra slots would never fill");
        if (s.Pattern is IoPattern.Stride or IoPattern.RandomStride)
        {
            var end = s.Start + (s.IoCount - 1) * s.Stride + s.IoSize;
            if (end > s.FileSize) io.Problem("count", $"{s.IoCount} IOs at stride {s.Stride} from {s.Start} end at byte {end}, past file.size ({s.FileSize}); lower io.count or raise file.size");
        }
        if (s.Pattern == IoPattern.RandomSubBlock && s.IoSize >= s.FsBlockSize)
            io.Problem("size", $"random-sub-block needs io.size ({s.IoSize}) below fs-block-size ({s.FsBlockSize}): it is the largest piece of a block");
        if (s.Pattern == IoPattern.Overlap && s.Start + s.IoSize > s.FileSize)
            io.Problem("size", "overlap needs room for one IO after io.start inside file.size");
        if (s.Pattern != IoPattern.Stride && s.Preparation == FilePreparation.Extending)
            file.Problem("preparation", "extending works with the stride pattern only (writes must walk past EOF in order)");
    }

    private static bool IsPowerOfTwo(int v) => v > 0 && (v & (v - 1)) == 0;

    private static bool IsSlug(string s) => s.Length > 0 && s.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-');
}
