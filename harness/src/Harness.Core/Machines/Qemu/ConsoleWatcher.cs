// Reads the guest's serial console as it grows and recognises the ways a kernel fails, in the
// kernel's own words. Which of them count against the kernel (CRASH) and which against the
// harness or host (ERROR) is decided here, in one place, by GuestFailureKinds.
using System.Text;
using System.Text.RegularExpressions;

namespace Harness.Machines.Qemu;

/// <summary>How a guest run ended badly. Words are fixed so reports and bisection can match on them.</summary>
public enum GuestFailureKind
{
    // ---- the kernel under test failed: CRASH ----
    KernelPanic,
    Oops,
    KernelBug,
    /// <summary>KASAN, KCSAN, KFENCE, KMSAN or UBSAN report.</summary>
    Sanitizer,
    /// <summary>A lockdep report (possible circular/recursive locking, inconsistent lock state, ...).</summary>
    Lockdep,
    /// <summary>A hung-task report while the workload made no progress for the hung-task timeout.</summary>
    HungTask,
    /// <summary>A soft-lockup or RCU-stall report while the workload made no progress for the hung-task timeout.</summary>
    Stall,
    /// <summary>The guest reset itself (QEMU runs with -no-reboot, so a reset ends QEMU with status 0) after boot, before its results were in.</summary>
    GuestReset,

    // ---- the harness or the host failed, or nothing says the kernel did: ERROR ----
    BootTimeout,
    WorkloadDeadline,
    QemuExited,
    /// <summary>QEMU could not be started at all (binary missing, not executable).</summary>
    QemuNotStarted,
    GuestError,
}

/// <summary>Which guest failures are the kernel's.</summary>
public static class GuestFailureKinds
{
    /// <summary>
    /// True when the kernel under test failed (CRASH, counted against it); false for the harness's
    /// or host's failures and for deadlines without a kernel message (ERROR).
    /// </summary>
    public static bool IsKernelFailure(GuestFailureKind kind) => kind is
        GuestFailureKind.KernelPanic or GuestFailureKind.Oops or GuestFailureKind.KernelBug or GuestFailureKind.Sanitizer
        or GuestFailureKind.Lockdep or GuestFailureKind.HungTask or GuestFailureKind.Stall or GuestFailureKind.GuestReset;
}

/// <summary>The guest failed; <see cref="Excerpt"/> is the console around the first sign of it.</summary>
public sealed class GuestFailureException(GuestFailureKind kind, string message, string? excerpt, string consoleLog)
    : MachineException($"{message} (console: {consoleLog}){(excerpt is null ? "" : Environment.NewLine + excerpt)}")
{
    public GuestFailureKind Kind { get; } = kind;
    public string? Excerpt { get; } = excerpt;
    public string ConsoleLog { get; } = consoleLog;

    /// <summary>Kernel warnings seen on the console up to the failure.</summary>
    public KernelWarnings Warnings { get; init; } = KernelWarnings.None;
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

/// <summary>Scans console lines for the boot marker, kernel failure signatures, hung-task reports and warnings.</summary>
internal sealed partial class ConsoleWatcher(string path)
{
    private readonly GrowingFile _file = new(path);
    private readonly List<string> _lines = [];
    private readonly StringBuilder _partial = new();
    private readonly List<string> _warnings = [];
    private int _warningCount;

    public bool Booted { get; private set; }
    public string? BootLine { get; private set; }

    /// <summary>The first kernel failure that is a CRASH by itself (panic, oops, BUG, sanitizer, lockdep) and its line.</summary>
    public (GuestFailureKind Kind, int Line)? Failure { get; private set; }

    /// <summary>
    /// Hung-task, soft-lockup and RCU-stall reports seen so far. Under TCG on a loaded host a slow
    /// guest can print them too, so whether they are a CRASH depends on progress: the machine decides.
    /// </summary>
    public IReadOnlyList<(int Line, string Text, GuestFailureKind Kind)> Stalls => _stalls;
    private readonly List<(int Line, string Text, GuestFailureKind Kind)> _stalls = [];

    public string Text => string.Join('\n', _lines) + (_partial.Length > 0 ? "\n" + _partial : "");

    /// <summary>The guest init's own complaint (HARNESS-ERROR ...), which explains an early exit best.</summary>
    public string? GuestError { get; private set; }

    /// <summary>Kernel WARNINGs (and other reports that do not end the run by themselves) seen so far.</summary>
    public KernelWarnings Warnings => new(_warningCount, _warnings.ToArray());

    /// <summary>Records a warning the machine decides on (a hung task while the workload progressed).</summary>
    public void AddWarning(string text)
    {
        _warningCount++;
        if (_warnings.Count < KernelWarnings.Kept) _warnings.Add(text);
    }

    /// <summary>Reads what the console gained; with <paramref name="final"/> (QEMU has exited) a last line without newline counts too.</summary>
    public void Poll(bool final = false)
    {
        _partial.Append(_file.ReadNew());
        var text = _partial.ToString();
        var start = 0;
        // A line is judged only once complete: a read can end in the middle of it.
        for (var newline = text.IndexOf('\n'); newline >= 0; newline = text.IndexOf('\n', start))
        {
            Line(text[start..newline].TrimEnd('\r'));
            start = newline + 1;
        }
        _partial.Clear().Append(text[start..]);
        if (final && _partial.Length > 0)
        {
            Line(_partial.ToString().TrimEnd('\r'));
            _partial.Clear();
        }
    }

    private void Line(string line)
    {
        var index = _lines.Count;
        _lines.Add(line);
        if (!Booted && line.Contains(GuestInit.BootedMarker, StringComparison.Ordinal))
        {
            Booted = true;
            BootLine = line[line.IndexOf(GuestInit.BootedMarker, StringComparison.Ordinal)..].Trim();
        }
        if (GuestError is null && line.IndexOf(GuestInit.ErrorMarker, StringComparison.Ordinal) is var e and >= 0)
            GuestError = line[(e + GuestInit.ErrorMarker.Length)..].Trim();

        if (Classify(line) is not { } kind) return;
        switch (kind)
        {
            case LineKind.HungTask:
                _stalls.Add((index, Kernel(line), GuestFailureKind.HungTask));
                break;
            case LineKind.Stall:
                _stalls.Add((index, Kernel(line), GuestFailureKind.Stall));
                break;
            case LineKind.Warning:
                AddWarning(Kernel(line));
                break;
            default:
                Failure ??= (ToFailure(kind), index);
                break;
        }
    }

    /// <summary>Console line <paramref name="line"/> without its printk timestamp.</summary>
    public string KernelLine(int line) => line < _lines.Count ? Kernel(_lines[line]) : "";

    /// <summary>The message without the printk timestamp.</summary>
    private static string Kernel(string line) => Timestamp().Replace(line, "").Trim();

    private enum LineKind { Panic, Oops, Bug, Sanitizer, Lockdep, HungTask, Stall, Warning }

    private static GuestFailureKind ToFailure(LineKind kind) => kind switch
    {
        LineKind.Panic => GuestFailureKind.KernelPanic,
        LineKind.Oops => GuestFailureKind.Oops,
        LineKind.Sanitizer => GuestFailureKind.Sanitizer,
        LineKind.Lockdep => GuestFailureKind.Lockdep,
        _ => GuestFailureKind.KernelBug,
    };

    // The kernel's own wording (Linux 6.1): panic(); die() ("Oops:", "general protection fault");
    // BUG()/BUG_ON ("kernel BUG at") and the "BUG: ..." reports; mm/kasan, kernel/kcsan,
    // mm/kfence ("BUG: KASAN: ...") and lib/ubsan.c ("UBSAN: ... in file:line"); lockdep's
    // pr_warn("WARNING: possible circular locking dependency detected") and its siblings in
    // kernel/locking/lockdep.c; kernel/hung_task.c's "INFO: task %s:%d blocked for more than".
    // Order matters: sanitizer and lockdep lines also start with "BUG:" or "WARNING:".
    private static LineKind? Classify(string line) =>
        line.Contains("Kernel panic - not syncing", StringComparison.Ordinal) ? LineKind.Panic
        : SanitizerLine().IsMatch(line) ? LineKind.Sanitizer
        : LockdepLine().IsMatch(line) ? LineKind.Lockdep
        : line.Contains("Oops:", StringComparison.Ordinal) || KernelGpFault().IsMatch(line) ? LineKind.Oops
        : StallLine().IsMatch(line) ? LineKind.Stall
        // lockdep running out of table space is the debug config's limit, not a bug in the kernel under test.
        : line.Contains("BUG: MAX_", StringComparison.Ordinal) ? LineKind.Warning
        : line.Contains("kernel BUG at", StringComparison.Ordinal) || line.Contains("BUG: ", StringComparison.Ordinal) ? LineKind.Bug
        : HungTaskLine().IsMatch(line) ? LineKind.HungTask
        : line.Contains("WARNING: ", StringComparison.Ordinal) ? LineKind.Warning
        : null;

    /// <summary>Console lines around the failure (or the tail), for the record and the terminal.</summary>
    public string Excerpt(int? atLine = null, int before = 5, int after = 25)
    {
        var lines = Text.Split('\n');
        var line = atLine ?? Failure?.Line ?? lines.Length - 1;
        var from = Math.Max(0, line - before);
        var to = Math.Min(lines.Length, line + after);
        return string.Join('\n', lines[from..to]);
    }

    [GeneratedRegex(@"BUG: (KASAN|KCSAN|KFENCE|KMSAN): |UBSAN: ")]
    private static partial Regex SanitizerLine();

    [GeneratedRegex(@"WARNING: (possible circular locking dependency|possible recursive locking|inconsistent lock state|possible irq lock inversion|bad unlock balance|held lock freed|lock held when returning to user space|Nested lock was not taken|bad contention detected|suspicious RCU usage|chain_key collision|\S+-safe -> \S+-unsafe lock order|\S+ still has locks held)")]
    private static partial Regex LockdepLine();

    // die()'s "general protection fault[, probably for ...]: 0000 [#1] SMP"; a user program's fault
    // ("traps: prog[97] general protection fault ip:... in libc.so.6") is not the kernel's.
    [GeneratedRegex(@"general protection fault(, [^:]*)?: [0-9a-f]{4} \[#\d+\]")]
    private static partial Regex KernelGpFault();

    [GeneratedRegex(@"INFO: task .{1,64} blocked for more than \d+ seconds")]
    private static partial Regex HungTaskLine();

    // kernel/watchdog.c "BUG: soft lockup - CPU#%d stuck for %us!"; kernel/rcu/tree_stall.h
    // "rcu: INFO: %s detected stalls on CPUs/tasks:" and "%s self-detected stall on CPU".
    [GeneratedRegex(@"BUG: soft lockup - CPU#|rcu: INFO: \S+ (self-)?detected stalls?")]
    private static partial Regex StallLine();

    [GeneratedRegex(@"^\s*\[\s*\d+\.\d+\]\s*")]
    private static partial Regex Timestamp();
}
