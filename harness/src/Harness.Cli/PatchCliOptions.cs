// --patch and --patch-range as `run` and `kernels build` take them (validate has its own wording):
// a series of files or mboxes, and git ranges, read into one PatchSeries and put on top of a spec.
using System.CommandLine;
using Harness.Kernels;
using Harness.Yaml;

namespace Harness.Cli;

/// <summary>The two options of a patch series, one instance per command.</summary>
internal sealed class PatchCliOptions(string what)
{
    public Option<string[]> Patch { get; } = new("--patch")
    {
        Description = $"{what}; a series: repeat it or give a comma list (applied in order), or an mbox (applied like git am: by [PATCH n/m], the 0/m cover letter skipped)",
    };

    public Option<string[]> Range { get; } = new("--patch-range") { Description = "A series from a git tree, TREE:A..B (the commits after A up to B, format-patch'd), applied after any --patch" };

    public IEnumerable<Option> All => [Patch, Range];

    public bool Given(ParseResult parse) => Files(parse).Count + Ranges(parse).Count > 0;

    private IReadOnlyList<string> Files(ParseResult parse) => PatchSeriesReader.SplitList(parse.GetValue(Patch) ?? []);

    private IReadOnlyList<string> Ranges(ParseResult parse) => PatchSeriesReader.SplitList(parse.GetValue(Range) ?? []);

    /// <summary>The spec with the series on top, or the spec itself when no patch was given. Bad input names the option or the message.</summary>
    public async Task<KernelSpec> ApplyAsync(ParseResult parse, KernelSpec spec, string cacheDirectory, CancellationToken cancellationToken)
    {
        if (!Given(parse)) return spec;
        if (spec.Build is null)
            throw new InputException(new InputProblem("--patch", 0, 0, "--patch", $"kernel {spec.Name} is not built from source, so no patch can be applied; pick a spec with debian-source or git"));
        var series = await new PatchSeriesReader(Path.Combine(cacheDirectory, "patches")).ReadAsync(Files(parse), Ranges(parse), cancellationToken);
        return spec with { Build = spec.Build.WithSeries(series) };
    }
}
