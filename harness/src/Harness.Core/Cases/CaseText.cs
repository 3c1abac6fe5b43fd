// Human-readable rendering of a validated case ("harness cases show").
using System.Text;
using Harness.Workload;
using Harness.Yaml;

namespace Harness.Cases;

public static class CaseText
{
    public static string Render(CaseSpec c)
    {
        var w = c.Workload;
        var plan = PlanBuilder.Build(w, 0);
        // Blocks written by two or more IOs: each is one chance for the sub-block race.
        var sharedBlocks = plan.Ios
            .SelectMany(io => Enumerable.Range(0, (int)((io.End - 1) / w.FsBlockSize - io.Offset / w.FsBlockSize + 1)).Select(k => io.Offset / w.FsBlockSize + k))
            .GroupBy(b => b).Count(g => g.Count() > 1);
        var sb = new StringBuilder();
        sb.AppendLine($"name:          {c.Name}");
        sb.AppendLine($"file:          {c.SourceFile}");
        sb.AppendLine($"description:   {c.Description}");
        sb.AppendLine($"catches:       {c.Catches}");
        sb.AppendLine($"fixed-by:      {c.FixedBy ?? "-"}");
        sb.AppendLine($"file size:     {ByteSize.Format(w.FileSize)} ({Word(w.Preparation)})");
        sb.AppendLine($"fs block:      {w.FsBlockSize}");
        sb.AppendLine($"pattern:       {Word(w.Pattern)} size {w.IoSize} align {w.Alignment} stride {w.Stride} start {w.Start}");
        sb.AppendLine($"IOs:           {w.IoCount} planned, {plan.Ios.Count} in iteration 0, queue depth {w.QueueDepth}");
        sb.AppendLine($"shared blocks: {sharedBlocks} fs blocks written by more than one IO (iteration 0)");
        sb.AppendLine($"dirty space:   {ByteSize.Format(w.DirtyBytes)}");
        foreach (var op in w.Ops)
        {
            var range = op.Kind switch
            {
                OpKind.Fsync => "",
                OpKind.Truncate => $" to {op.Offset}",
                _ => $" [{op.Offset}, {op.End})",
            };
            sb.AppendLine($"{$"op {op.Index}:",-15}{OpWords.Word(op.Kind)}{range} after IO {op.AfterIo} is submitted");
        }
        sb.AppendLine($"readback:      {string.Join(", ", c.Readback.Select(Word))}");
        sb.AppendLine($"repeats:       {c.Repeats}");
        sb.AppendLine($"seed:          {w.Seed}");
        return sb.ToString();
    }

    /// <summary>An enum value as case files spell it: AfterFsync -> after-fsync.</summary>
    public static string Word<T>(T value) where T : struct, Enum => Results.EnumWords.Kebab(value);
}
