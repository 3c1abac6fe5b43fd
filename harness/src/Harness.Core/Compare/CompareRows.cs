// The table math of `compare`: one row from one cell's records (cell.json and its
// iteration-NNN.json), and one row for a setup a machine could not run.
using Harness.Results;
using Harness.Setups;
using Harness.Verdicts;

namespace Harness.Compare;

public static class CompareRows
{
    /// <summary>
    /// A row from a finished cell and its iterations. Counts come from the iterations (the machine's
    /// own end counts too: a crash after the last report is a CRASH repeat, as in `validate`).
    /// IOPS: median as cell.json has it (the upper median), and the range over the iterations
    /// that ran a workload.
    /// </summary>
    public static CompareRow FromCell(string kernel, SetupSpec setup, int fsBlockSize, CellResult cell, IReadOnlyList<IterationResult> iterations, double confidence = 0.95)
    {
        var failures = cell.Failed + cell.Crashed;
        var counted = cell.Passed + failures;
        var (lower, upper) = counted == 0 ? (double.NaN, double.NaN) : Statistics.ClopperPearson(failures, counted, confidence);
        var iops = iterations.Where(i => i.Iops > 0).Select(i => i.Iops).Order().ToArray();
        var skipReason = cell.Skipped > 0 ? iterations.FirstOrDefault(i => i.Outcome == Outcome.Skip)?.Error : null;
        return new CompareRow(kernel, setup.Name, setup.Filesystem, cell.Input.Case, fsBlockSize, setup.Geometry.ToString(), cell.Input.CellId,
            cell.Outcome, cell.Input.Repeats, cell.Passed, cell.Failed, cell.Crashed, cell.Errored, cell.Skipped, failures, counted,
            counted == 0 ? null : (double)failures / counted, counted == 0 ? null : lower, counted == 0 ? null : upper, confidence,
            cell.FindingsByClass, cell.IoErrors,
            iops.Length == 0 ? 0 : iops[iops.Length / 2], iops.Length == 0 ? 0 : iops[0], iops.Length == 0 ? 0 : iops[^1],
            skipReason, cell.Outcome is Outcome.Error or Outcome.Crash or Outcome.Fail ? cell.Error : null);
    }

    /// <summary>A planned row the machine could not run (no cell): SKIP with the reason.</summary>
    public static CompareRow Skipped(string kernel, SetupSpec setup, string @case, int fsBlockSize, int repeats, string reason, double confidence = 0.95) =>
        new(kernel, setup.Name, setup.Filesystem, @case, fsBlockSize, setup.Geometry.ToString(), null, Outcome.Skip, repeats,
            0, 0, 0, 0, 0, 0, 0, null, null, null, confidence, new Dictionary<string, int>(), 0, 0, 0, 0, reason, null);
}
