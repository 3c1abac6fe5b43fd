// Live progress on a terminal: the newest progress line (cell, iteration, boot) stays at the
// bottom as a Spectre.Console status with a spinner while finished lines scroll above it. When
// stderr is not a terminal (CI, a pipe, a file, the tests) the same lines are written plainly,
// one by one: the logic only ever writes lines, the rendering is chosen here.
using System.Text;
using Spectre.Console;

namespace Harness.Cli.Terminal;

public static class LiveProgress
{
    /// <summary>Whether <paramref name="progress"/> is the process's stderr on a terminal that can redraw.</summary>
    public static bool IsTerminal(TextWriter progress) =>
        ReferenceEquals(progress, Console.Error) && !Console.IsErrorRedirected
        && Environment.GetEnvironmentVariable("TERM") is { Length: > 0 } term && term != "dumb";

    /// <summary>Runs <paramref name="work"/> with a progress writer: live on a terminal, <paramref name="progress"/> itself otherwise.</summary>
    public static Task<T> RunAsync<T>(TextWriter progress, Func<TextWriter, Task<T>> work) =>
        IsTerminal(progress)
            ? RunAsync(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(progress) }), work)
            : work(progress);

    /// <summary>The live rendering on a given console (tests drive it on a recorded one).</summary>
    public static Task<T> RunAsync<T>(IAnsiConsole console, Func<TextWriter, Task<T>> work) =>
        console.Status().Spinner(Spinner.Known.Dots).StartAsync("starting", context => work(new StatusWriter(console, context)));

    /// <summary>Each complete line goes above the status and becomes the status text.</summary>
    private sealed class StatusWriter(IAnsiConsole console, StatusContext context) : TextWriter
    {
        private readonly StringBuilder _partial = new();
        private readonly Lock _lock = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            lock (_lock)
            {
                if (value == '\n') Flush(_partial.ToString());
                else if (value != '\r') _partial.Append(value);
            }
        }

        public override void Write(string? value)
        {
            foreach (var c in value ?? "") Write(c);
        }

        public override void WriteLine(string? value) => Write((value ?? "") + "\n");

        private void Flush(string line)
        {
            _partial.Clear();
            // Text, not markup: progress lines hold brackets and paths.
            console.Write(new Text(line + "\n"));
            var status = line.Trim();
            context.Status(Markup.Escape(status.Length > 100 ? status[..97] + "..." : status));
        }
    }
}
