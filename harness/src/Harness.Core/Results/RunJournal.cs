// A run folder is its own journal: run.json says what was planned (inputs), and every finished
// cell (cell.json) and judged iteration (iteration-NNN.json) was written durably as it ended.
// So run.json can always be rebuilt from the folder: after kill -9 (recovery) and for --resume.
using Harness.Verdicts;

namespace Harness.Results;

public static class RunJournal
{
    /// <summary>run.json of a run folder, with its format checked.</summary>
    public static RunRecord ReadRun(string runFolder) => RecordFormat.Read<RunRecord>(Path.Combine(runFolder, "run.json"));

    /// <summary>The finished cell of an input, or null when it never finished.</summary>
    public static CellResult? ReadCell(RunFolder folder, string cellId)
    {
        var path = Path.Combine(folder.CellDirectory(cellId), "cell.json");
        return File.Exists(path) ? RecordFormat.Read<CellResult>(path) : null;
    }

    /// <summary>A cell's judged iterations 0, 1, 2... up to the first missing one (temp files of a killed write ignored).</summary>
    public static IReadOnlyList<IterationResult> ReadIterations(RunFolder folder, string cellId)
    {
        var list = new List<IterationResult>();
        for (var i = 0; ; i++)
        {
            var path = Path.Combine(folder.CellDirectory(cellId), $"iteration-{i:D3}.json");
            if (!File.Exists(path)) return list;
            list.Add(RecordFormat.Read<IterationResult>(path));
        }
    }

    /// <summary>
    /// run.json rebuilt from the cell records: every planned input's finished cell, in plan order.
    /// The outcome counts the iterations of unfinished cells too (a FAIL is never lost with its
    /// process), and a planned cell that did not finish makes it at best SKIP.
    /// </summary>
    public static RunRecord Rebuild(RunFolder folder, RunRecord recorded)
    {
        var cells = new List<CellResult>();
        var outcomes = new List<Outcome>();
        var complete = true;
        foreach (var input in recorded.Inputs)
        {
            if (ReadCell(folder, input.CellId) is { } cell)
            {
                cells.Add(cell);
                outcomes.Add(cell.Outcome);
                complete &= !cell.Interrupted;
            }
            else
            {
                outcomes.AddRange(ReadIterations(folder, input.CellId).Select(i => i.Outcome));
                complete = false;
            }
        }
        if (!complete) outcomes.Add(Outcome.Skip);
        return recorded with { Cells = cells, Outcome = Outcomes.Combine(outcomes), Interrupted = recorded.Interrupted || !complete };
    }

    /// <summary>Marks a run whose process is gone: rebuilt from its records, interrupted, with the reason.</summary>
    public static async Task<RunRecord> MarkAbandonedAsync(string runFolder, string reason, CancellationToken cancellationToken)
    {
        var folder = new RunFolder(runFolder);
        var rebuilt = Rebuild(folder, ReadRun(runFolder));
        // Last sign of life: the newest record the dead process wrote.
        var last = Directory.EnumerateFiles(runFolder, "*.json", SearchOption.AllDirectories).Select(File.GetLastWriteTimeUtc).DefaultIfEmpty(DateTime.UtcNow).Max();
        rebuilt = rebuilt with { Interrupted = true, StopReason = reason, Finished = rebuilt.Finished ?? new DateTimeOffset(last, TimeSpan.Zero) };
        await folder.WriteRunAsync(rebuilt, cancellationToken);
        return rebuilt;
    }
}
