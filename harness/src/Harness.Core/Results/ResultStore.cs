// results/<run-id>/: run.json, cells/<cell>/cell.json and iteration-NNN.json, agent files.
// Every write is atomic and durable (temp file, fsync, rename, fsync of the folder), so a crash,
// kill -9 or power cut never leaves half a record: the records are the run's journal.
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

    /// <summary>Absolute: run folders are named in lock files and in the agent's command line, read later from elsewhere.</summary>
    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>
    /// Creates a new, empty folder for a run. Ids carry the second and the process id, so two runs
    /// of one process started within a second would collide: the later one gets a "-2", "-3"...
    /// suffix instead of failing or sharing the folder. Use <see cref="RunFolder.Id"/> as the run id.
    /// </summary>
    public RunFolder Create(string runId)
    {
        lock (_claim)
        {
            for (var n = 1; ; n++)
            {
                var id = n == 1 ? runId : $"{runId}-{n}";
                var path = Path.Combine(Root, id);
                if (Directory.Exists(path) || File.Exists(path)) continue;
                try
                {
                    Directory.CreateDirectory(path);
                }
                catch (IOException e)
                {
                    throw new IOException($"results folder {Root}: cannot create the run folder {id}: {e.Message}", e);
                }
                catch (UnauthorizedAccessException e)
                {
                    throw new Yaml.InputException(new Yaml.InputProblem("--results", 0, 0, "--results", $"cannot create {path}: {e.Message}; pass a folder you can write to"));
                }
                ProbeOrRemove(path);
                return new RunFolder(path);
            }
        }
    }

    /// <summary>
    /// A full disk (no blocks or no inodes) is found here, with one probe file, rather than as an
    /// empty run folder left behind when run.json cannot be written.
    /// </summary>
    private static void ProbeOrRemove(string path)
    {
        var probe = Path.Combine(path, ".probe");
        try
        {
            using (var f = new FileStream(probe, FileMode.CreateNew, FileAccess.Write)) { f.Write(new byte[4096]); f.Flush(flushToDisk: true); }
            File.Delete(probe);
        }
        catch (IOException e)
        {
            try { File.Delete(probe); Directory.Delete(path); } catch (IOException) { /* reported below */ }
            throw new IOException($"results folder {path}: cannot write records: {e.Message}", e);
        }
    }

    /// <summary>
    /// A folder for a comparison (or any record that holds runs): created like a run folder
    /// (suffix on collision, disk probed) under <paramref name="root"/>.
    /// </summary>
    public static ResultStore CheckedCreate(string root, string id, out RunFolder folder)
    {
        var store = new ResultStore(root);
        folder = store.Create(id);
        return store;
    }

    /// <summary>Kernel pseudo-filesystems: never a place for results or a cache (/dev/shm, a tmpfs, is).</summary>
    private static readonly string[] PseudoRoots = ["/proc", "/sys", "/dev"];

    /// <summary>
    /// Checks a folder the harness will write to, named by <paramref name="option"/>, without
    /// creating anything (bad input must leave no trace): not a file, no file on the way to it,
    /// not under /proc, /sys or /dev. Throws <see cref="Yaml.InputException"/> naming the option.
    /// </summary>
    public static void CheckFolder(string option, string path)
    {
        var full = Path.GetFullPath(path);
        if (PseudoRoots.FirstOrDefault(r => full == r || full.StartsWith(r + "/", StringComparison.Ordinal)) is { } pseudo
            && !full.StartsWith("/dev/shm/", StringComparison.Ordinal) && full != "/dev/shm")
            throw Bad($"{path} is under {pseudo}, a kernel pseudo-filesystem; pass a folder on a real disk");
        for (var p = full; p is not null; p = Path.GetDirectoryName(p))
        {
            if (File.Exists(p))
                throw Bad(p == full ? $"{path} is a file; pass a folder (it is created when missing)" : $"{p} is a file, so {path} cannot be a folder; pass another path");
            if (Directory.Exists(p)) break;
        }
        Yaml.InputException Bad(string message) => new(new Yaml.InputProblem(option, 0, 0, option, message));
    }

    private readonly Lock _claim = new();
}

/// <summary>One run's folder.</summary>
public sealed class RunFolder(string path)
{
    public string Path { get; } = path;

    /// <summary>The run id: the folder's name.</summary>
    public string Id => System.IO.Path.GetFileName(Path);

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
    public static Task WriteJsonAsync<T>(string path, T value, CancellationToken cancellationToken) =>
        WriteAsync(path, (stream, token) => JsonSerializer.SerializeAsync(stream, value, ResultStore.Json, token), cancellationToken);

    /// <summary>A text file (reports: Markdown, HTML, XML) written with the same durability as the records.</summary>
    public static Task WriteTextAsync(string path, string text, CancellationToken cancellationToken) =>
        WriteAsync(path, (stream, token) => stream.WriteAsync(new System.Text.UTF8Encoding(false).GetBytes(text), token).AsTask(), cancellationToken);

    private static async Task WriteAsync(string path, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        var temp = path + ".tmp-" + Environment.ProcessId;
        await using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            await write(stream, cancellationToken);
            await stream.FlushAsync(cancellationToken);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
        // The rename lives in the folder: without this a power cut may forget the record.
        Interop.DirectorySync.Flush(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
    }
}
