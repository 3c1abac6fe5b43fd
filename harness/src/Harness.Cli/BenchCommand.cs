// `harness bench table --rows rows.tsv`: renders what bench/rows/*.sh measured as the one bench
// table, prints it and writes results/bench-<id>/bench.md and bench.json (atomically). The row
// scripts measure; the ratios and the met/gap verdicts are computed here, in one tested place.
using System.CommandLine;
using Harness.Bench;
using Harness.Results;
using Harness.Yaml;

namespace Harness.Cli;

public sealed class BenchCommand(TextWriter stdout, TimeProvider time)
{
    public Command Create(CancellationToken cancellationToken)
    {
        var rows = new Option<string[]>("--rows")
        {
            Description = $"TSV files of measured rows, one row a line ({BenchTable.Columns}); '#' lines are comments",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var results = new Option<string>("--results") { Description = "Results root; the table goes to <results>/bench-<id>/", DefaultValueFactory = _ => "results" };
        var check = new Option<bool>("--check") { Description = "Only check that the rows parse (exit 0, or 2 naming file and line); write nothing" };
        var table = new Command("table", "Render measured rows as the bench table: print it, write bench.md and bench.json to results/bench-<id>/") { rows, results, check };
        table.SetAction(async (parse, _) =>
        {
            var all = new List<BenchRow>();
            foreach (var file in parse.GetValue(rows)!)
            {
                if (!File.Exists(file)) throw new InputException(new InputProblem(file, 0, 0, "--rows", "no such rows file"));
                all.AddRange(BenchTable.ParseRows(file, YamlFields.ReadBounded(file, file)));
            }
            if (parse.GetValue(check)) return 0;
            ResultStore.CheckFolder("--results", parse.GetValue(results)!);
            var created = time.GetUtcNow();
            var folder = new ResultStore(parse.GetValue(results)!).Create($"bench-{created:yyyyMMdd-HHmmss}-{Environment.ProcessId}");
            var report = new BenchReport(folder.Id, created, Environment.MachineName, all);
            var markdown = BenchTable.Markdown(report);
            await AtomicFile.WriteTextAsync(Path.Combine(folder.Path, "bench.md"), markdown, cancellationToken);
            await AtomicFile.WriteJsonAsync(Path.Combine(folder.Path, "bench.json"), report, cancellationToken);
            stdout.Write(markdown);
            stdout.WriteLine();
            stdout.WriteLine($"written: {Path.Combine(folder.Path, "bench.md")} and bench.json");
            return 0;
        });
        return new Command("bench", "Benchmarks (make bench measures; this renders the table)") { table };
    }
}
