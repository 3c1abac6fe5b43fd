// fio job files as cases: the ini subset is read as fio reads it, mapped to the one case schema,
// and everything outside the subset is an error naming file:line and the option.
using Harness.Cases;
using Harness.Cli;
using Harness.Tests.Support;
using Harness.Workload;
using Harness.Yaml;
using Xunit;

namespace Harness.Tests.Cases;

public sealed class FioCaseTests : IDisposable
{
    private readonly string _scratch = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"harness-fio-{Guid.NewGuid():N}")).FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    // A small valid job; each refusal test replaces or adds one line.
    private const string Small = """
        [global]
        ioengine=libaio
        direct=1
        fallocate=truncate

        [small]
        rw=write
        bs=4k
        offset=512
        size=64k
        iodepth=4
        randseed=7
        """;

    [Fact]
    public void Seed_fio_plans_exactly_what_seed_yaml_plans()
    {
        var yaml = CaseLoader.Load(Path.Combine(RepoPaths.Cases, "seed.yaml"));
        var fio = FioCase.Load(Path.Combine(RepoPaths.Cases, "seed.fio"));

        Assert.Equal(yaml.Workload, fio.Workload);
        Assert.Equal(yaml.Readback, fio.Readback);
        Assert.Equal(yaml.Repeats, fio.Repeats);
        Assert.Equal(yaml.Name, fio.Name);
        Assert.Equal(yaml.Description, fio.Description);
        for (var iteration = 0; iteration < 3; iteration++)
        {
            var a = PlanBuilder.Build(yaml.Workload, iteration);
            var b = PlanBuilder.Build(fio.Workload, iteration);
            Assert.Equal(a.RunTag, b.RunTag);
            Assert.Equal(a.ReadbackLength, b.ReadbackLength);
            Assert.Equal(8191, b.Ios.Count);
            Assert.Equal(a.Ios, b.Ios); // records: offset and length, IO by IO
        }
    }

    [Fact]
    public void The_yaml_that_cases_show_prints_loads_back_to_the_same_case()
    {
        var (spec, yaml) = FioCase.Map(FioJobParser.Parse("seed.fio", File.ReadAllText(Path.Combine(RepoPaths.Cases, "seed.fio"))));

        var again = CaseLoader.Parse("shown.yaml", yaml);

        Assert.Equal(spec.Workload, again.Workload);
        Assert.Equal(spec.Readback, again.Readback);
        Assert.Equal(spec.FixedBy, again.FixedBy);
        Assert.StartsWith("# The case fio job [seed] in seed.fio maps to.", yaml, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_option_of_the_subset_maps_to_its_case_field()
    {
        var c = FioCase.Parse("small.fio", Small);

        var w = c.Workload;
        Assert.Equal("small", c.Name);
        Assert.Equal(IoPattern.Stride, w.Pattern);
        Assert.Equal((4096, 4096L, 512L, 16, 4, 7UL), (w.IoSize, w.Stride, w.Start, w.IoCount, w.QueueDepth, w.Seed));
        Assert.Equal(FilePreparation.Sparse, w.Preparation);
        Assert.Equal(512 + 16 * 4096 + 4096 - 512, w.FileSize); // the written end rounded up to the fs block
        Assert.Equal(0, w.DirtyBytes);
        Assert.Equal([ReadbackStep.AfterFsync, ReadbackStep.AfterRemount], c.Readback);
    }

    [Fact]
    public void Unset_options_take_fios_defaults()
    {
        var c = FioCase.Parse("d.fio", "[d]\nioengine=libaio\ndirect=1\nrw=write\nsize=8k\n");

        var w = c.Workload;
        Assert.Equal(4096, w.IoSize);                          // bs=4k
        Assert.Equal(1, w.QueueDepth);                         // iodepth=1
        Assert.Equal(0, w.Start);                              // offset=0
        Assert.Equal(FioCase.DefaultSeed, w.Seed);             // fio's FIO_RANDSEED
        Assert.Equal(FilePreparation.Unwritten, w.Preparation); // fallocate=native on Linux
    }

    // What fio 3.33 does to a new file before the first write, checked with strace on this
    // host: truncate calls ftruncate(final size), none calls nothing, native fallocates.
    // Mapping none to sparse once made the bench's fio run the extending path while the
    // harness ran the hole-filling one, from the same job file.
    [Theory]
    [InlineData("truncate", FilePreparation.Sparse)]
    [InlineData("none", FilePreparation.Extending)]
    [InlineData("0", FilePreparation.Extending)]
    [InlineData("native", FilePreparation.Unwritten)]
    [InlineData("posix", FilePreparation.Unwritten)]
    [InlineData("1", FilePreparation.Unwritten)]
    public void Fallocate_maps_to_what_fio_does_to_the_new_file(string value, FilePreparation expected)
    {
        var c = FioCase.Parse("d.fio", $"[d]\nioengine=libaio\ndirect=1\nrw=write\nsize=8k\nfallocate={value}\n");

        Assert.Equal(expected, c.Workload.Preparation);
    }

    [Theory]
    [InlineData("4096", 4096)]
    [InlineData("4k", 4096)]
    [InlineData("4K", 4096)]
    [InlineData("4kb", 4096)]
    [InlineData("1m", 1 << 20)]
    [InlineData("2g", 2L << 30)]
    [InlineData("1t", 1L << 40)]
    [InlineData("0x1000", 4096)]
    public void Sizes_are_powers_of_1024_as_fio_reads_them_by_default(string text, long bytes) =>
        Assert.Equal(bytes, FioNumber.Parse(text, out _));

    [Fact]
    public void Randwrite_writes_every_block_of_the_region_once_in_a_seeded_order()
    {
        var job = Small.Replace("rw=write", "rw=randwrite", StringComparison.Ordinal).Replace("size=64k", "size=1m", StringComparison.Ordinal);
        var c = FioCase.Parse("r.fio", job);

        var plan = PlanBuilder.Build(c.Workload, 0);
        var sequential = PlanBuilder.Build(c.Workload with { Pattern = IoPattern.Stride }, 0);
        Assert.Equal(IoPattern.RandomStride, c.Workload.Pattern);
        Assert.Equal(sequential.Ios.Select(io => io.Offset).Order(), plan.Ios.Select(io => io.Offset).Order());
        Assert.NotEqual(sequential.Ios.Select(io => io.Offset), plan.Ios.Select(io => io.Offset));
        Assert.Equal(Enumerable.Range(0, plan.Ios.Count), plan.Ios.Select(io => io.Index));
        Assert.Equal(plan.Ios, PlanBuilder.Build(c.Workload, 0).Ios);
        Assert.NotEqual(plan.Ios, PlanBuilder.Build(c.Workload, 1).Ios);
        Assert.Contains("pattern: random-stride", FioCase.Map(FioJobParser.Parse("r.fio", job)).Yaml, StringComparison.Ordinal);
    }

    [Fact]
    public void Performance_only_options_and_where_fio_writes_are_accepted_without_changing_the_case()
    {
        var tuned = Small + "\nfilename=/mnt/x/target\niodepth_batch_submit=32\niodepth_batch_complete_max=32\ngroup_reporting\nthread\nnrfiles=1\nnumjobs=1\noffset_increment=1m\n";

        Assert.Equal(FioCase.Parse("small.fio", Small).Workload, FioCase.Parse("tuned.fio", tuned).Workload);
    }

    [Fact]
    public void Harness_settings_in_comments_fill_what_fio_has_no_word_for()
    {
        var job = "; harness: dirty-free-space=16MiB\n; harness: readback=after-fsync\n; harness: repeats=5\n# harness: fs-block-size=1KiB\n" + Small;

        var c = FioCase.Parse("s.fio", job);

        Assert.Equal(16L << 20, c.Workload.DirtyBytes);
        Assert.Equal([ReadbackStep.AfterFsync], c.Readback);
        Assert.Equal(5, c.Repeats);
        Assert.Equal(1024, c.Workload.FsBlockSize);
    }

    // Each row: a line put into the small job (replacing the line of the same key, else added to
    // the job section), and what the error must say. The error names small.fio, the line, the option.
    [Theory]
    [InlineData("rw=randrw", "rw", "rw=randrw is not supported: the harness judges writes; use write or randwrite")]
    [InlineData("rw=read", "rw", "rw=read is not supported: the harness judges writes")]
    [InlineData("rw=randread", "rw", "rw=randread is not supported")]
    [InlineData("rw=trim", "rw", "rw=trim is not supported")]
    [InlineData("rw=write:4k", "rw", "(no :skip modifier)")]
    [InlineData("direct=0", "direct", "direct=0 is not supported: the harness judges O_DIRECT writes")]
    [InlineData("ioengine=sync", "ioengine", "ioengine=sync is not supported")]
    [InlineData("ioengine=io_uring", "ioengine", "ioengine=io_uring is not supported")]
    [InlineData("ioengine=psync", "ioengine", "use ioengine=libaio")]
    [InlineData("buffered=1", "buffered", "buffered is not supported in a job file used as a case")]
    [InlineData("verify=crc32c", "verify", "verify is not supported")]
    [InlineData("time_based", "time_based", "time_based is not supported")]
    [InlineData("runtime=10", "runtime", "runtime is not supported")]
    [InlineData("kb_base=1000", "kb_base", "kb_base is not supported")]
    [InlineData("numjobs=4", "numjobs", "numjobs=4 is not supported: a case has one submitter")]
    [InlineData("nrfiles=2", "nrfiles", "nrfiles=2 is not supported: a case writes one file")]
    [InlineData("fallocate=keep", "fallocate", "fallocate=keep is not supported")]
    [InlineData("bs=4kib", "bs", "fio reads kib as a power of 1000")]
    [InlineData("bs=4k-8k", "bs", "ranges and per-direction lists are not supported")]
    [InlineData("bs=4k,8k", "bs", "ranges and per-direction lists are not supported")]
    [InlineData("bs=1000", "bs", "must be a multiple of 512")]
    [InlineData("bs=2g", "bs", "over 1g")]
    [InlineData("offset=100", "offset", "must be a multiple of 512")]
    [InlineData("offset=10%", "offset", "percentages depend on the device size")]
    [InlineData("size=6k", "size", "is not a multiple of bs (4096)")]
    [InlineData("size=-4k", "size", "is negative")]
    [InlineData("size=99999999999999999999999", "size", "is not a number")]
    [InlineData("size=9000000000000000000k", "size", "is out of range")]
    [InlineData("size=1t", "size", "a case takes at most 1048576")]
    [InlineData("iodepth=0", "iodepth", "must be at least 1")]
    [InlineData("iodepth=5000", "iodepth", "over 1024")]
    [InlineData("iodepth=32", "iodepth", "exceeds io.count (16)")]
    [InlineData("randseed=-1", "randseed", "randseed=-1 is not a whole number")]
    [InlineData("filename=a:b", "filename", "names several files")]
    [InlineData("size", "size", "has no value")]
    [InlineData("bs=${BS}", "(value)", "environment variables")]
    [InlineData("; harness: dirty=1MiB", "dirty", "'dirty' is not a harness setting")]
    [InlineData("; harness: readback=after-lunch", "readback", "list after-fsync and/or after-remount")]
    [InlineData("; harness: repeats=0", "repeats", "repeats=0 is not a whole number of at least 1")]
    public void An_option_outside_the_subset_is_an_error_naming_file_line_and_option(string line, string option, string message)
    {
        var (job, lineNumber) = WithLine(line);

        var error = Assert.Throws<InputException>(() => FioCase.Parse("small.fio", job));

        Assert.Contains(error.Problems, p => p.File == "small.fio" && p.Line == lineNumber && p.Field == option && p.Message.Contains(message, StringComparison.Ordinal));
        Assert.StartsWith($"small.fio:{lineNumber}:1: {option}: ", error.Problems.First(p => p.Field == option).ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ioengine", "ioengine is not set")]
    [InlineData("direct", "direct is not set")]
    [InlineData("rw", "rw is not set (fio's default is read)")]
    [InlineData("size", "size is not set")]
    public void A_required_option_left_to_fios_default_names_itself_at_the_job_section(string key, string message)
    {
        var job = string.Join('\n', Small.Split('\n').Where(l => !l.StartsWith(key + "=", StringComparison.Ordinal)));

        var error = Assert.Throws<InputException>(() => FioCase.Parse("small.fio", job));

        var problem = Assert.Single(error.Problems, p => p.Field == key);
        Assert.Equal(job.Split('\n').ToList().IndexOf("[small]") + 1, problem.Line);
        Assert.Contains(message, problem.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("; only a comment\n# and another\n", "is empty")]
    [InlineData("[global]\nioengine=libaio\n", "has no job section")]
    [InlineData("ioengine=libaio\n[a]\n", "comes before any section")]
    [InlineData("[a\nrw=write\n", "is not a section header")]
    [InlineData("[a]\nrw=write\n[b]\nrw=write\n", "a second job section (after [a] at line 1) is not supported")]
    [InlineData("include other.fio\n[a]\n", "include is not supported")]
    [InlineData("[a]\nrw=write\0\u0001\u0002", "contains NUL bytes")]
    public void Hostile_or_empty_files_are_input_errors(string text, string message)
    {
        var error = Assert.Throws<InputException>(() => FioCase.Parse("h.fio", text));

        Assert.Contains(error.Problems, p => p.File == "h.fio" && p.Message.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void A_huge_line_or_file_is_refused_before_it_is_used()
    {
        var longLine = Assert.Throws<InputException>(() => FioCase.Parse("h.fio", "[a]\nfilename=" + new string('x', 10_000) + "\n"));
        Assert.Contains("over the limit of 4096 for one line", longLine.Message, StringComparison.Ordinal);

        var big = Path.Combine(_scratch, "big.fio");
        File.WriteAllText(big, "[a]\n" + new string(';', 2 << 20));
        var tooBig = Assert.Throws<InputException>(() => FioCase.Load(big, "big.fio"));
        Assert.Contains("over the limit", tooBig.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Random_bytes_and_random_lines_never_crash_the_reader()
    {
        // Seeded: a failure replays. Every outcome is a case or an InputException, nothing else.
        var random = new Random(9);
        string[] pieces = ["[a]", "[global]", "rw=write", "rw=", "=", "bs=4k", "size=1m", "size=0", "ioengine=libaio", "direct=1", "[", "]", ";harness:", "; harness: repeats=", "iodepth=0x", "0x", "k", "\r", "\t", "é", "\uFFFD", "offset=512"];
        for (var i = 0; i < 2000; i++)
        {
            string text;
            if (i % 2 == 0)
            {
                var bytes = new byte[random.Next(0, 200)];
                random.NextBytes(bytes);
                text = System.Text.Encoding.UTF8.GetString(bytes);
            }
            else
            {
                text = string.Join('\n', Enumerable.Range(0, random.Next(0, 12)).Select(_ => pieces[random.Next(pieces.Length)]));
            }
            try
            {
                FioCase.Parse("r.fio", text);
            }
            catch (InputException)
            {
            }
        }
    }

    [Fact]
    public void Case_catalog_reads_fio_files_by_extension_or_by_content()
    {
        var ini = Path.Combine(_scratch, "job.ini");
        File.WriteAllText(ini, "; a job\n" + Small);
        var catalog = new CaseCatalog(RepoPaths.Cases);

        Assert.Equal("seed", catalog.Find(Path.Combine(RepoPaths.Cases, "seed.fio")).Name);
        Assert.Equal(16, catalog.Find(ini).Workload.IoCount);
        Assert.True(CaseCatalog.IsPath("job.ini"));
        Assert.False(CaseCatalog.IsPath("seed"));
        // The folder's listing stays YAML: seed.fio does not turn up as a second "seed".
        Assert.Single(catalog.LoadAll(), c => c.Name == "seed");
    }

    [Fact]
    public async Task Cases_show_prints_the_case_yaml_and_a_bad_job_exits_2_with_file_and_line()
    {
        var bad = Path.Combine(_scratch, "bad.fio");
        File.WriteAllText(bad, Small.Replace("rw=write", "rw=randrw", StringComparison.Ordinal));

        var (code, stdout, _) = await Cli(["cases", "show", Path.Combine(RepoPaths.Cases, "seed.fio")]);
        var (badCode, _, badErr) = await Cli(["cases", "show", bad]);
        var (runCode, _, runErr) = await Cli(["run", "--machine", "local", "--case", bad, "--cases-dir", RepoPaths.Cases, "--results", Path.Combine(_scratch, "r")]);

        Assert.Equal(0, code);
        Assert.Contains("  pattern: stride\n", stdout, StringComparison.Ordinal);
        Assert.Contains("  count: 8191\n", stdout, StringComparison.Ordinal);
        Assert.Equal(2, badCode);
        Assert.Contains($"{bad}:7:1: rw: rw=randrw is not supported: the harness judges writes; use write or randwrite", badErr, StringComparison.Ordinal);
        Assert.Equal(2, runCode);
        Assert.Contains(":7:1: rw: rw=randrw is not supported", runErr, StringComparison.Ordinal);
    }

    private static Task<(int Code, string Out, string Err)> Cli(string[] args) => InProcessCli.RunAsync(args);

    /// <summary>The small job with <paramref name="line"/> replacing the line of its key, or added at the end; and that line's number.</summary>
    private static (string Job, int Line) WithLine(string line)
    {
        var lines = Small.Split('\n').ToList();
        var key = line.Split('=')[0];
        var at = line.StartsWith(';') ? -1 : lines.FindIndex(l => l.Split('=')[0] == key);
        if (at < 0)
        {
            lines.Add(line);
            at = lines.Count - 1;
        }
        else lines[at] = line;
        return (string.Join('\n', lines), at + 1);
    }
}
