// Case files: every shipped case loads; bad ones get errors that name file, line and field.
using Harness.Cases;
using Harness.Tests.Support;
using Harness.Workload;
using Harness.Yaml;
using Xunit;

namespace Harness.Tests.Cases;

public sealed class CaseLoaderTests
{
    private const string Valid = """
        name: tiny
        description: a small valid case
        catches: nothing in particular
        file:
          size: 1MiB
          preparation: sparse
        fs-block-size: 4096
        io:
          pattern: stride
          size: 4096
          stride: 4096
          start: 512
          count: 16
          queue-depth: 4
        seed: 7
        """;

    [Fact]
    public void Every_shipped_case_loads_and_plans()
    {
        var all = new CaseCatalog(RepoPaths.Cases).LoadAll();

        Assert.Contains(all, c => c.Name == "seed");
        Assert.True(all.Count >= 5, $"expected at least 5 cases, found {all.Count}");
        foreach (var c in all)
        {
            var plan = PlanBuilder.Build(c.Workload, 0);
            Assert.NotEmpty(plan.Ios);
            Assert.All(plan.Ios, io => Assert.True(io.Offset % c.Workload.Alignment == 0 && io.Length % 512 == 0, $"{c.Name}: io {io.Index} misaligned"));
        }
    }

    [Fact]
    public void Seed_case_shares_a_block_between_every_pair_of_neighbouring_ios()
    {
        var seed = new CaseCatalog(RepoPaths.Cases).Find("seed");
        var plan = PlanBuilder.Build(seed.Workload, 0);

        for (var i = 1; i < plan.Ios.Count; i++)
            Assert.Equal((plan.Ios[i - 1].End - 1) / 4096, plan.Ios[i].Offset / 4096);
        Assert.True(seed.Workload.QueueDepth > 2);
    }

    [Fact]
    public void Sizes_accept_binary_suffixes()
    {
        var c = CaseLoader.Parse("tiny.yaml", Valid);

        Assert.Equal(1L << 20, c.Workload.FileSize);
        Assert.Equal(512, c.Workload.Alignment);
        Assert.Equal([ReadbackStep.AfterFsync, ReadbackStep.AfterRemount], c.Readback);
    }

    [Theory]
    [InlineData("unknown_field", "  queue-depth: 4\n", "  queue-depth: 4\n  qd: 8\n")]
    [InlineData("missing_required", "seed: 7", "")]
    [InlineData("bad_size", "size: 1MiB", "size: lots")]
    [InlineData("bad_enum", "preparation: sparse", "preparation: holey")]
    [InlineData("misaligned_start", "start: 512", "start: 100")]
    [InlineData("past_end_of_file", "count: 16", "count: 4000")]
    [InlineData("yaml_syntax", "io:\n", "io: [\n")]
    [InlineData("queue_deeper_than_ios", "queue-depth: 4", "queue-depth: 64")]
    [InlineData("empty_readback", "seed: 7", "seed: 7\nreadback: []")]
    public void Bad_case_files_name_file_line_and_field(string name, string replace, string with)
    {
        var text = Valid.Replace(replace, with, StringComparison.Ordinal);

        var error = Assert.Throws<InputException>(() => CaseLoader.Parse("cases/bad.yaml", text));

        Snapshot.Match(error.Message, name);
    }
}
