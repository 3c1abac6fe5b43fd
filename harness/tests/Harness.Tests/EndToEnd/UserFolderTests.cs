// --dir points at a user's own folder: the harness works only in a fresh subfolder it makes,
// and a user's files named like the harness's (harness-target, .harness-dirt, a folder
// harness-target with contents) are left exactly as they were. Runs the real agent on /tmp (ext4).
using System.Text.Json;
using Harness.Cli;
using Harness.Results;
using Harness.Tests.Support;
using Xunit;

namespace Harness.Tests.EndToEnd;

public sealed class UserFolderTests : IDisposable
{
    private readonly string _scratch = Directory.CreateDirectory(Path.Combine("/tmp", $"harness-userdir-{Guid.NewGuid():N}")).FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact]
    public async Task User_files_named_like_the_harness_files_are_untouched_and_the_run_still_does_its_work()
    {
        var userDir = Directory.CreateDirectory(Path.Combine(_scratch, "mine")).FullName;
        var old = new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        var files = new Dictionary<string, string>
        {
            ["harness-target-file-twin"] = "not a target",
            [".harness-dirt"] = "my dirt, keep it",
            ["harness-target/inside.txt"] = "precious",
            ["harness-target/sub/deeper.txt"] = "also precious",
        };
        // A FILE named harness-target cannot sit beside the FOLDER of that name: the file case
        // runs in a second user folder below.
        var userDir2 = Directory.CreateDirectory(Path.Combine(_scratch, "mine2")).FullName;
        File.WriteAllText(Path.Combine(userDir2, "harness-target"), "my file, not the harness's");
        File.SetLastWriteTimeUtc(Path.Combine(userDir2, "harness-target"), old);
        foreach (var (name, text) in files)
        {
            var path = Path.Combine(userDir, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text);
            File.SetLastWriteTimeUtc(path, old);
        }
        var before = Snapshot(userDir);
        var before2 = Snapshot(userDir2);

        foreach (var dir in new[] { userDir, userDir2 })
        {
            var results = Path.Combine(_scratch, "results-" + Path.GetFileName(dir));
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            var code = await new CliApp(stdout, stderr, TimeProvider.System).RunAsync(
                ["run", "--machine", "local", "--dir", dir, "--case", "seed", "--repeats", "1",
                 "--agent", TestAgent.Binary.Path, "--cases-dir", RepoPaths.Cases, "--results", results],
                CancellationToken.None);

            Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
            var iteration = JsonSerializer.Deserialize<IterationResult>(File.ReadAllText(
                Directory.GetFiles(results, "iteration-000.json", SearchOption.AllDirectories).Single()), ResultStore.Json)!;
            Assert.Equal(8191, iteration.IoCount);
            Assert.Equal(0, iteration.IoErrors);
            Assert.All(iteration.Passes, p => Assert.Equal(32L << 20 >> 9, p.SectorsChecked));
        }

        // Same names, contents and times; and nothing of the harness's left beside them.
        Assert.Equal(before, Snapshot(userDir));
        Assert.Equal(before2, Snapshot(userDir2));
    }

    private static string[] Snapshot(string dir) =>
        Directory.GetFileSystemEntries(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(p => File.Exists(p)
                ? $"{Path.GetRelativePath(dir, p)} {File.GetLastWriteTimeUtc(p):O} {File.ReadAllText(p)}"
                : $"{Path.GetRelativePath(dir, p)}/ {Directory.GetLastWriteTimeUtc(p):O}")
            .ToArray();
}
