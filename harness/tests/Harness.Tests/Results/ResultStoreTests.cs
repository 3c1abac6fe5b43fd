// Run folders: two runs of one process started within the same second must not collide (the
// id carries only the second and the pid), and never share a folder.
using Harness.Results;
using Xunit;

namespace Harness.Tests.Results;

public sealed class ResultStoreTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("harness-store-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Same_run_id_twice_gets_a_new_empty_folder_with_a_suffix()
    {
        var store = new ResultStore(_root);
        var first = store.Create("20261126-200000-local-1");
        File.WriteAllText(Path.Combine(first.Path, "run.json"), "{}");

        var second = store.Create("20261126-200000-local-1");
        var third = store.Create("20261126-200000-local-1");

        Assert.Equal("20261126-200000-local-1", first.Id);
        Assert.Equal("20261126-200000-local-1-2", second.Id);
        Assert.Equal("20261126-200000-local-1-3", third.Id);
        Assert.Empty(Directory.EnumerateFileSystemEntries(second.Path));
        Assert.True(File.Exists(Path.Combine(first.Path, "run.json")), "the first run's record must be untouched");
    }
}
