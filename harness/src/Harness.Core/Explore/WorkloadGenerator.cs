// Draws random workloads from the case vocabulary that already exists (Cases/CaseSpec.cs):
// pattern (stride, random-stride, random-sub-block, overlap), IO size and alignment (512 B to several fs blocks, aligned and not), stride and
// overlap, queue depth, IO count, preparation, file size and fs block size. Every workload is
// a case file that CaseLoader accepts and CasePreflight fits on the image: it is rendered to
// YAML and loaded again, so the loader's own rules are the ones applied, never a copy of them.
// The case schema has no "submitters" field (one agent process submits): not drawn.
using Harness.Cases;
using Harness.Filesystems;
using Harness.Workload;
using Harness.Yaml;

namespace Harness.Explore;

/// <summary>One drawn workload: the loaded case, its case-file text, the seed it came from and its coverage shape.</summary>
public sealed record GeneratedWorkload(int Index, ulong Seed, CaseSpec Case, string Yaml, string Shape);

/// <summary>
/// Same (seed, filesystem, image size) → same workloads, workload by workload: <see cref="Generate"/>
/// of index i depends on nothing else, so a recorded seed and index replay one workload alone.
/// </summary>
public sealed class WorkloadGenerator
{
    /// <summary>Largest target file drawn: keeps a workload to seconds on the host and under TCG.</summary>
    public const long MaxFileSize = 16L << 20;

    // random-stride (fio's randwrite order) is the stride pattern's IOs in a seeded order: drawn like stride.
    private static readonly IoPattern[] Patterns = [IoPattern.Stride, IoPattern.RandomSubBlock, IoPattern.Overlap, IoPattern.RandomStride];

    private readonly ulong _seed;
    private readonly FilesystemSpec _fs;
    private readonly long _imageBytes;
    private readonly int[] _blockSizes;
    private readonly bool _ops;

    /// <summary>A generator for one filesystem and image; with <paramref name="ops"/>, about half the workloads get ops beside the writes (case schema 2).</summary>
    public WorkloadGenerator(ulong seed, FilesystemSpec fs, long imageBytes, bool ops = true)
    {
        ArgumentNullException.ThrowIfNull(fs);
        _seed = seed;
        _ops = ops;
        _fs = fs;
        _imageBytes = imageBytes;
        // fs block sizes mkfs takes for this filesystem (FilesystemSpec, measured), among the common ones.
        _blockSizes = new[] { 1024, 2048, 4096 }.Where(b => b >= fs.MinBlockSize && b <= fs.MaxBlockSize).ToArray();
        if (_blockSizes.Length == 0) _blockSizes = [fs.MinBlockSize];
    }

    /// <summary>The seed of workload <paramref name="index"/> (what its case file records as <c>seed:</c>).</summary>
    public ulong SeedOf(int index) => SeedMix.Mix(_seed, 0xE4B1_0000UL + (ulong)index);

    /// <summary>Workload <paramref name="index"/>, validated. Throws only on a generator bug (a case the loader refuses).</summary>
    public GeneratedWorkload Generate(int index)
    {
        var seed = SeedOf(index);
        var spec = Draw(new SplitMix64(seed), seed);
        // Ops come from a stream of their own, so the writes drawn for a seed are the ones drawn
        // before ops existed (a recorded seed still replays its workload's writes).
        if (_ops) spec = spec with { Ops = DrawOps(new SplitMix64(SeedMix.Mix(seed, 0x0B5_0000UL)), spec) };
        var name = $"explore-{index:D4}";
        var draft = new CaseSpec(name,
            $"explore workload {index} of seed {_seed}: {Shape(spec)}",
            "whatever the golden model finds: drawn at random by harness explore",
            null, spec, [ReadbackStep.AfterFsync, ReadbackStep.AfterRemount], 1, name + ".yaml");
        CaseSpec loaded;
        string text;
        try
        {
            (loaded, text) = CaseYaml.RoundTrip(draft, name + ".yaml", [$"harness explore --seed {_seed}: workload {index} (seed {seed}) for {_fs.Name}"]);
        }
        catch (InputException e)
        {
            throw new InvalidOperationException($"generator bug: workload {index} of seed {_seed} is not a valid case: {e.Message}\n{CaseYaml.Render(draft)}", e);
        }
        if (CasePreflight.Check(loaded, _fs, _imageBytes) is { Count: > 0 } problems)
            throw new InvalidOperationException($"generator bug: workload {index} of seed {_seed} does not fit {_fs.Name}: {problems[0]}");
        return new GeneratedWorkload(index, seed, loaded, text, Shape(loaded.Workload));
    }

    /// <summary>The coverage bucket a workload counts under in explore.json.</summary>
    public static string Shape(WorkloadSpec w)
    {
        ArgumentNullException.ThrowIfNull(w);
        var aligned = w.IoSize % w.FsBlockSize == 0 && w.Start % w.FsBlockSize == 0 && w.Stride % w.FsBlockSize == 0;
        var ops = w.Ops.Count == 0 ? "" : "/ops:" + string.Join('+', w.Ops.Select(op => op.Kind).Distinct().Order().Select(OpWords.Word));
        return $"{CaseText.Word(w.Pattern)}/{CaseText.Word(w.Preparation)}/{(aligned ? "block-aligned" : "unaligned")}/bs{w.FsBlockSize}/qd{(w.QueueDepth == 1 ? "1" : w.QueueDepth <= 8 ? "2-8" : "9+")}{ops}";
    }

    private WorkloadSpec Draw(SplitMix64 r, ulong seed)
    {
        int Pick(params int[] values) => values[(int)r.Next((ulong)values.Length)];
        long Between(long min, long max) => min + (long)r.Next((ulong)(max - min + 1));

        var block = Pick(_blockSizes);
        var preparation = (FilePreparation)r.Next(4);
        // Extending walks past EOF in order: the loader allows it with the stride pattern only.
        var pattern = preparation == FilePreparation.Extending ? IoPattern.Stride : Patterns[(int)r.Next((ulong)Patterns.Length)];
        // Mostly sector alignment (the race's home); sometimes coarser, up to the fs block.
        var alignment = r.Next(4) == 0 ? Pick(new[] { 1024, 2048, 4096 }.Where(a => a <= block).DefaultIfEmpty(512).ToArray()) : 512;
        if (pattern == IoPattern.RandomSubBlock && alignment >= block) alignment = 512;
        var unitsPerBlock = block / alignment;

        // IO size: below a block (random-sub-block needs it), or 1 unit to several blocks.
        var ioSize = pattern == IoPattern.RandomSubBlock
            ? (int)Between(1, Math.Max(1, unitsPerBlock - 1)) * alignment
            : (int)Between(1, 4L * unitsPerBlock) * alignment;
        var count = (int)Math.Min(256, 1L << (int)Between(1, 8)) - (int)r.Next(2); // 1..256, log-spread
        count = Math.Max(2, count);
        // Queue depth: mostly concurrent (the point), sometimes 1 (a serial control of the same shape).
        var queueDepth = r.Next(6) == 0 ? 1 : (int)Math.Min(count, Pick(2, 4, 8, 16, 32, 64));
        var start = Between(0, 2L * unitsPerBlock - 1) * alignment;
        long stride;
        long fileSize;
        switch (pattern)
        {
            case IoPattern.Stride or IoPattern.RandomStride:
                // Exactly adjacent, one unit apart (gap), one unit of overlap, a whole block, or anything up to 2 IOs.
                stride = r.Next(5) switch
                {
                    0 => ioSize,
                    1 => ioSize + alignment,
                    2 => Math.Max(alignment, ioSize - alignment),
                    3 => block,
                    _ => Between(1, 2L * ioSize / alignment) * alignment,
                };
                var end = start + (count - 1) * stride + ioSize;
                if (end > MaxFileSize - block)
                {
                    count = (int)Math.Max(1, (MaxFileSize - block - start - ioSize) / stride + 1);
                    end = start + (count - 1) * stride + ioSize;
                }
                fileSize = RoundUp(end, block) + Between(0, 2) * block;
                break;
            case IoPattern.RandomSubBlock:
                stride = ioSize; // unused by the pattern; kept valid
                // Each block takes up to unitsPerBlock pieces; leave room for count pieces from start's block on.
                fileSize = RoundUp(start, block) + (count + 1L) * block;
                break;
            default: // overlap: a hot region of count * stride bytes
                stride = Between(1, Math.Max(1, 2L * ioSize / alignment)) * alignment;
                fileSize = RoundUp(start + ioSize + count * stride, block);
                break;
        }
        fileSize = Math.Min(fileSize, MaxFileSize);
        queueDepth = Math.Min(queueDepth, count);
        // Dirt makes stale exposure visible; up to twice the file (what the allocator can hand back).
        var dirty = r.Next(3) == 0 ? 0 : RoundUp(Math.Min(2 * fileSize, 8L << 20), 1L << 20);
        return new WorkloadSpec(fileSize, block, ioSize, alignment, pattern, stride, start, queueDepth, count, preparation, dirty, seed);
    }

    // About half the workloads get 1-3 ops at random points of the AIO stream: a punch, zero-range,
    // fallocate (both modes), truncate down (half the time back up to the prepared size), fsync, or
    // a buffered write where no direct write can be in flight (drawn elsewhere otherwise: dropped).
    private static IReadOnlyList<PlannedOp> DrawOps(SplitMix64 r, WorkloadSpec w)
    {
        if (w.Preparation == FilePreparation.Extending || r.Next(2) == 0) return [];
        long Between(long min, long max) => min + (long)r.Next((ulong)(max - min + 1));
        var ops = new List<PlannedOp>();
        var wanted = (int)Between(1, 3);
        var sectors = w.FileSize / SectorFormat.SectorSize;
        for (var k = 0; k < wanted; k++)
        {
            var kind = (OpKind)r.Next((ulong)Enum.GetValues<OpKind>().Length);
            var afterIo = (int)Between(0, w.IoCount - 1);
            // Ranges: whole fs blocks half the time (the common case), any sectors otherwise.
            var unit = r.Next(2) == 0 ? w.FsBlockSize / SectorFormat.SectorSize : 1;
            var units = sectors / unit;
            var first = Between(0, units - 1);
            var length = Between(1, Math.Min(units - first, 4L * w.FsBlockSize / SectorFormat.SectorSize / unit + 1));
            var offset = first * unit * SectorFormat.SectorSize;
            var bytes = length * unit * SectorFormat.SectorSize;
            switch (kind)
            {
                case OpKind.Truncate:
                    ops.Add(new PlannedOp(ops.Count, kind, afterIo, offset, 0));
                    if (r.Next(2) == 0) ops.Add(new PlannedOp(ops.Count, kind, afterIo, w.FileSize, 0));
                    break;
                case OpKind.Fsync:
                    ops.Add(new PlannedOp(ops.Count, kind, afterIo, 0, 0));
                    break;
                default:
                    var op = new PlannedOp(ops.Count, kind, afterIo, offset, bytes);
                    // A buffered write needs pages no direct write can be in flight on: a few more
                    // draws (range and point), then none.
                    for (var retry = 0; kind == OpKind.BufferedWrite && OpsLoader.DirectConflict(w, op) is not null && retry < 8; retry++)
                    {
                        var at = Between(0, sectors - 1);
                        op = op with { AfterIo = (int)Between(0, w.IoCount - 1), Offset = at * SectorFormat.SectorSize, Length = Between(1, Math.Min(sectors - at, 16)) * SectorFormat.SectorSize };
                    }
                    if (kind == OpKind.BufferedWrite && OpsLoader.DirectConflict(w, op) is not null) break;
                    ops.Add(op);
                    break;
            }
        }
        // Ops run in list order on one thread: keep their after-io points in order too.
        return ops.OrderBy(op => op.AfterIo).Select((op, i) => op with { Index = i }).ToArray();
    }

    private static long RoundUp(long value, long unit) => (value + unit - 1) / unit * unit;
}
