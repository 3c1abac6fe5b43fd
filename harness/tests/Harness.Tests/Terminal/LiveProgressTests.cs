// Terminal output: live status on a terminal (Spectre.Console), plain lines otherwise.
using Harness.Cli.Terminal;
using Spectre.Console;
using Xunit;

namespace Harness.Tests.Terminal;

public sealed class LiveProgressTests
{
    [Fact]
    public async Task Not_a_terminal_gets_the_same_writer_and_plain_lines()
    {
        var plain = new StringWriter();

        var seen = await LiveProgress.RunAsync(plain, progress =>
        {
            progress.WriteLine("[1/2] ext4-tiny: 2 iteration(s)");
            return Task.FromResult(progress);
        });

        Assert.Same(plain, seen);
        Assert.False(LiveProgress.IsTerminal(plain));
        Assert.Equal("[1/2] ext4-tiny: 2 iteration(s)\n", plain.ToString().Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Fact]
    public async Task On_a_terminal_every_line_is_kept_above_the_live_status_with_brackets_intact()
    {
        var recorded = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            Interactive = InteractionSupport.Yes,
            ColorSystem = ColorSystemSupport.Standard,
            Out = new AnsiConsoleOutput(recorded),
        });

        await LiveProgress.RunAsync(console, async progress =>
        {
            progress.WriteLine("[1/2] ext4-tiny: 2 iteration(s)");
            progress.Write("    ext4-tiny iteration 1/2: PASS ");
            progress.WriteLine("(64 IOs, 0 IO errors)");
            await Task.Delay(50);
            return 0;
        });

        var text = recorded.ToString();
        Assert.Contains("[1/2] ext4-tiny: 2 iteration(s)", text);
        Assert.Contains("    ext4-tiny iteration 1/2: PASS (64 IOs, 0 IO errors)", text);
        Assert.Contains("\u001b[", text);  // rendered live (ANSI cursor control), not plain
    }
}
