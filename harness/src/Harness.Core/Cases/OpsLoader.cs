// Reads a case's `ops:` list (schema 2): operations issued beside the AIO writes. Each names
// its kind, the IO after whose submission it runs, and its range; every refusal names the
// item's field and line. Buffered writes are refused where a direct write may be in flight:
// Linux defines no result for buffered and direct writes to the same page at the same time.
using System.Globalization;
using Harness.Workload;
using Harness.Yaml;

namespace Harness.Cases;

internal static class OpsLoader
{
    private const int Sector = SectorFormat.SectorSize;
    private const int PageSize = 4096;

    public static IReadOnlyList<PlannedOp> Read(YamlFields root, IReadOnlyList<(int Line, YamlFields Fields)> items, WorkloadSpec spec)
    {
        if (items.Count > CaseLoader.MaxOps) root.Problem("ops", $"{items.Count} ops is more than the {CaseLoader.MaxOps} a case may list");
        if (spec.Preparation == FilePreparation.Extending && items.Count > 0)
            root.Problem("ops", "ops need a prepared file (sparse, unwritten or written): with extending the writes set the size as they go");
        var ops = new List<PlannedOp>();
        foreach (var (_, f) in items)
        {
            var word = f.OneOf("op", OpWords.All, required: true);
            var afterIo = f.Int("after-io", 0, Math.Max(0, spec.IoCount - 1), required: true);
            // An unknown kind says nothing about which other fields belong: report only the kind.
            if (word is null) continue;
            var kind = OpWords.Parse(word);
            long offset = 0, length = 0;
            switch (kind)
            {
                case OpKind.Fsync:
                    break;
                case OpKind.Truncate:
                    offset = f.Size("size", required: true) ?? 0;
                    if (offset % Sector != 0 || offset > spec.FileSize)
                        f.Problem("size", $"{offset} must be a multiple of {Sector} within file.size ({spec.FileSize}): truncate down, or back up to at most the prepared size");
                    break;
                default:
                    offset = f.Size("offset", required: true) ?? 0;
                    length = f.Size("length", required: true, max: 1L << 30) ?? 0;
                    if (offset % Sector != 0) f.Problem("offset", $"{offset} must be a multiple of {Sector} (the judge works in sectors)");
                    if (length <= 0 || length % Sector != 0) f.Problem("length", $"{length} must be a positive multiple of {Sector}");
                    if (offset + length > spec.FileSize) f.Problem("length", $"the range ends at byte {offset + length}, past file.size ({spec.FileSize})");
                    break;
            }
            f.RejectUnknown();
            if (afterIo is null) continue;
            var op = new PlannedOp(ops.Count, kind, afterIo.Value, offset, length);
            if (kind == OpKind.BufferedWrite && length > 0 && DirectConflict(spec, op) is { } conflict)
                f.Problem("offset", conflict);
            ops.Add(op);
        }
        return ops;
    }

    /// <summary>
    /// Why a buffered write may share a page with a direct write in flight, or null. IOs up to
    /// after-io - queue-depth were reaped before IO after-io was submitted; any later one may still
    /// be in flight when the op runs. Only the stride pattern's IO ranges are known per index; for
    /// the random patterns the whole region they may write counts.
    /// </summary>
    internal static string? DirectConflict(WorkloadSpec spec, PlannedOp op)
    {
        var unit = Math.Max(PageSize, spec.FsBlockSize);
        var first = op.Offset / unit * unit;
        var end = (op.End + unit - 1) / unit * unit;
        bool Hits(long ioStart, long ioEnd) => ioStart / unit * unit < end && first < (ioEnd + unit - 1) / unit * unit;
        var inv = CultureInfo.InvariantCulture;
        string Why(string what) => string.Create(inv,
            $"buffered-write [{op.Offset}, {op.End}) shares a {unit}-byte page or fs block with {what}; Linux defines no result for buffered and direct writes to one page at once: move the range or raise after-io");
        switch (spec.Pattern)
        {
            case IoPattern.Stride:
                for (var i = Math.Max(0, op.AfterIo - spec.QueueDepth + 1); i < spec.IoCount; i++)
                {
                    var start = spec.Start + i * spec.Stride;
                    if (Hits(start, start + spec.IoSize))
                        return Why(string.Create(inv, $"direct IO {i} [{start}, {start + spec.IoSize}), which may be in flight after IO {op.AfterIo} is submitted (queue depth {spec.QueueDepth})"));
                }
                return null;
            case IoPattern.RandomStride:
                for (var i = 0; i < spec.IoCount; i++)
                {
                    var start = spec.Start + i * spec.Stride;
                    if (Hits(start, start + spec.IoSize))
                        return Why(string.Create(inv, $"the random-stride region's write at [{start}, {start + spec.IoSize}) (its order is random, so any may be in flight)"));
                }
                return null;
            case IoPattern.RandomSubBlock:
            {
                var from = (spec.Start + spec.FsBlockSize - 1) / spec.FsBlockSize * spec.FsBlockSize;
                return Hits(from, spec.FileSize) ? Why(string.Create(inv, $"the random-sub-block region [{from}, {spec.FileSize})")) : null;
            }
            default:
            {
                var region = Math.Min(spec.FileSize - spec.Start - spec.IoSize, (long)spec.IoCount * spec.Stride);
                var regionEnd = spec.Start + region + spec.IoSize;
                return Hits(spec.Start, regionEnd) ? Why(string.Create(inv, $"the overlap region [{spec.Start}, {regionEnd})")) : null;
            }
        }
    }
}
