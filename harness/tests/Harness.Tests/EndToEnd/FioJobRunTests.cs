// A small fio job file run as a case on the host kernel (--machine local, --dir on /tmp): the
// harness plans, writes, reads back and judges it like any case, and every planned IO completes.
using System.Text.Json;
using Harness.Cli;
using Harness.Machines;
using Harness.Results;
using Harness.Tests.Support;
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.EndToEnd;

public sealed class FioJobRunTests : IDisposable
{
    private readonly string _scratch = Directory.CreateDirectory(Path.Combine("/tmp", $"harness-fiojob-{Guid.NewGuid():N}")).FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    // rw=randwrite needs an agent built from this tree (it plans the random-stride pattern), so
    // that run uses the framework-dependent agent beside the tests.
    [Theory]
    [InlineData("write", false)]
    [InlineData("randwrite", true)]
    public async Task A_small_fio_job_passes_on_the_host_kernel_with_every_io_checked(string rw, bool agentFromThisTree)
    {
        var job = Path.Combine(_scratch, $"small-{rw}.fio");
        File.WriteAllText(job, $"""
            ; harness: dirty-free-space=1MiB
            [global]
            ioengine=libaio
            direct=1
            fallocate=truncate
            [small-{rw}]
            rw={rw}
            bs=4k
            offset=512
            size=256k
            iodepth=8
            randseed=11
            """);
        var dir = Directory.CreateDirectory(Path.Combine(_scratch, "fs")).FullName;
        var results = Path.Combine(_scratch, "results");
        var agent = agentFromThisTree ? AgentBinary.Default(null) : TestAgent.Binary;
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var code = await new CliApp(stdout, stderr, TimeProvider.System).RunAsync(
            ["run", "--machine", "local", "--dir", dir, "--case", job, "--repeats", "1",
             "--agent", agent.Path, "--cases-dir", RepoPaths.Cases, "--results", results],
            CancellationToken.None);

        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        var iteration = JsonSerializer.Deserialize<IterationResult>(File.ReadAllText(
            Directory.GetFiles(results, "iteration-000.json", SearchOption.AllDirectories).Single()), ResultStore.Json)!;
        Assert.Equal(Outcome.Pass, iteration.Outcome);
        Assert.Equal(64, iteration.IoCount);
        Assert.Equal(0, iteration.IoErrors);
        Assert.Equal(2, iteration.Passes.Count);
        // 512 + 64 * 4 KiB rounded up to the fs block: 65 blocks of 8 sectors, every one judged.
        Assert.All(iteration.Passes, p => Assert.Equal(65 * 8, p.SectorsChecked));
        Assert.Contains($"small-{rw}", stdout.ToString(), StringComparison.Ordinal);
    }
}
