// Every record carries formatVersion; readers take every version up to the current one and
// name the file and the reason when they cannot.
using System.Text.Json;
using Harness.Results;
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.Results;

public sealed class RecordFormatTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("harness-format-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static IterationResult Iteration() =>
        new("ext4-seed", 2, Outcome.Pass, null, "6.1", 2, 8191, 0, 0.5, 16000, []);

    [Fact]
    public async Task Records_are_written_with_the_current_format_version()
    {
        var folder = new ResultStore(_root).Create("run");
        await folder.WriteIterationAsync(Iteration(), CancellationToken.None);

        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.CellDirectory("ext4-seed"), "iteration-002.json")));
        Assert.Equal(RecordFormat.Current, doc.RootElement.GetProperty("formatVersion").GetInt32());
        Assert.Empty(Directory.GetFiles(folder.CellDirectory("ext4-seed"), "*.tmp-*"));
    }

    [Fact]
    public async Task A_record_without_a_version_is_read_as_version_0()
    {
        var path = Path.Combine(_root, "old.json");
        await AtomicFile.WriteJsonAsync(path, Iteration(), CancellationToken.None);
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        node.Remove("formatVersion");
        node.Remove("dirtReuse");
        File.WriteAllText(path, node.ToJsonString());

        var read = RecordFormat.Read<IterationResult>(path);

        Assert.Equal(2, read.Iteration);
        Assert.Equal(8191, read.IoCount);
        Assert.Equal(Outcome.Pass, read.Outcome);
    }

    [Fact]
    public async Task A_record_from_a_newer_harness_is_refused_naming_the_file_and_both_versions()
    {
        var path = Path.Combine(_root, "new.json");
        await AtomicFile.WriteJsonAsync(path, Iteration() with { FormatVersion = RecordFormat.Current + 1 }, CancellationToken.None);

        var e = Assert.Throws<RecordFormatException>(() => RecordFormat.Read<IterationResult>(path));

        Assert.Equal(path, e.RecordPath);
        Assert.Contains($"format version {RecordFormat.Current + 1}", e.Message);
        Assert.Contains($"reads versions 0 to {RecordFormat.Current}", e.Message);
    }

    [Theory]
    [InlineData("{\"iteration\": 1,\n \"outcome\": \"pass\",\n \"ioCount\": \"many\"}", "line 3")]
    [InlineData("[1, 2]", "not a record")]
    [InlineData("{\"formatVersion\": \"one\"}", "formatVersion \"one\" is not a whole number")]
    [InlineData("{\"iteration\": 1, ", "not a valid record")]
    public void A_broken_record_names_the_file_and_what_is_wrong(string text, string expected)
    {
        var path = Path.Combine(_root, "broken.json");
        File.WriteAllText(path, text);

        var e = Assert.Throws<RecordFormatException>(() => RecordFormat.Read<IterationResult>(path));

        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(expected, e.Message);
    }
}
