// Patch series as reviewers have them: files in order, an mbox off a mailing list (applied like git am,
// by [PATCH n/m], cover letter and replies skipped), a git range. Applied to a small git tree made here
// (no kernel tree, no build): the applied tree must be exactly the tree the commits made.
using CliWrap;
using CliWrap.Buffered;
using Harness.Kernels;
using Harness.Tests.Support;
using Harness.Yaml;
using Xunit;

namespace Harness.Tests.Kernels;

public sealed class PatchSeriesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("series-").FullName;
    private string Scratch => Path.Combine(_dir, "scratch");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<string> Git(string repo, params string[] args)
    {
        var result = await CliWrap.Cli.Wrap("git").WithArguments(["-c", "user.name=Tess Ter", "-c", "user.email=t@example.org", .. args])
            .WithWorkingDirectory(repo).WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        Assert.True(result.ExitCode == 0, $"git {string.Join(' ', args)}: {result.StandardError}");
        return result.StandardOutput.Trim();
    }

    /// <summary>base, then "ext4: first" (edits dio.c) and "ext4: second" (edits the line the first one wrote, adds a file).</summary>
    private async Task<string> Repo()
    {
        var repo = Path.Combine(_dir, "tree");
        Directory.CreateDirectory(Path.Combine(repo, "fs"));
        await File.WriteAllTextAsync(Path.Combine(repo, "fs", "dio.c"), "one\ntwo\nthree\nfour\nfive\n");
        await Git(repo, "init", "-q", "-b", "main");
        await Git(repo, "add", "-A");
        await Git(repo, "commit", "-q", "-m", "base");
        await Git(repo, "tag", "base");
        await File.WriteAllTextAsync(Path.Combine(repo, "fs", "dio.c"), "one\ntwo\nTHREE\nfour\nfive\n");
        await Git(repo, "commit", "-q", "-a", "-m", "ext4: first");
        await File.WriteAllTextAsync(Path.Combine(repo, "fs", "dio.c"), "one\ntwo\nTHREE (again)\nfour\nfive\n");
        await File.WriteAllTextAsync(Path.Combine(repo, "fs", "new.c"), "new file\n");
        await Git(repo, "add", "-A");
        await Git(repo, "commit", "-q", "-m", "ext4: second");
        return repo;
    }

    /// <summary>A clean clone of the tree at base: where a series is applied.</summary>
    private async Task<string> AtBase(string repo, string name)
    {
        var clone = Path.Combine(_dir, name);
        await Git(_dir, "clone", "-q", repo, clone);
        await Git(clone, "checkout", "-q", "base");
        return clone;
    }

    /// <summary>The tree object of the work tree as it is now (what the applied series made).</summary>
    private static async Task<string> TreeOf(string clone)
    {
        await Git(clone, "add", "-A");
        return await Git(clone, "write-tree");
    }

    /// <summary>The messages of format-patch --cover-letter, each a string starting with its "From " line.</summary>
    private async Task<IReadOnlyList<string>> Messages(string repo)
    {
        var folder = Path.Combine(_dir, "out-" + Guid.NewGuid().ToString("N"));
        await Git(repo, "format-patch", "-q", "--cover-letter", "-o", folder, "base..main");
        return Directory.GetFiles(folder).Order(StringComparer.Ordinal).Select(File.ReadAllText).ToArray();
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private const string Reply = "From reviewer@example.org Thu Nov 26 10:00:00 2026\nFrom: Rev Iewer <reviewer@example.org>\nSubject: Re: [PATCH 1/2] ext4: first\n\n> looks fine\nReviewed-by: Rev Iewer <reviewer@example.org>\n\n";

    [Fact]
    public async Task An_mbox_from_a_list_is_applied_in_patch_number_order_without_cover_letter_or_replies()
    {
        var repo = await Repo();
        var m = await Messages(repo);   // cover 0/2, 1/2, 2/2
        // As a list archive hands it over: a reply in between, 2/2 arriving before 1/2.
        var mbox = Write("thread.mbox", m[0] + Reply + m[2] + m[1]);
        var clone = await AtBase(repo, "applied");

        var series = await new PatchSeriesReader(Scratch).ReadAsync([mbox], [], CancellationToken.None);
        await series.ApplyAsync(clone, TextWriter.Null, CancellationToken.None);

        Assert.Equal(2, series.Patches.Count);
        Assert.Equal($"{mbox} message 4 of 4 \"[PATCH 1/2] ext4: first\"", series.Patches[0].Label);
        Assert.Equal($"{mbox} message 3 of 4 \"[PATCH 2/2] ext4: second\"", series.Patches[1].Label);
        Assert.All(series.Patches, p => Assert.Equal(PatchSeries.FileSha256(p.File), p.Sha256));
        Assert.Equal(await Git(repo, "rev-parse", "main^{tree}"), await TreeOf(clone));
    }

    [Fact]
    public async Task A_message_that_does_not_apply_is_named_by_its_number_and_subject()
    {
        var repo = await Repo();
        var m = await Messages(repo);
        // Numbered the wrong way round by its sender: "1/2" is really the second change, so it cannot go first.
        var swapped = Write("swapped.mbox", m[0] + m[1].Replace("[PATCH 1/2]", "[PATCH 2/2]") + m[2].Replace("[PATCH 2/2]", "[PATCH 1/2]"));
        var clone = await AtBase(repo, "applied");

        var series = await new PatchSeriesReader(Scratch).ReadAsync([swapped], [], CancellationToken.None);
        var error = await Assert.ThrowsAsync<InputException>(() => series.ApplyAsync(clone, TextWriter.Null, CancellationToken.None));

        var problem = Assert.Single(error.Problems);
        Assert.Equal($"{swapped} message 3 of 3 \"[PATCH 1/2] ext4: second\"", problem.File);
        Assert.Equal("hunk at fs/dio.c:1", problem.Field);
        Assert.Contains("does not apply", problem.Message);
    }

    [Fact]
    public async Task Files_in_the_wrong_order_fail_naming_the_file_that_does_not_apply()
    {
        var repo = await Repo();
        var m = await Messages(repo);
        var first = Write("0001-first.patch", m[1]);
        var second = Write("0002-second.patch", m[2]);
        var clone = await AtBase(repo, "applied");
        var inOrder = await AtBase(repo, "in-order");

        var wrong = await new PatchSeriesReader(Scratch).ReadAsync([$"{second},{first}"], [], CancellationToken.None);
        var error = await Assert.ThrowsAsync<InputException>(() => wrong.ApplyAsync(clone, TextWriter.Null, CancellationToken.None));
        var right = await new PatchSeriesReader(Scratch).ReadAsync([first, second], [], CancellationToken.None);
        await right.ApplyAsync(inOrder, TextWriter.Null, CancellationToken.None);

        Assert.Equal(second, Assert.Single(error.Problems).File);
        // A single-patch file is used as it is: its digest is the file's, as before series existed.
        Assert.Equal([first, second], right.Patches.Select(p => p.Label));
        Assert.Equal([Path.GetFullPath(first), Path.GetFullPath(second)], right.Patches.Select(p => p.File));
        Assert.Equal(PatchSeries.FileSha256(first), right.Patches[0].Sha256);
        Assert.Equal(await Git(repo, "rev-parse", "main^{tree}"), await TreeOf(inOrder));
    }

    [Fact]
    public async Task A_git_range_gives_the_same_tree_as_the_patch_files()
    {
        var repo = await Repo();
        var m = await Messages(repo);
        var files = new[] { Write("a.patch", m[1]), Write("b.patch", m[2]) };
        var byFiles = await AtBase(repo, "by-files");
        var byRange = await AtBase(repo, "by-range");

        var fromFiles = await new PatchSeriesReader(Scratch).ReadAsync(files, [], CancellationToken.None);
        var fromRange = await new PatchSeriesReader(Scratch).ReadAsync([], [$"{repo}:base..main"], CancellationToken.None);
        await fromFiles.ApplyAsync(byFiles, TextWriter.Null, CancellationToken.None);
        await fromRange.ApplyAsync(byRange, TextWriter.Null, CancellationToken.None);

        Assert.Equal(await TreeOf(byFiles), await TreeOf(byRange));
        Assert.Equal(await Git(repo, "rev-parse", "main^{tree}"), await TreeOf(byRange));
        var shas = (await Git(repo, "rev-list", "--reverse", "base..main")).Split('\n');
        Assert.Equal([$"{repo}:base..main commit 1 of 2 {shas[0][..12]} \"ext4: first\"", $"{repo}:base..main commit 2 of 2 {shas[1][..12]} \"ext4: second\""],
            fromRange.Patches.Select(p => p.Label));
        // The range is only read: the user's tree keeps its branch and a clean status.
        Assert.Equal("main", await Git(repo, "rev-parse", "--abbrev-ref", "HEAD"));
        Assert.Equal("", await Git(repo, "status", "--porcelain"));
    }

    [Fact]
    public async Task Bad_ranges_name_the_option_and_what_is_wrong()
    {
        var repo = await Repo();
        var reader = new PatchSeriesReader(Scratch);

        async Task<string> Error(string range) =>
            (await Assert.ThrowsAsync<InputException>(() => reader.ReadAsync([], [range], CancellationToken.None))).Message;

        Assert.Contains("--patch-range: 'nonsense': give TREE:A..B", await Error("nonsense"));
        Assert.Contains("'nope' names no commit", await Error($"{repo}:base..nope"));
        Assert.Contains("is not an ancestor of base", await Error($"{repo}:main..base"));
        Assert.Contains("no such directory", await Error($"{_dir}/missing:a..b"));
        Assert.Equal("/no/such.patch: --patch: no such patch file", (await Assert.ThrowsAsync<InputException>(() => reader.ReadAsync(["/no/such.patch"], [], CancellationToken.None))).Message);
    }

    [Fact]
    public async Task Validate_refuses_an_incomplete_mbox_before_building_anything_naming_the_file()
    {
        var repo = await Repo();
        var m = await Messages(repo);
        var mbox = Write("incomplete.mbox", m[0] + m[2]);   // cover letter and 2/2: 1/2 never arrived
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var code = await new Harness.Cli.CliApp(stdout, stderr, TimeProvider.System).RunAsync(
            ["validate", "--kernel", "linux-6.1", "--patch", mbox, "--fs", "ext4", "--kernels-dir", Path.Combine(RepoPaths.Root, "kernels"),
             "--cases-dir", RepoPaths.Cases, "--cache", Path.Combine(_dir, "cache"), "--results", Path.Combine(_dir, "results")], CancellationToken.None);

        var second = new StringWriter();
        var missing = await new Harness.Cli.CliApp(new StringWriter(), second, TimeProvider.System).RunAsync(
            ["validate", "--kernel", "linux-6.1", "--patch", Write("ok.patch", m[1]), "--patch", Path.Combine(_dir, "gone.patch"), "--fs", "ext4",
             "--kernels-dir", Path.Combine(RepoPaths.Root, "kernels"), "--cases-dir", RepoPaths.Cases, "--cache", Path.Combine(_dir, "cache"), "--results", Path.Combine(_dir, "results")],
            CancellationToken.None);

        Assert.Equal(2, code);
        Assert.Contains($"{mbox}: (mbox): the series has 2 patches but 1/2 is missing", stderr.ToString());
        Assert.Equal(2, missing);   // the second --patch of a repeated option is read too
        Assert.Contains($"{Path.Combine(_dir, "gone.patch")}: --patch: no such patch file", second.ToString());
        Assert.False(Directory.Exists(Path.Combine(_dir, "cache", "src")));
    }

    [Theory]
    [InlineData("[PATCH 1/2] ext4: x", 1, 2)]
    [InlineData("[PATCH v3 03/10] fs: y", 3, 10)]
    [InlineData("[RFC PATCH net-next 0/4] cover", 0, 4)]
    [InlineData("[PATCH] single", null, null)]
    [InlineData("ext4: no brackets 1/2", null, null)]
    public void Patch_numbers_are_read_from_the_subject(string subject, int? n, int? of)
    {
        var numbering = PatchSeriesReader.Numbering(subject);

        Assert.Equal(n, numbering?.N);
        Assert.Equal(of, numbering?.Of);
    }

    [Fact]
    public void An_incomplete_or_mixed_series_is_refused_naming_the_message()
    {
        PatchSeriesReader.MboxMessage M(int i, string subject, bool diff = true) => new(i, subject, $"/m/{i}", diff);

        InputException Order(params PatchSeriesReader.MboxMessage[] messages) =>
            Assert.Throws<InputException>(() => PatchSeriesReader.Order(messages, "s.mbox"));

        Assert.Contains("s.mbox: (mbox): the series has 3 patches but 2/3 is missing",
            Order(M(1, "[PATCH 0/3] c"), M(2, "[PATCH 1/3] a"), M(3, "[PATCH 3/3] b")).Message);
        Assert.Contains("message 3 \"[PATCH v2 1/2] a\": is the second patch numbered 1/2",
            Order(M(1, "[PATCH 1/2] a"), M(2, "[PATCH 2/2] b"), M(3, "[PATCH v2 1/2] a"), M(4, "[PATCH v2 2/2] b")).Message);
        Assert.Contains("message 2 \"[PATCH 1/3] a\": is numbered out of 3, the first patch out of 2",
            Order(M(1, "[PATCH 1/2] a"), M(2, "[PATCH 1/3] a"), M(3, "[PATCH 2/2] b")).Message);
        Assert.Contains("message 1 \"[PATCH 1/1] a\": has no diff", Order(M(1, "[PATCH 1/1] a", diff: false)).Message);
        Assert.Contains("none of its 1 messages is a patch", Order(M(1, "Re: [PATCH 1/1] a", diff: false)).Message);
    }

    [Fact]
    public async Task A_kernel_build_names_the_mbox_message_that_does_not_apply_before_compiling()
    {
        var repo = await Repo();
        var m = await Messages(repo);
        await Git(repo, "checkout", "-q", "base");
        // 2/2 was written against another version of the file: its context does not match.
        var mbox = Write("series.mbox", m[0] + m[1] + m[2].Replace("-THREE\n", "-THREX\n"));
        var spec = new KernelSpec("t", "test", new GitTree(repo, "base"), "kernels/t.yaml") { Build = new KernelBuildSpec("tinyconfig", [], [mbox]) };

        var error = await Assert.ThrowsAsync<InputException>(() =>
            new KernelBuilder(Path.Combine(_dir, "cache"), TextWriter.Null).BuildDetailedAsync(spec, CancellationToken.None));

        Assert.Equal($"{mbox} message 3 of 3 \"[PATCH 2/2] ext4: second\"", Assert.Single(error.Problems).File);
    }

    [Fact]
    public async Task The_reference_patches_apply_as_one_mbox_to_the_linux_6_1_source()
    {
        // The cached linux-source-6.1 tree (made once per cache; CI's validate test needs it anyway), only read (its pristine commit):
        // the files the patches touch are copied into a small tree and the mbox applied there.
        var spec = new KernelCatalog(Path.Combine(RepoPaths.Root, "kernels")).Find("linux-6.1");
        var source = await new KernelBuilder(DebianKernelFixture.CacheRoot, TextWriter.Null).SourceTreeAsync(spec, CancellationToken.None);
        var patches = Directory.GetFiles(Path.Combine(RepoPaths.Root, "kernels", "patches"), "*.patch").Order(StringComparer.Ordinal).ToArray();
        var mbox = Write("reference.mbox", "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\nFrom: Harness <h@localhost>\nSubject: [PATCH 0/3] the reference patches\n\ncover\n\n" +
            string.Concat(patches.Select((p, i) => $"From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\nFrom: Harness <h@localhost>\nSubject: [PATCH {i + 1}/{patches.Length}] {Path.GetFileNameWithoutExtension(p)}\n\n{File.ReadAllText(p)}\n")));
        var small = Path.Combine(_dir, "linux");
        Directory.CreateDirectory(small);
        var touched = patches.SelectMany(File.ReadAllLines).Where(l => l.StartsWith("+++ b/", StringComparison.Ordinal)).Select(l => l[6..].Trim()).Distinct().ToArray();
        foreach (var file in touched)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(small, file))!);
            // From the tree's commit, not its working files: the shared tree holds whatever series the last build applied.
            var shown = await CliWrap.Cli.Wrap("git").WithArguments(["-C", source, "show", $"HEAD:{file}"])
                .WithStandardOutputPipe(CliWrap.PipeTarget.ToFile(Path.Combine(small, file))).WithValidation(CommandResultValidation.None).ExecuteAsync();
            Assert.Equal(0, shown.ExitCode);
        }
        await Git(small, "init", "-q");
        await Git(small, "add", "-A");
        await Git(small, "commit", "-q", "-m", "linux-source-6.1 files");

        var series = await new PatchSeriesReader(Scratch).ReadAsync([mbox], [], CancellationToken.None);
        await series.ApplyAsync(small, TextWriter.Null, CancellationToken.None);

        Assert.Equal(patches.Length, series.Patches.Count);
        Assert.True(touched.Length >= 3, string.Join(", ", touched));
        Assert.NotEqual("", await Git(small, "status", "--porcelain"));
        Assert.Equal(patches.Select(p => $"[PATCH {Array.IndexOf(patches, p) + 1}/{patches.Length}] {Path.GetFileNameWithoutExtension(p)}"),
            series.Patches.Select(p => p.Label[(p.Label.IndexOf('"') + 1)..^1]));
    }
}
