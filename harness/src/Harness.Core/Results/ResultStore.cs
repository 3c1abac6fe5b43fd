// results/<run-id>/: run.json, cells/<cell>/cell.json and iteration-NNN.json, agent files.
// Every write is atomic (temp file + rename), so a crash or Ctrl-C never leaves half a record.
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Harness.Results;

public sealed class ResultStore(string root)
{
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        // Records are read by people too: keep '+' and '<' as themselves (no HTML embedding here).
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public string Root { get; } = root;

    public RunFolder Create(string runId)
    {
        var path = Path.Combine(Root, runId);
        if (Directory.Exists(path)) throw new IOException($"results folder {path} already exists");
        Directory.CreateDirectory(path);
        return new RunFolder(path);
    }
}

/// <summary>One run's folder.</summary>
public sealed class RunFolder(string path)
{
    public string Path { get; } = path;

    public string CellDirectory(string cellId) => System.IO.Path.Combine(Path, "cells", cellId);

    public Task WriteRunAsync(RunRecord record, CancellationToken cancellationToken) =>
        AtomicFile.WriteJsonAsync(System.IO.Path.Combine(Path, "run.json"), record, cancellationToken);

    public Task WriteCellAsync(CellResult cell, CancellationToken cancellationToken) =>
        AtomicFile.WriteJsonAsync(System.IO.Path.Combine(CellDirectory(cell.Input.CellId), "cell.json"), cell, cancellationToken);

    public Task WriteIterationAsync(IterationResult iteration, CancellationToken cancellationToken) =>
        AtomicFile.WriteJsonAsync(System.IO.Path.Combine(CellDirectory(iteration.CellId), $"iteration-{iteration.Iteration:D3}.json"), iteration, cancellationToken);
}

public static class AtomicFile
{
    public static async Task WriteJsonAsync<T>(string path, T value, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        var temp = path + ".tmp-" + Environment.ProcessId;
        await using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            await JsonSerializer.SerializeAsync(stream, value, ResultStore.Json, cancellationToken);
            await stream.FlushAsync(cancellationToken);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }
}
