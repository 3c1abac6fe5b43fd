// The swarm's result channel without an engine: framed messages survive being cut into log
// lines and interleaved with other tasks' lines, a damaged line is an error (never a silently
// lost iteration), task slots map to shards (slot 0 comes as the node id), shards are cut
// round-robin, and a guest failure crosses the log as the same exception kind.
using Harness.Machines;
using Harness.Machines.Qemu;
using Harness.Machines.Swarm;
using Harness.Workload;
using Xunit;

namespace Harness.Tests.Swarm;

public sealed class SwarmFrameTests
{
    private static IterationRaw BigIteration(int iteration)
    {
        // Random-looking IO records: gzip cannot shrink them below one log line.
        var random = new Random(iteration);
        var ios = Enumerable.Range(0, 4000).Select(i => new IoRecord(i, random.NextInt64(1L << 30), random.NextInt64(1L << 30), 4096, random.NextInt64(), random.NextInt64())).ToArray();
        return new IterationRaw(iteration, new AgentReport(AgentPhase.Write, "6.1.0-test", 2, ios, [], 1.5, null), null, null) { Seconds = 3.25 };
    }

    [Fact]
    public void Messages_cut_into_many_lines_and_interleaved_with_another_task_reassemble_exactly()
    {
        var first = new StringWriter();
        var second = new StringWriter();
        new SwarmFrameWriter(first).Write(new SwarmMessage(0, SwarmMessage.IterationKind) { CellId = "ext4-seed", Iteration = BigIteration(7) });
        new SwarmFrameWriter(second).Write(new SwarmMessage(1, SwarmMessage.ShardDoneKind));
        var a = first.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var b = second.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(a.Length > 2, $"expected a multi-line frame, got {a.Length} line(s)");
        Assert.All(a, line => Assert.True(line.Length < 16 * 1024, "a frame line must stay below Docker's 16 KiB line split"));

        var reader = new SwarmFrameReader();
        var got = new List<SwarmMessage>();
        // The other task's line arrives in the middle, then the rest in reverse order, with log prefixes and noise.
        var lines = new[] { a[0], "2026-11-27T02:00:00Z shard 1: progress text", "prefix | " + b[0] }.Concat(a.Skip(1).Reverse());
        foreach (var line in lines)
            if (reader.Accept(line) is { } message) got.Add(message);

        Assert.Equal(2, got.Count);
        Assert.Equal(SwarmMessage.ShardDoneKind, got[0].Kind);
        Assert.Equal(1, got[0].Shard);
        var iteration = got[1].Iteration!;
        Assert.Equal(7, iteration.Iteration);
        Assert.Equal(3.25, iteration.Seconds);
        Assert.Equal(BigIteration(7).Write!.Ios, iteration.Write!.Ios);
        Assert.Equal(0, reader.Unfinished);
    }

    [Fact]
    public void A_retried_task_starts_its_own_sequence_and_never_completes_the_first_attempts_half_message()
    {
        var killed = new StringWriter();
        new SwarmFrameWriter(killed).Write(new SwarmMessage(0, SwarmMessage.IterationKind) { CellId = "c", Iteration = BigIteration(1) });
        var retry = new StringWriter();
        new SwarmFrameWriter(retry).Write(new SwarmMessage(0, SwarmMessage.IterationKind) { CellId = "c", Iteration = BigIteration(1) });

        var reader = new SwarmFrameReader();
        var lines = killed.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var got = lines.Take(lines.Length - 1).Concat(retry.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))
            .Select(reader.Accept).OfType<SwarmMessage>().ToList();

        Assert.Single(got);
        Assert.Equal(1, reader.Unfinished);
    }

    [Fact]
    public void A_damaged_frame_line_is_an_error_not_a_lost_iteration()
    {
        var e = Assert.Throws<MachineException>(() => new SwarmFrameReader().Accept($"{SwarmFrameWriter.Marker} abc x 0 1 AAAA"));
        Assert.Contains("damaged frame line", e.Message);
    }

    [Theory]
    [InlineData("3", "node1", 3)]
    [InlineData("node1", "node1", 0)]
    [InlineData("0", "node1", 0)]
    public void Task_slot_names_the_shard_and_slot_zero_comes_as_the_node_id(string slot, string node, int shard) =>
        Assert.Equal(shard, SwarmTask.ShardOf(slot, node));

    [Fact]
    public void A_slot_that_is_neither_a_number_nor_the_node_is_refused() =>
        Assert.Contains("is not a task slot", Assert.Throws<MachineException>(() => SwarmTask.ShardOf("{{.Task.Slot}}", "node1")).Message);

    [Fact]
    public void Cells_are_dealt_round_robin_and_never_into_more_shards_than_cells()
    {
        var shards = SwarmMachine.Split(["a", "b", "c", "d", "e"], 2);
        Assert.Equal([["a", "c", "e"], ["b", "d"]], shards.Select(s => s.ToArray()).ToArray());
        Assert.Equal(3, SwarmMachine.Split(["a", "b", "c"], 8).Count);
        Assert.Single(SwarmMachine.Split(["a", "b"], 0));
    }

    [Fact]
    public void A_guest_failure_crosses_the_log_as_the_same_kind_with_the_console_copy_named()
    {
        var thrown = new GuestFailureException(GuestFailureKind.KernelPanic, "kernel panic during the write phase", "Kernel panic - not syncing", "/tmp/harness-swarm/logs/c/console.log")
        {
            Warnings = new KernelWarnings(1, ["WARNING: at fs/x.c"]),
        };
        var text = new StringWriter();
        new SwarmFrameWriter(text).Write(new SwarmMessage(2, SwarmMessage.CellEndKind) { CellId = "c", Failure = SwarmFailure.From(thrown) });
        var message = text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(new SwarmFrameReader().Accept).OfType<SwarmMessage>().Single();

        var again = Assert.IsType<GuestFailureException>(message.Failure!.ToException("/results/run/cells/c", "swarm shard 2: "));

        Assert.Equal(GuestFailureKind.KernelPanic, again.Kind);
        Assert.Equal("/results/run/cells/c/console.log", again.ConsoleLog);
        Assert.Equal("Kernel panic - not syncing", again.Excerpt);
        Assert.StartsWith("swarm shard 2: kernel panic during the write phase (console: /results/run/cells/c/console.log)", again.Message);
        Assert.Equal(1, again.Warnings.Count);
        Assert.IsNotType<GuestFailureException>(SwarmFailure.From(new MachineException("mkfs failed")).ToException("/r", ""));
    }
}
