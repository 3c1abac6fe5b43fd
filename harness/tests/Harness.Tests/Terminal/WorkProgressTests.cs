// Progress of long work as data: the plain line (count, total, ETA, where the total came from),
// the build estimate from earlier builds' logs, and the live bars on a recorded terminal.
using Harness.Cli.Terminal;
using Harness.Kernels;
using Harness.Progress;
using Spectre.Console;
using Xunit;

namespace Harness.Tests.Terminal;

public sealed class WorkProgressTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("harness-progress-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact]
    public void A_build_line_gives_files_of_the_total_and_an_eta_at_the_rate_so_far_and_says_where_the_total_came_from()
    {
        var p = new WorkProgress("  building linux-6.1", "files compiled", 300, 1200, TimeSpan.FromMinutes(2)) { Estimate = "1200 files: the largest earlier build" };

        // 300 files in 2 min: the other 900 take 6 min at that rate.
        Assert.Equal(TimeSpan.FromMinutes(6), p.Eta);
        Assert.Equal("  building linux-6.1: 300/1200 files compiled (25 %), 2.0 min, ETA 6.0 min (total: 1200 files: the largest earlier build)", p.ToLine());
        // No total, too few files for a rate, or past a low estimate: no ETA, and the line says which.
        Assert.Null((p with { Total = null }).Eta);
        Assert.Null((p with { Done = 5 }).Eta);
        Assert.Contains("past the estimate", (p with { Done = 1300 }).ToLine());
    }

    private string Build(string name, string origin, int compiled, DateTime when)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_scratch, "built", name)).FullName;
        File.WriteAllText(Path.Combine(folder, "build.json"), $"{{\"origin\": \"built {origin}; config tinyconfig+guest.config\"}}");
        var log = Path.Combine(folder, "build.log");
        File.WriteAllLines(log, ["  SYNC    include/config/auto.conf", .. Enumerable.Range(0, compiled).Select(i => $"  CC      fs/f{i}.o"), "  LD      vmlinux"]);
        File.SetLastWriteTimeUtc(log, when);
        return folder;
    }

    [Fact]
    public void The_build_estimate_is_the_largest_earlier_build_for_a_cold_tree_and_the_latest_incremental_one_otherwise()
    {
        var tree = Directory.CreateDirectory(Path.Combine(_scratch, "tree")).FullName;
        var t0 = new DateTime(2026, 11, 27, 0, 0, 0, DateTimeKind.Utc);
        Build("a", "linux-source-6.1 6.1.192-2", 1477, t0);
        Build("b", "linux-source-6.1 6.1.192-2", 6, t0.AddHours(1));
        Build("c", "linux-source-6.1 6.1.192-2", 4, t0.AddHours(2));
        Build("other", "linux-source-6.12 6.12.1-1", 9000, t0.AddHours(3));   // another source: never counted
        var built = Path.Combine(_scratch, "built");

        var cold = BuildEstimate.For(tree, built, "linux-source-6.1 6.1.192-2");
        Directory.CreateDirectory(Path.Combine(tree, "init"));
        File.WriteAllText(Path.Combine(tree, "init", "main.o"), "");
        var incremental = BuildEstimate.For(tree, built, "linux-source-6.1 6.1.192-2");
        var none = BuildEstimate.For(tree, built, "linux-source-6.1 6.1.999-1");

        Assert.Equal(1477, cold.Files);
        Assert.Contains("largest earlier build of linux-source-6.1 6.1.192-2 (this tree builds from scratch)", cold.Source);
        Assert.Equal(4, incremental.Files);
        Assert.Contains("latest earlier incremental build", incremental.Source);
        Assert.Null(none.Files);
        Assert.Contains("no earlier build of linux-source-6.1 6.1.999-1", none.Source);
    }

    [Fact]
    public void Every_commit_of_one_git_tree_counts_for_the_estimate()
    {
        var t0 = new DateTime(2026, 11, 27, 0, 0, 0, DateTimeKind.Utc);
        Build("a", "git /t/linux aaaa (aaaa)", 1477, t0);
        Build("b", "git /t/other bbbb (bbbb)", 10, t0);

        var estimate = BuildEstimate.For(Path.Combine(_scratch, "cold"), Path.Combine(_scratch, "built"), "git /t/linux cccc (cccc)");

        Assert.Equal(1477, estimate.Files);
    }

    [Fact]
    public async Task A_plain_writer_gets_the_line_and_a_live_one_draws_a_bar_that_goes_when_the_work_finishes()
    {
        var plain = new StringWriter();
        var report = new WorkProgress("  building linux-6.1", "files compiled", 300, 1200, TimeSpan.FromMinutes(2));
        WorkProgressWriter.Report(plain, report);
        WorkProgressWriter.Report(plain, report, plainLine: false);
        Assert.Equal(report.ToLine() + "\n", plain.ToString().Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.False(WorkProgressWriter.IsLive(plain));

        var recorded = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes, Interactive = InteractionSupport.Yes, ColorSystem = ColorSystemSupport.Standard,
            Out = new AnsiConsoleOutput(recorded),
        });
        console.Profile.Width = 100;
        var live = false;
        await LiveProgress.RunAsync(console, async progress =>
        {
            live = WorkProgressWriter.IsLive(progress);
            WorkProgressWriter.Report(progress, report, plainLine: false);
            await Task.Delay(1000);   // Spectre redraws every 100 ms; a loaded host may be slow to
            WorkProgressWriter.Report(progress, report with { Done = 1200, Finished = true }, plainLine: false);
            progress.WriteLine("  built linux-6.1: 1200 files compiled in 480 s");
            await Task.Delay(150);
            return 0;
        });

        var text = recorded.ToString();
        Assert.True(live);
        Assert.Contains("building linux-6.1: 300/1200 files compiled, ETA 6.0 min", text);
        Assert.Contains("25 %", text);
        Assert.Contains("  built linux-6.1: 1200 files compiled in 480 s", text);
    }
}
