// Live progress on a terminal: the newest progress line (cell, iteration, boot) stays at the
// bottom as a Spectre.Console live task while finished lines scroll above it, and long work that
// reports WorkProgress (kernel builds, boots, validate's looks) gets its own bar with its count,
// total and ETA until it finishes. When stderr is not a terminal (CI, a pipe, a file, the tests)
// the same lines are written plainly, one by one, and WorkProgress reports become lines now and
// then: the logic only ever writes lines and reports, the rendering is chosen here.
using System.Text;
using Harness.Progress;
using Spectre.Console;
using Spectre.Console.Rendering;

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
        console.Progress().AutoClear(true).HideCompleted(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = BarWidth }, new KnownPercentageColumn(), new SpinnerColumn(Spinner.Known.Dots))
            .StartAsync(context => work(new LiveWriter(console, context)));

    // Bar, percentage and spinner take about this many columns; descriptions get the rest of the line.
    private const int BarWidth = 20;
    private const int OtherColumns = BarWidth + 12;

    /// <summary>The percentage of work with a known total; nothing for the status line and work without one.</summary>
    private sealed class KnownPercentageColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            task.IsIndeterminate ? Text.Empty : new Text($"{Math.Min(100, task.Percentage):0} %");
    }

    /// <summary>
    /// Each complete line goes above the live display and becomes the status task's text; each
    /// <see cref="WorkProgress"/> drives a task of its own (by name), removed when it finishes.
    /// </summary>
    private sealed class LiveWriter : TextWriter, IWorkProgressSink
    {
        private readonly IAnsiConsole _console;
        private readonly ProgressContext _context;
        private readonly ProgressTask _status;
        private readonly Dictionary<string, ProgressTask> _work = new(StringComparer.Ordinal);
        private readonly StringBuilder _partial = new();
        private readonly Lock _lock = new();

        public LiveWriter(IAnsiConsole console, ProgressContext context)
        {
            _console = console;
            _context = context;
            _status = context.AddTask("starting", autoStart: true).IsIndeterminate();
        }

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

        public void Report(WorkProgress progress)
        {
            lock (_lock)
            {
                var key = progress.Task.Trim();
                if (!_work.TryGetValue(key, out var task))
                    _work[key] = task = _context.AddTask(Markup.Escape(key), autoStart: true);
                // A total that grew (the estimate was low) is raised, never a bar running past 100 %.
                task.IsIndeterminate = progress.Total is null;
                task.MaxValue = Math.Max(1, progress.Total ?? progress.Done);
                task.Value = progress.Done;
                var eta = progress.Eta is { } e ? $", ETA {WorkProgress.Span(e)}" : "";
                var count = progress.Total is { } t ? $"{progress.Done}/{t}" : $"{progress.Done}";
                task.Description = Markup.Escape(Shorten($"{key}: {count} {progress.Unit}{(eta.Length > 0 ? eta : $", {WorkProgress.Span(progress.Elapsed)}")}", Room));
                if (progress.Finished)
                {
                    task.Value = task.MaxValue;
                    task.StopTask();
                    _work.Remove(key);
                }
            }
        }

        private void Flush(string line)
        {
            _partial.Clear();
            // Text, not markup: progress lines hold brackets and paths.
            _console.Write(new Text(line + "\n"));
            _status.Description = Markup.Escape(Shorten(line.Trim(), Room));
        }

        // A description wider than the line would push the bar off it: shortened to fit the terminal.
        private int Room => Math.Max(24, _console.Profile.Width - OtherColumns);

        private static string Shorten(string text, int max) => text.Length > max ? text[..(max - 3)] + "..." : text;
    }
}
