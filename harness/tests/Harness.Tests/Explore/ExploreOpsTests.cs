// Ops in the explorer (case schema 2): the generator draws every op kind (each a case the
// loader accepts), ops come from their own stream so a seed's writes are unchanged, and the
// shrinker can drop op kinds, every such candidate a valid case.
using Harness.Cases;
using Harness.Explore;
using Harness.Filesystems;
using Harness.Workload;
using Xunit;

namespace Harness.Tests.Explore;

public sealed class ExploreOpsTests
{
    private const long Image = 512L << 20;

    [Fact]
    public void Generator_draws_every_op_kind_in_valid_cases_and_leaves_the_writes_as_they_were()
    {
        var ext4 = FilesystemCatalog.Find("ext4");
        var withOps = new WorkloadGenerator(5, ext4, Image);
        var without = new WorkloadGenerator(5, ext4, Image, ops: false);

        var drawn = Enumerable.Range(0, 400).Select(withOps.Generate).ToList();

        var kinds = drawn.SelectMany(w => w.Case.Workload.Ops).Select(op => op.Kind).ToHashSet();
        Assert.Equal(Enum.GetValues<OpKind>().ToHashSet(), kinds);
        Assert.InRange(drawn.Count(w => w.Case.Workload.Ops.Count > 0), 120, 280);
        Assert.All(drawn.Where(w => w.Case.Workload.Ops.Count > 0), w =>
        {
            Assert.StartsWith("schema: 2", w.Yaml.Split('\n').First(l => !l.StartsWith('#')), StringComparison.Ordinal);
            Assert.Contains("/ops:", w.Shape, StringComparison.Ordinal);
            Assert.Equal(w.Case.Workload, CaseLoader.Parse("x.yaml", w.Yaml).Workload);
        });
        Assert.All(drawn.Take(50), w => Assert.Equal(without.Generate(w.Index).Case.Workload, w.Case.Workload with { Ops = [] }));
    }

    [Fact]
    public void Shrinker_offers_no_ops_and_one_kind_less_as_valid_cases()
    {
        var c = CaseLoader.Parse("cases/ops.yaml", """
            schema: 2
            name: ops
            description: d
            catches: c
            file:
              size: 256KiB
              preparation: sparse
            fs-block-size: 4096
            io:
              pattern: stride
              size: 4096
              start: 512
              count: 16
              queue-depth: 4
            seed: 7
            ops:
              - op: punch-hole
                after-io: 14
                offset: 4096
                length: 8192
              - op: truncate
                after-io: 15
                size: 200KiB
            """);

        var candidates = Shrinker.Candidates(c).ToList();

        Assert.Contains(candidates, x => x.Change == "ops -> none" && x.Candidate.Workload.Ops.Count == 0);
        var noPunch = Assert.Single(candidates, x => x.Change == "ops -> without punch-hole").Candidate;
        Assert.Equal([new PlannedOp(0, OpKind.Truncate, 15, 200 * 1024, 0)], noPunch.Workload.Ops);
        // Two IOs: the ops now wait for IO 1, and the fitted file still holds the truncate's size.
        var two = Assert.Single(candidates, x => x.Change == "io.count 16 -> 2").Candidate.Workload;
        Assert.All(two.Ops, op => Assert.Equal(1, op.AfterIo));
        Assert.True(two.FileSize >= 200 * 1024);
    }
}
