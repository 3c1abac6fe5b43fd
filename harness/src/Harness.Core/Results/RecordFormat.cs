// Versions of the JSON records (run.json, cell.json, iteration-NNN.json, validation.json). A
// reader (resume, recovery) accepts every version up to Current and names the file and the
// reason when it cannot: a record from a newer harness is never half-read.
using System.Text.Json;

namespace Harness.Results;

/// <summary>The record format version and the one reader that checks it.</summary>
public static class RecordFormat
{
    /// <summary>
    /// 1: formatVersion added (2026-11, issue 8). Records without the field are version 0: the same
    /// shape minus the newer optional fields, which read as their defaults.
    /// </summary>
    public const int Current = 1;

    /// <summary>Reads a record, or throws <see cref="RecordFormatException"/> saying which file and why.</summary>
    public static T Read<T>(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RecordFormatException(path, $"cannot be read: {e.Message}");
        }
        try
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new RecordFormatException(path, $"is not a record (a JSON {doc.RootElement.ValueKind.ToString().ToLowerInvariant()}, not an object)");
            var version = 0;
            if (doc.RootElement.TryGetProperty("formatVersion", out var v) && (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out version)))
                throw new RecordFormatException(path, $"formatVersion {v.GetRawText()} is not a whole number");
            if (version > Current)
                throw new RecordFormatException(path, $"has format version {version}; this harness reads versions 0 to {Current}: use the harness that wrote it, or a newer one");
            if (version < 0)
                throw new RecordFormatException(path, $"has format version {version}, which no harness writes");
            return doc.RootElement.Deserialize<T>(ResultStore.Json) ?? throw new RecordFormatException(path, "is null");
        }
        catch (JsonException e)
        {
            throw new RecordFormatException(path, $"is not a valid record (line {(e.LineNumber ?? 0) + 1}): {e.Message.Split(". Path:")[0]}");
        }
    }
}

/// <summary>A record that cannot be read, with the file and the reason.</summary>
public sealed class RecordFormatException(string path, string reason) : Exception($"{path}: {reason}")
{
    public string RecordPath { get; } = path;
}
