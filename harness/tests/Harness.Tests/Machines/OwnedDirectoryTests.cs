// A folder the harness made is removed only while the path still names that very folder.
using Harness.Machines;
using Xunit;

namespace Harness.Tests.Machines;

public sealed class OwnedDirectoryTests : IDisposable
{
    private readonly string _parent = Directory.CreateTempSubdirectory("harness-owned-").FullName;

    public void Dispose() => Directory.Delete(_parent, recursive: true);

    [Fact]
    public void Created_folder_and_its_contents_are_removed()
    {
        var owned = OwnedDirectory.Create(_parent, "harness-run-cell");
        File.WriteAllText(Path.Combine(owned.Path, "harness-target"), "x");

        Assert.Null(owned.TryDelete());
        Assert.False(Directory.Exists(owned.Path));
    }

    [Fact]
    public void An_existing_name_is_never_reused_and_what_is_there_stays()
    {
        var theirs = Directory.CreateDirectory(Path.Combine(_parent, "harness-run-cell")).FullName;
        File.WriteAllText(Path.Combine(theirs, "keep"), "theirs");
        File.WriteAllText(Path.Combine(_parent, "harness-run-cell-2"), "a file in the way");

        var owned = OwnedDirectory.Create(_parent, "harness-run-cell");
        Assert.Null(owned.TryDelete());

        Assert.Equal(Path.Combine(_parent, "harness-run-cell-3"), owned.Path);
        Assert.Equal("theirs", File.ReadAllText(Path.Combine(theirs, "keep")));
        Assert.Equal("a file in the way", File.ReadAllText(Path.Combine(_parent, "harness-run-cell-2")));
    }

    [Fact]
    public void A_folder_swapped_in_under_the_same_name_is_left_untouched()
    {
        var owned = OwnedDirectory.Create(_parent, "harness-run-cell");
        Directory.Move(owned.Path, Path.Combine(_parent, "moved-away"));
        Directory.CreateDirectory(owned.Path);
        File.WriteAllText(Path.Combine(owned.Path, "user-file"), "keep me");

        var left = owned.TryDelete();

        Assert.Contains("no longer the folder the harness created", left);
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(owned.Path, "user-file")));
    }

    [Fact]
    public void A_symlink_swapped_in_is_not_followed()
    {
        var victim = Directory.CreateDirectory(Path.Combine(_parent, "victim")).FullName;
        File.WriteAllText(Path.Combine(victim, "precious"), "keep me");
        var owned = OwnedDirectory.Create(_parent, "harness-run-cell");
        Directory.Delete(owned.Path);
        Directory.CreateSymbolicLink(owned.Path, victim);

        Assert.NotNull(owned.TryDelete());
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(victim, "precious")));
    }
}
