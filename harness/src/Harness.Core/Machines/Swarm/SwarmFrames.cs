// How a swarm task's results travel back: through the service logs API, the only channel that
// reaches the manager from any node with no shared folder. Each message is JSON, gzipped and
// base64'd, cut into lines well under the 16 KiB at which Docker's log drivers split a line,
// each line tagged with the task attempt's nonce and the message's sequence number, so a
// retried task's messages never mix with its first attempt's, and interleaved lines of several
// tasks reassemble. Anything else in the log (the task's progress on stderr) is left alone.
using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Harness.Machines.Qemu;

namespace Harness.Machines.Swarm;

/// <summary>What a task says. <see cref="Kind"/>: iteration, cell-end, shard-done or fatal.</summary>
public sealed record SwarmMessage(int Shard, string Kind)
{
    public const string IterationKind = "iteration";
    public const string CellEndKind = "cell-end";
    public const string ShardDoneKind = "shard-done";
    public const string FatalKind = "fatal";

    public string? CellId { get; init; }

    public IterationRaw? Iteration { get; init; }

    /// <summary>cell-end: the cell's machine failure (the exception the qemu machine threw), or null.</summary>
    public SwarmFailure? Failure { get; init; }

    /// <summary>cell-end: the cell's console log and QEMU command line, by file name.</summary>
    public IReadOnlyDictionary<string, string> Files { get; init; } = new Dictionary<string, string>();

    /// <summary>fatal: why the task could not run its shard.</summary>
    public string? Text { get; init; }
}

/// <summary>A machine failure, enough to throw the same exception on the host as the task caught.</summary>
public sealed record SwarmFailure(GuestFailureKind? GuestKind, string Message, string? Excerpt, string? ConsoleLogName, KernelWarnings Warnings)
{
    public static SwarmFailure From(MachineException e)
    {
        if (e is not GuestFailureException g) return new SwarmFailure(null, e.Message, null, null, KernelWarnings.None);
        // GuestFailureException's Message appends " (console: <path>)" and the excerpt; keep the bare message.
        var first = g.Message.Split('\n')[0];
        var suffix = $" (console: {g.ConsoleLog})";
        var bare = first.EndsWith(suffix, StringComparison.Ordinal) ? first[..^suffix.Length] : first;
        return new SwarmFailure(g.Kind, bare, g.Excerpt, Path.GetFileName(g.ConsoleLog), g.Warnings);
    }

    /// <summary>The exception again, its console log now the copy in <paramref name="logDirectory"/>.</summary>
    public MachineException ToException(string logDirectory, string prefix) => GuestKind is { } kind
        ? new GuestFailureException(kind, prefix + Message, Excerpt, Path.Combine(logDirectory, ConsoleLogName ?? "console.log")) { Warnings = Warnings }
        : new MachineException(prefix + Message);
}

/// <summary>Writes messages as framed log lines.</summary>
public sealed class SwarmFrameWriter(TextWriter output)
{
    /// <summary>Every frame line starts with this.</summary>
    public const string Marker = "HARNESS-SWARM1";

    /// <summary>Base64 characters per line: far below Docker's 16 KiB line split.</summary>
    public const int ChunkChars = 8000;

    private readonly string _nonce = Guid.NewGuid().ToString("N")[..12];
    private readonly Lock _lock = new();
    private int _sequence;

    public void Write(SwarmMessage message)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(message, SwarmPlan.Json);
        using var packed = new MemoryStream();
        using (var gzip = new GZipStream(packed, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(json);
        var text = Convert.ToBase64String(packed.GetBuffer(), 0, (int)packed.Length);
        var parts = Math.Max(1, (text.Length + ChunkChars - 1) / ChunkChars);
        lock (_lock)
        {
            var sequence = _sequence++;
            for (var part = 0; part < parts; part++)
            {
                var chunk = text.Substring(part * ChunkChars, Math.Min(ChunkChars, text.Length - part * ChunkChars));
                output.Write(string.Create(CultureInfo.InvariantCulture, $"{Marker} {_nonce} {sequence} {part} {parts} {chunk}\n"));
            }
            output.Flush();
        }
    }
}

/// <summary>Reassembles messages from log lines in any interleaving; not thread-safe (one reader).</summary>
public sealed class SwarmFrameReader
{
    private readonly Dictionary<(string Nonce, int Sequence), string?[]> _partial = [];

    /// <summary>The message this line completes, or null (a part of one, or not a frame at all).</summary>
    public SwarmMessage? Accept(string line)
    {
        // Log drivers may prefix lines (timestamps, details): find the marker anywhere.
        var at = line.IndexOf(SwarmFrameWriter.Marker, StringComparison.Ordinal);
        if (at < 0) return null;
        var fields = line[(at + SwarmFrameWriter.Marker.Length)..].Trim().Split(' ');
        if (fields.Length != 5
            || !int.TryParse(fields[1], CultureInfo.InvariantCulture, out var sequence)
            || !int.TryParse(fields[2], CultureInfo.InvariantCulture, out var part)
            || !int.TryParse(fields[3], CultureInfo.InvariantCulture, out var parts)
            || parts < 1 || part < 0 || part >= parts)
            throw new MachineException($"a swarm task's log has a damaged frame line: {Shorten(line)}");
        var key = (fields[0], sequence);
        if (!_partial.TryGetValue(key, out var chunks)) _partial[key] = chunks = new string?[parts];
        if (chunks.Length != parts) throw new MachineException($"a swarm task's log has frame {fields[0]}/{sequence} with {parts} parts and {chunks.Length}");
        chunks[part] = fields[4];
        if (chunks.Any(c => c is null)) return null;
        _partial.Remove(key);
        var packed = Convert.FromBase64String(string.Concat(chunks));
        using var gzip = new GZipStream(new MemoryStream(packed), CompressionMode.Decompress);
        return JsonSerializer.Deserialize<SwarmMessage>(gzip, SwarmPlan.Json)
            ?? throw new MachineException($"a swarm task sent an empty message (frame {fields[0]}/{sequence})");
    }

    /// <summary>Messages begun but never finished (a task killed mid-write).</summary>
    public int Unfinished => _partial.Count;

    private static string Shorten(string line) => line.Length <= 120 ? line : line[..120] + "...";
}
