// Reads the guest's serial console as it grows and recognises the ways a kernel dies.
using System.Text;
using System.Text.RegularExpressions;

namespace Harness.Machines.Qemu;

/// <summary>How a guest run ended badly. Words are fixed so reports and bisection can match on them.</summary>
public enum GuestFailureKind
{
    KernelPanic,
    Oops,
    KernelBug,
    HungTask,
    BootTimeout,
    WorkloadDeadline,
    QemuExited,
    GuestError,
}

/// <summary>The guest failed; <see cref="Excerpt"/> is the console around the first sign of it.</summary>
public sealed class GuestFailureException(GuestFailureKind kind, string message, string? excerpt, string consoleLog)
    : MachineException($"{message} (console: {consoleLog}){(excerpt is null ? "" : Environment.NewLine + excerpt)}")
{
    public GuestFailureKind Kind { get; } = kind;
    public string? Excerpt { get; } = excerpt;
    public string ConsoleLog { get; } = consoleLog;
}

/// <summary>Incremental reader of a growing file (QEMU writes; we poll).</summary>
internal sealed class GrowingFile(string path)
{
    private long _offset;

    public string ReadNew()
    {
        if (!File.Exists(path)) return "";
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        if (stream.Length <= _offset) return "";
        stream.Position = _offset;
        var buffer = new byte[stream.Length - _offset];
        stream.ReadExactly(buffer);
        _offset += buffer.Length;
        return Encoding.UTF8.GetString(buffer);
    }
}

/// <summary>Scans console text for the boot marker and for kernel failure signatures.</summary>
internal sealed partial class ConsoleWatcher(string path)
{
    private readonly GrowingFile _file = new(path);
    private readonly StringBuilder _text = new();

    public bool Booted { get; private set; }
    public string? BootLine { get; private set; }
    public (GuestFailureKind Kind, int Index)? Failure { get; private set; }
    public string Text => _text.ToString();

    /// <summary>The guest init's own complaint (HARNESS-ERROR ...), which explains an early exit best.</summary>
    public string? GuestError { get; private set; }

    public void Poll()
    {
        var fresh = _file.ReadNew();
        if (fresh.Length == 0) return;
        var start = Math.Max(0, _text.Length - 200); // a signature may straddle two reads
        _text.Append(fresh);
        var window = _text.ToString(start, _text.Length - start);
        // Booted once the whole marker line is in: a read can end in the middle of it.
        if (!Booted && _text.ToString().IndexOf(GuestInit.BootedMarker, StringComparison.Ordinal) is var b and >= 0
            && _text.ToString().IndexOf('\n', b) is var lineEnd and >= 0)
        {
            Booted = true;
            BootLine = _text.ToString(b, lineEnd - b).Trim();
        }
        if (GuestError is null && window.IndexOf(GuestInit.ErrorMarker, StringComparison.Ordinal) is var e and >= 0)
        {
            var end = window.IndexOf('\n', e);
            if (end > 0) GuestError = window[(e + GuestInit.ErrorMarker.Length)..end].Trim();
        }
        if (Failure is null && Signature().Match(window) is { Success: true } m)
            Failure = (KindOf(m), start + m.Index);
    }

    /// <summary>Console lines around the failure (or the tail), for the record and the terminal.</summary>
    public string Excerpt(int? at = null, int before = 5, int after = 25)
    {
        var lines = Text.Split('\n');
        var index = at ?? Failure?.Index;
        var line = index is null ? lines.Length - 1 : Text[..index.Value].Count(c => c == '\n');
        var from = Math.Max(0, line - before);
        var to = Math.Min(lines.Length, line + after);
        return string.Join('\n', lines[from..to].Select(l => l.TrimEnd('\r')));
    }

    private static GuestFailureKind KindOf(Match m) =>
        m.Groups["panic"].Success ? GuestFailureKind.KernelPanic
        : m.Groups["oops"].Success ? GuestFailureKind.Oops
        : m.Groups["hung"].Success ? GuestFailureKind.HungTask
        : GuestFailureKind.KernelBug;

    // The kernel's own wording: panic(), die() ("Oops:"), BUG()/BUG_ON ("kernel BUG at",
    // "BUG: ..."), hung task watchdog. "general protection fault" is reported via die() too.
    [GeneratedRegex(@"(?<panic>Kernel panic - not syncing)|(?<oops>Oops:|general protection fault)|(?<hung>INFO: task .{1,64} blocked for more than)|(?<bug>kernel BUG at|BUG: )")]
    private static partial Regex Signature();
}
