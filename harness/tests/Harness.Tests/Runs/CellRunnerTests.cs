// The cell's outcome says what ran: a machine that hands back fewer iterations than planned,
// without saying why, never makes a PASS.
using System.Runtime.CompilerServices;
using Harness.Cases;
using Harness.Filesystems;
using Harness.Machines;
using Harness.Results;
using Harness.Runs;
using Harness.Tests.Support;
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.Runs;

public sealed class CellRunnerTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("cell-runner-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    /// <summary>A machine that ends every cell at once, having run nothing.</summary>
    private sealed class SilentMachine : IMachine
    {
        public string Kind => "silent";
        public Task<string?> CheckAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(null);
        public MachineFacts Describe() => new(Kind, "", 1, "");

        public async IAsyncEnumerable<IterationRaw> RunCellAsync(CellRequest cell, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Yield();
            yield break;
        }
    }

    [Fact]
    public async Task Machine_that_returns_no_iterations_without_an_error_is_an_error_not_a_pass()
    {
        var @case = new CaseCatalog(RepoPaths.Cases).Find("generic-240");
        var folder = new ResultStore(_scratch).Create("run");
        var input = new CellInput("ext4-generic-240", "ext4", @case.Name, @case.SourceFile, "", @case.Workload.Seed, 3);

        var (cell, cancelled) = await new CellRunner(new SilentMachine(), TimeProvider.System, TextWriter.Null)
            .RunAsync(folder, input, FilesystemCatalog.Find("ext4"), @case, _scratch, 0, CancellationToken.None);

        Assert.False(cancelled);
        Assert.Equal(Outcome.Error, cell.Outcome);
        Assert.Equal(1, cell.Errored);
        Assert.Contains("returned 0 of 3 iteration(s)", cell.Error);
    }
}
