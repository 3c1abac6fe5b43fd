// Kernel builds from source: a patch that does not apply fails before any compiling, naming
// the patch, the file and line of the hunk, and git's reason. Uses a tiny real git tree.
using CliWrap;
using CliWrap.Buffered;
using Harness.Kernels;
using Harness.Yaml;
using Xunit;

namespace Harness.Tests.Kernels;

public sealed class KernelBuilderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kbuild-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task Git(string repo, params string[] args) =>
        await CliWrap.Cli.Wrap("git").WithArguments(["-c", "user.name=t", "-c", "user.email=t@t", .. args]).WithWorkingDirectory(repo).ExecuteBufferedAsync();

    private async Task<string> Repo()
    {
        var repo = Path.Combine(_dir, "linux");
        Directory.CreateDirectory(Path.Combine(repo, "fs"));
        await File.WriteAllTextAsync(Path.Combine(repo, "fs", "direct-io.c"), "line one\nline two\nline three\nline four\n");
        await Git(repo, "init", "-q");
        await Git(repo, "add", "-A");
        await Git(repo, "commit", "-q", "-m", "base");
        return repo;
    }

    private string Patch(string name, string body)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, body);
        return path;
    }

    [Fact]
    public async Task Patch_that_does_not_apply_names_the_patch_the_hunk_and_the_reason()
    {
        var repo = await Repo();
        var patch = Patch("fix.patch", """
            Header: what this patch does.
            ---
            --- a/fs/direct-io.c
            +++ b/fs/direct-io.c
            @@ -2,3 +2,3 @@
             line two
            -line 3
            +line THREE
             line four

            """);
        var spec = new KernelSpec("t", "test", new GitTree(repo, "HEAD"), "kernels/t.yaml")
        {
            Build = new KernelBuildSpec("tinyconfig", [], [patch]),
        };

        var error = await Assert.ThrowsAsync<InputException>(() =>
            new KernelBuilder(Path.Combine(_dir, "cache"), TextWriter.Null).BuildDetailedAsync(spec, CancellationToken.None));

        var problem = Assert.Single(error.Problems);
        Assert.Equal(patch, problem.File);
        Assert.Equal("hunk at fs/direct-io.c:2", problem.Field);
        Assert.Equal("does not apply: fs/direct-io.c: patch does not apply", problem.Message);
    }

    [Fact]
    public async Task Another_process_building_in_the_tree_holds_off_checkout_and_patching_until_it_is_done()
    {
        var repo = await Repo();
        await File.WriteAllTextAsync(Path.Combine(repo, "fs", "direct-io.c"), "second commit\n");
        await Git(repo, "commit", "-q", "-a", "-m", "second");
        var broken = Patch("broken.patch", "--- a/fs/nothing.c\n+++ b/fs/nothing.c\n@@ -1 +1 @@\n-a\n+b\n");
        KernelSpec Spec(string gitRef) => new("t", "test", new GitTree(repo, gitRef), "kernels/t.yaml") { Build = new KernelBuildSpec("tinyconfig", [], [broken]) };
        var cache = Path.Combine(_dir, "cache");
        // First build clones the tree and checks out HEAD (then stops at the patch, before compiling).
        await Assert.ThrowsAsync<InputException>(() => new KernelBuilder(cache, TextWriter.Null).BuildDetailedAsync(Spec("HEAD"), CancellationToken.None));
        var tree = Directory.GetDirectories(Path.Combine(cache, "src")).Single();
        var file = Path.Combine(tree, "fs", "direct-io.c");
        Assert.Equal("second commit\n", await File.ReadAllTextAsync(file));

        var progress = new StringWriter();
        Task building;
        using (var held = CacheLock.TryAcquire(CacheLock.For(tree)))
        {
            Assert.NotNull(held);
            building = new KernelBuilder(cache, TextWriter.Synchronized(progress)).BuildDetailedAsync(Spec("HEAD~1"), CancellationToken.None);
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            Assert.False(building.IsCompleted);
            Assert.Equal("second commit\n", await File.ReadAllTextAsync(file));
        }
        await Assert.ThrowsAsync<InputException>(() => building);

        Assert.Equal("line one\nline two\nline three\nline four\n", await File.ReadAllTextAsync(file));
        Assert.Contains($"waiting for another harness to finish building in {tree}", progress.ToString());
    }

    [Fact]
    public void A_cached_build_copied_from_another_cache_boots_its_own_image_not_the_recorded_path()
    {
        // Seen for real: a build made in another checkout's cache and copied here named an image that
        // no longer existed, and validate stopped with "kernel image ... does not exist".
        var folder = Directory.CreateDirectory(Path.Combine(_dir, "built", "k1")).FullName;
        var elsewhere = Path.Combine(_dir, "gone", "k1");
        var record = new BuiltKernel("k1", "6.1.192+", Path.Combine(elsewhere, "bzImage"), "built linux-source-6.1", 50, false, Path.Combine(elsewhere, "build.log"));
        File.WriteAllText(Path.Combine(folder, "build.json"), System.Text.Json.JsonSerializer.Serialize(record, Harness.Results.ResultStore.Json));
        File.WriteAllText(Path.Combine(folder, ".harness-complete"), "");
        Assert.Null(KernelBuilder.TryCached(folder)); // the marker alone, with no image beside it, is no build

        File.WriteAllText(Path.Combine(folder, "bzImage"), "image");
        var cached = KernelBuilder.TryCached(folder);
        Assert.NotNull(cached);
        Assert.Equal(Path.Combine(folder, "bzImage"), cached.BzImage);
        Assert.Equal(Path.Combine(folder, "build.log"), cached.BuildLog);
        Assert.Equal("6.1.192+", cached.Release);
    }

    [Fact]
    public void Git_apply_complaints_become_one_problem_per_failed_hunk()
    {
        var output = """
            Checking patch fs/direct-io.c...
            error: while searching for:
            line 3
            error: patch failed: fs/direct-io.c:316
            error: fs/direct-io.c: patch does not apply
            Checking patch fs/ocfs2/file.c...
            error: fs/ocfs2/file.c: No such file or directory
            """;

        var problems = KernelBuilder.PatchProblems("p.patch", output);

        Assert.Contains(problems, p => p.Field == "hunk at fs/direct-io.c:316" && p.Message == "does not apply: fs/direct-io.c: patch does not apply");
        Assert.Contains(problems, p => p.Message == "fs/ocfs2/file.c: No such file or directory");
    }

    [Fact]
    public void Fragment_symbols_the_final_config_lost_are_listed()
    {
        var fragment = Patch("guest.config", "CONFIG_ACPI=y\nCONFIG_OCFS2_FS=y\n# CONFIG_OCFS2_FS_O2CB is not set\n");

        var missing = KernelBuilder.MissingSymbols("CONFIG_ACPI=y\nCONFIG_EXT4_FS=y\n", [fragment]);

        Assert.Equal(["CONFIG_OCFS2_FS"], missing);
    }
}
