// Case schema 2: the ops: list. Old (schema 1) files still load unchanged; a schema-2 case
// renders and loads back to the same spec; every refusal names the file, the item's line and
// its field, including a buffered write beside direct writes that may be in flight.
using Harness.Cases;
using Harness.Explore;
using Harness.Workload;
using Harness.Yaml;
using Xunit;

namespace Harness.Tests.Cases;

public sealed class CaseOpsTests
{
    // IOs i at 512 + 4096 i, 4 KiB each, 4 in flight: IO 7 ends at 33280, so pages from 36864 on are IO 8+.
    private const string Schema1 = """
        name: ops
        description: a case with ops
        catches: nothing in particular
        file:
          size: 256KiB
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

    private const string Ops = """
        ops:
          - op: punch-hole
            after-io: 3
            offset: 4096
            length: 8192
          - op: zero-range
            after-io: 5
            offset: 16384
            length: 4096
          - op: fallocate
            after-io: 5
            offset: 0
            length: 65536
          - op: fallocate-keep-size
            after-io: 6
            offset: 65536
            length: 4096
          - op: buffered-write
            after-io: 8
            offset: 131072
            length: 8192
          - op: fsync
            after-io: 9
          - op: truncate
            after-io: 10
            size: 32768
          - op: truncate
            after-io: 10
            size: 256KiB
        """;

    private static string Schema2(string ops = Ops) => "schema: 2\n" + Schema1 + "\n" + ops;

    [Fact]
    public void Schema_1_file_without_ops_loads_as_before()
    {
        var c = CaseLoader.Parse("cases/ops.yaml", Schema1);

        Assert.Empty(c.Workload.Ops);
        Assert.DoesNotContain("schema", CaseYaml.Render(c), StringComparison.Ordinal);
    }

    [Fact]
    public void Schema_2_ops_load_in_order_and_round_trip_through_the_rendered_yaml()
    {
        var c = CaseLoader.Parse("cases/ops.yaml", Schema2());

        Assert.Equal(
            [OpKind.PunchHole, OpKind.ZeroRange, OpKind.Fallocate, OpKind.FallocateKeepSize, OpKind.BufferedWrite, OpKind.Fsync, OpKind.Truncate, OpKind.Truncate],
            c.Workload.Ops.Select(op => op.Kind));
        Assert.Equal(new PlannedOp(0, OpKind.PunchHole, 3, 4096, 8192), c.Workload.Ops[0]);
        Assert.Equal(new PlannedOp(7, OpKind.Truncate, 10, 256 * 1024, 0), c.Workload.Ops[7]);
        var (again, text) = CaseYaml.RoundTrip(c, "cases/ops.yaml");
        Assert.StartsWith("schema: 2\n", text, StringComparison.Ordinal);
        Assert.Equal(c.Workload, again.Workload);
        // The agent request carries the ops: JSON (source-generated, NativeAOT) keeps them.
        var json = System.Text.Json.JsonSerializer.Serialize(new AgentRequest(AgentPhase.Write, "/d", "f", c.Workload, 0, false), AgentJsonContext.Default.AgentRequest);
        Assert.Equal(c.Workload, System.Text.Json.JsonSerializer.Deserialize(json, AgentJsonContext.Default.AgentRequest)!.Spec);
    }

    [Theory]
    [InlineData("- op: punch-hole\n    after-io: 3\n    offset: 4096\n    length: 8192", "- op: punch\n    after-io: 3\n    offset: 4096\n    length: 8192", 2, "ops[0].op", "'punch' is not one of: buffered-write, fallocate")]
    [InlineData("after-io: 3\n", "after-io: 16\n", 3, "ops[0].after-io", "16 is out of range (min 0, max 15)")]
    [InlineData("offset: 4096\n    length: 8192", "offset: 4000\n    length: 8192", 4, "ops[0].offset", "4000 must be a multiple of 512")]
    [InlineData("offset: 16384\n    length: 4096", "offset: 16384\n    length: 1MiB", 9, "ops[1].length", "past file.size (262144)")]
    [InlineData("- op: fsync\n    after-io: 9", "- op: fsync\n    after-io: 9\n    length: 512", 24, "ops[5].length", "unknown field; valid fields here: after-io, op")]
    [InlineData("size: 32768", "size: 300000", 26, "ops[6].size", "must be a multiple of 512 within file.size (262144)")]
    // IO 8 is at [33280, 37376): a buffered write at 36864 after IO 5 shares its page while it may be in flight.
    [InlineData("after-io: 8\n    offset: 131072", "after-io: 5\n    offset: 36864", 20, "ops[4].offset", "direct IO 8 [33280, 37376), which may be in flight after IO 5 is submitted (queue depth 4)")]
    public void Bad_ops_name_the_item_line_and_field(string replace, string with, int line, string field, string message)
    {
        var text = Schema2(Ops.Replace(replace, with, StringComparison.Ordinal));

        var error = Assert.Throws<InputException>(() => CaseLoader.Parse("cases/ops.yaml", text));

        var problem = Assert.Single(error.Problems);
        Assert.Equal(("cases/ops.yaml", field), (problem.File, problem.Field));
        Assert.Equal(line + 16, problem.Line); // the ops list starts after schema and the 16 lines of the schema-1 part
        Assert.Contains(message, problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ops_in_a_schema_1_file_are_refused_with_the_fix()
    {
        var error = Assert.Throws<InputException>(() => CaseLoader.Parse("cases/ops.yaml", Schema1 + "\n" + Ops));

        var problem = Assert.Single(error.Problems);
        Assert.Equal("ops", problem.Field);
        Assert.Contains("add 'schema: 2'", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_schema_is_refused()
    {
        var error = Assert.Throws<InputException>(() => CaseLoader.Parse("cases/ops.yaml", "schema: 3\n" + Schema1));

        Assert.Equal("schema", Assert.Single(error.Problems).Field);
    }

    [Fact]
    public void Buffered_write_next_to_reaped_direct_writes_only_is_accepted()
    {
        // After IO 12 is submitted, IOs 0..8 were reaped (queue depth 4): a page of IO 3's is fine.
        var c = CaseLoader.Parse("cases/ops.yaml", Schema2("ops:\n  - op: buffered-write\n    after-io: 12\n    offset: 12288\n    length: 4096\n"));

        Assert.Equal(OpKind.BufferedWrite, Assert.Single(c.Workload.Ops).Kind);
    }

    [Fact]
    public void Ops_with_an_extending_file_are_refused()
    {
        var text = Schema2().Replace("preparation: sparse", "preparation: extending", StringComparison.Ordinal);

        var error = Assert.Throws<InputException>(() => CaseLoader.Parse("cases/ops.yaml", text));

        Assert.Contains(error.Problems, p => p.Field == "ops" && p.Message.Contains("prepared file", StringComparison.Ordinal));
    }
}
