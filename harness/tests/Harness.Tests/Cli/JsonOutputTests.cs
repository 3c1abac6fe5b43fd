// `--json` on the commands that print a result: the record itself on stdout, parseable, with
// the same content the table shows (and, for run, the run.json on disk).
using System.Text.Json;
using Harness.Cases;
using Harness.Cli;
using Harness.Results;
using Harness.Tests.Support;
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.Cli;

public sealed class JsonOutputTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("harness-json-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static Task<(int Code, string Out, string Err)> Run(params string[] args) => InProcessCli.RunAsync(args);

    [Fact]
    public async Task Cases_list_and_show_print_the_validated_cases()
    {
        var (code, output, err) = await Run("cases", "list", "--json", "--cases-dir", RepoPaths.Cases);

        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        var names = doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("name").GetString()).ToArray();
        Assert.Equal(new CaseCatalog(RepoPaths.Cases).LoadAll().Select(c => c.Name), names);
        Assert.Equal(0, doc.RootElement.GetProperty("broken").GetArrayLength());

        (code, output, err) = await Run("cases", "show", "seed", "--json", "--cases-dir", RepoPaths.Cases);

        Assert.True(code == 0, err);
        var seed = JsonSerializer.Deserialize<CaseSpec>(output, ResultStore.Json)!;
        Assert.Equal(new CaseCatalog(RepoPaths.Cases).Find("seed").Workload, seed.Workload);
    }

    [Fact]
    public async Task Kernels_list_prints_each_spec_with_its_source_fields()
    {
        var (code, output, err) = await Run("kernels", "list", "--json", "--kernels-dir", Path.Combine(RepoPaths.Root, "kernels"));

        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        var cloud = doc.RootElement.EnumerateArray().Single(k => k.GetProperty("name").GetString() == "debian-6.1-cloud");
        Assert.StartsWith("linux-image-6.1.0-", cloud.GetProperty("sourceDetail").GetProperty("packagePattern").GetString());
        Assert.StartsWith("debian linux-image-6.1.0-", cloud.GetProperty("source").GetString());
    }

    [Fact]
    public async Task Cache_status_prints_the_inventory()
    {
        var cache = Directory.CreateDirectory(Path.Combine(_scratch, "cache")).FullName;
        var (code, output, err) = await Run("cache", "status", "--json", "--cache", cache, "--results", Path.Combine(_scratch, "results"));

        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(cache, doc.RootElement.GetProperty("cacheRoot").GetString());
        Assert.Equal(0, doc.RootElement.GetProperty("entries").GetArrayLength());
    }

    [Fact]
    public async Task Run_prints_the_run_record_it_wrote()
    {
        Assert.True(Environment.IsPrivilegedProcess, "a local run needs root (loop mounts); run `make test` as root");
        var (code, output, err) = await Run("run", "--fs", "ext4", "--case", "tiny", "--repeats", "1", "--json", "--agent", TestAgent.Binary.Path,
            "--cases-dir", RepoPaths.Cases, "--results", Path.Combine(_scratch, "results"), "--cache", Path.Combine(_scratch, "cache"), "--image-size", "64MiB");

        Assert.True(code == 0, $"exit {code}\n{output}\n{err}");
        var printed = JsonSerializer.Deserialize<RunRecord>(output, ResultStore.Json)!;
        var folder = Assert.Single(Directory.GetDirectories(Path.Combine(_scratch, "results")));
        Assert.Equal(File.ReadAllText(Path.Combine(folder, "run.json")).Trim(), output.Trim());
        Assert.Equal(Outcome.Pass, printed.Outcome);
        Assert.Equal(1, Assert.Single(printed.Cells).Passed);
    }
}
