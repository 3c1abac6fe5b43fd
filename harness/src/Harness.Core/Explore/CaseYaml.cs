// Writes a case back out as a case file: what the explorer records for every workload it runs
// and every reproducer it shrinks to. The text is loaded again with CaseLoader before it is
// trusted, so a case the loader would refuse never reaches a machine or a results folder.
using System.Globalization;
using System.Text;
using Harness.Cases;
using Harness.Workload;

namespace Harness.Explore;

/// <summary>Renders a <see cref="CaseSpec"/> as case YAML (sizes in bytes), optionally under a comment header.</summary>
public static class CaseYaml
{
    /// <summary>The case file text; <paramref name="header"/> lines become leading '# ' comments.</summary>
    public static string Render(CaseSpec c, IReadOnlyList<string>? header = null)
    {
        ArgumentNullException.ThrowIfNull(c);
        var w = c.Workload;
        var sb = new StringBuilder();
        foreach (var line in header ?? [])
            sb.Append("# ").AppendLine(line.ReplaceLineEndings(" "));
        if (w.Ops.Count > 0) sb.AppendLine($"schema: {CaseLoader.CurrentSchema}");
        sb.AppendLine($"name: {c.Name}");
        sb.AppendLine($"description: {Quote(c.Description)}");
        sb.AppendLine($"catches: {Quote(c.Catches)}");
        if (c.FixedBy is { } fixedBy) sb.AppendLine($"fixed-by: {Quote(fixedBy)}");
        sb.AppendLine("file:");
        sb.AppendLine($"  size: {N(w.FileSize)}");
        sb.AppendLine($"  preparation: {CaseText.Word(w.Preparation)}");
        sb.AppendLine($"fs-block-size: {N(w.FsBlockSize)}");
        sb.AppendLine("io:");
        sb.AppendLine($"  pattern: {CaseText.Word(w.Pattern)}");
        sb.AppendLine($"  size: {N(w.IoSize)}");
        sb.AppendLine($"  alignment: {N(w.Alignment)}");
        sb.AppendLine($"  stride: {N(w.Stride)}");
        sb.AppendLine($"  start: {N(w.Start)}");
        sb.AppendLine($"  count: {N(w.IoCount)}");
        sb.AppendLine($"  queue-depth: {N(w.QueueDepth)}");
        sb.AppendLine($"dirty-free-space: {N(w.DirtyBytes)}");
        if (w.Ops.Count > 0)
        {
            sb.AppendLine("ops:");
            foreach (var op in w.Ops)
            {
                sb.AppendLine($"  - op: {OpWords.Word(op.Kind)}");
                sb.AppendLine($"    after-io: {N(op.AfterIo)}");
                if (op.Kind == OpKind.Truncate) sb.AppendLine($"    size: {N(op.Offset)}");
                else if (op.Kind != OpKind.Fsync)
                {
                    sb.AppendLine($"    offset: {N(op.Offset)}");
                    sb.AppendLine($"    length: {N(op.Length)}");
                }
            }
        }
        sb.AppendLine($"readback: [{string.Join(", ", c.Readback.Select(r => CaseText.Word(r)))}]");
        sb.AppendLine($"repeats: {N(c.Repeats)}");
        sb.AppendLine($"seed: {w.Seed.ToString(CultureInfo.InvariantCulture)}");
        return sb.ToString();
    }

    /// <summary>Renders and loads again: the case as the loader sees it, or the loader's own InputException.</summary>
    public static (CaseSpec Case, string Text) RoundTrip(CaseSpec c, string displayPath, IReadOnlyList<string>? header = null)
    {
        var text = Render(c, header);
        return (CaseLoader.Parse(displayPath, text) with { SourceFile = displayPath }, text);
    }

    private static string N(long value) => value.ToString(CultureInfo.InvariantCulture);

    // YAML double-quoted scalar: backslash and quote escaped, one line.
    private static string Quote(string text) =>
        "\"" + text.ReplaceLineEndings(" ").Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
