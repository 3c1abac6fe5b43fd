// The bisect log for a terminal: one line per step, then the answer with its supporting runs. A
// rendering of bisect.json (the record is the data; this only formats it).
using System.Globalization;
using System.Text;

namespace Harness.Bisection;

public static class BisectTable
{
    /// <summary>The printed word for how a bisection ended.</summary>
    public static string Word(BisectionEnd? end) => end switch
    {
        BisectionEnd.Culprit => "CULPRIT",
        BisectionEnd.NotReproduced => "NOT REPRODUCED",
        BisectionEnd.RunCap => "UNDECIDED (run cap)",
        BisectionEnd.Inseparable => "UNDECIDED (untestable commits between the candidates)",
        BisectionEnd.Infrastructure => "INFRASTRUCTURE",
        _ => "INTERRUPTED",
    };

    public static string Render(BisectRecord record)
    {
        var text = new StringBuilder();
        string Commit(int index) => BisectDriver.Short(record.Commits[index]);
        text.AppendLine(CultureInfo.InvariantCulture, $"bisect {record.RunId}: {record.Commits.Count - 1} commit(s) after {Commit(0)}; {record.Filesystem}/{record.Case}");
        text.AppendLine("step  commit        runs  failed  errored  P(top)  decision");
        foreach (var s in record.Steps)
        {
            var top = s.Top.Count > 0 ? s.Top[0].Probability.ToString("0.000", CultureInfo.InvariantCulture) : "-";
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{s.Step,4}  {BisectDriver.Id(record.Commits[s.Commit]),-12}  {s.Runs,4}  {s.Failures,6}  {s.Errored,7}  {top,6}  {s.Decision}");
        }
        text.AppendLine(CultureInfo.InvariantCulture, $"{Word(record.End)}: {record.Summary}");
        text.AppendLine(CultureInfo.InvariantCulture, $"runs {record.RunsUsed}, builds {record.Builds}, boots {record.Boots}, {record.Seconds:0} s");
        return text.ToString();
    }
}
