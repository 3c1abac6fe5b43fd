// The bench renderer on canned rows (no timings): ratio math, the met/gap verdict, the table,
// and the two files it writes under results/bench-<id>/.
using System.Text.Json;
using Harness.Bench;
using Harness.Cli;
using Harness.Yaml;
using Xunit;

namespace Harness.Tests.Bench;

public sealed class BenchTableTests : IDisposable
{
    private readonly string _scratch = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"harness-bench-{Guid.NewGuid():N}")).FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private const string Canned =
        "# metric\tunit\tharness\treference\treference value\ttarget\tnote\n" +
        "write IOPS vs fio default\tIOPS\t24700\tfio 3.33 default\t16800\t>=1.0\t7 rounds\n" +
        "write IOPS vs fio tuned\tIOPS\t24700\tfio 3.33 tuned\t25800\t>=1.0\tbelow tuned fio\n" +
        "peak RSS, 200 cells\tMiB\t180.5\t\t-\t<=512\tno reference: target on the figure\n" +
        "kernel build, cold\ts\t-\t\t-\t\tnot measured in this run: see README\n" +
        "read-back + judge\tGiB/s\t2.5\tfio verify=crc32c\t0.72\t>=1.0\t\n" +
        "boot to agent start\ts\t7.5\t-\t-\t<=10\t'-' for no reference, as bench/rows/50 prints it\n";

    [Fact]
    public void Ratio_is_harness_over_reference_and_the_target_is_on_the_ratio_or_on_the_figure()
    {
        var rows = BenchTable.ParseRows("rows.tsv", Canned);

        Assert.Equal(6, rows.Count);
        Assert.Equal(24700.0 / 16800, rows[0].Ratio!.Value, 9);
        Assert.Equal("met", rows[0].Result);
        Assert.Equal(24700.0 / 25800, rows[1].Ratio!.Value, 9);
        Assert.Equal("gap", rows[1].Result);          // 0.96 < 1.0
        Assert.Null(rows[2].Ratio);
        Assert.Equal("met", rows[2].Result);          // 180.5 MiB <= 512
        Assert.Equal("gap", (rows[2] with { Harness = 600 }).Result);
        Assert.Null(rows[3].Harness);
        Assert.Equal("-", rows[3].Result);            // not measured: no verdict
        Assert.Equal("met", rows[4].Result);
        Assert.Null((rows[4] with { ReferenceValue = 0 }).Ratio);
        Assert.Equal(("", "met"), (rows[5].Reference, rows[5].Result)); // 7.5 s <= 10, no ratio
    }

    [Fact]
    public void The_table_shows_each_figure_beside_its_reference_and_ratio()
    {
        var report = new BenchReport("bench-x", new DateTimeOffset(2026, 11, 26, 23, 0, 0, TimeSpan.Zero), "host", BenchTable.ParseRows("rows.tsv", Canned));

        var md = BenchTable.Markdown(report);

        Assert.Contains("| write IOPS vs fio default | 24700 IOPS | fio 3.33 default 16800 | 1.47× | >=1.0 | met | 7 rounds |", md, StringComparison.Ordinal);
        Assert.Contains("| write IOPS vs fio tuned | 24700 IOPS | fio 3.33 tuned 25800 | 0.96× | >=1.0 | gap | below tuned fio |", md, StringComparison.Ordinal);
        Assert.Contains("| peak RSS, 200 cells | 181 MiB | - | - | <=512 | met |", md, StringComparison.Ordinal);
        Assert.Contains("| kernel build, cold | not measured | - | - | - | - | not measured in this run: see README |", md, StringComparison.Ordinal);
        Assert.Contains("| read-back + judge | 2.50 GiB/s | fio verify=crc32c 0.72 | 3.47× |", md, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a\tb\tc\n", "(row): 3 tab-separated columns; a row has 7")]
    [InlineData("m\tu\tfast\tr\t1\t\t\n", "harness: 'fast' is not a number")]
    [InlineData("m\tu\t1\tr\tNaN\t\t\n", "reference value: 'NaN' is not a number")]
    [InlineData("m\tu\t1\tr\t1\t>1\t\n", "target: '>1' is not >=x or <=x")]
    public void A_bad_row_names_file_and_line(string text, string message)
    {
        var error = Assert.Throws<InputException>(() => BenchTable.ParseRows("rows.tsv", "# header\n" + text));

        Assert.Contains($"rows.tsv:2:1: {message}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bench_table_prints_the_table_and_writes_bench_md_and_json_under_results()
    {
        var rowsFile = Path.Combine(_scratch, "rows.tsv");
        File.WriteAllText(rowsFile, Canned);
        var results = Path.Combine(_scratch, "results");
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var code = await new CliApp(stdout, stderr, TimeProvider.System).RunAsync(["bench", "table", "--rows", rowsFile, "--results", results], CancellationToken.None);

        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        var folder = Assert.Single(Directory.GetDirectories(results));
        Assert.StartsWith("bench-", Path.GetFileName(folder), StringComparison.Ordinal);
        Assert.Equal(["bench.json", "bench.md"], Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var md = File.ReadAllText(Path.Combine(folder, "bench.md"));
        Assert.Contains(md.TrimEnd(), stdout.ToString(), StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "bench.json")));
        var first = json.RootElement.GetProperty("rows")[0];
        Assert.Equal(24700, first.GetProperty("harness").GetDouble());
        Assert.Equal(24700.0 / 16800, first.GetProperty("ratio").GetDouble(), 9);
        Assert.Equal("met", first.GetProperty("result").GetString());
        Assert.Equal(Path.GetFileName(folder), json.RootElement.GetProperty("id").GetString());

        var checkOnly = Path.Combine(_scratch, "check-results");
        var checkCode = await new CliApp(new StringWriter(), stderr, TimeProvider.System).RunAsync(["bench", "table", "--check", "--rows", rowsFile, "--results", checkOnly], CancellationToken.None);
        Assert.Equal(0, checkCode);
        Assert.False(Directory.Exists(checkOnly)); // --check writes nothing

        var missing = await new CliApp(new StringWriter(), stderr, TimeProvider.System).RunAsync(["bench", "table", "--rows", Path.Combine(_scratch, "nope.tsv")], CancellationToken.None);
        Assert.Equal(2, missing);
    }
}
