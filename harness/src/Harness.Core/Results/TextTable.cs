// Left-aligned plain-text columns, for every table the harness prints (diffable, snapshot-friendly).
using System.Text;

namespace Harness.Results;

public static class TextTable
{
    /// <summary>Rows (the first is the header) padded to each column's widest cell, two spaces apart.</summary>
    public static void AppendTo(StringBuilder sb, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        var widths = Enumerable.Range(0, rows[0].Count).Select(i => rows.Max(r => r[i].Length)).ToArray();
        foreach (var row in rows)
            sb.AppendLine(string.Join("  ", row.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd());
    }
}
