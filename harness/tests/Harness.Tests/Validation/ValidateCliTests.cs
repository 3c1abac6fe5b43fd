// `harness validate` on the command line: the help states what FIXES costs and the exit codes,
// and a bad verdict option is exit 2 naming the option, before any kernel is fetched or built.
using Harness.Cli;
using Harness.Tests.Support;
using Xunit;

namespace Harness.Tests.Validation;

public sealed class ValidateCliTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("validate-cli-").FullName;

    public ValidateCliTests()
    {
        // A kernel that cannot be fetched or built: should a bad option ever slip past validation,
        // the command fails at once instead of starting a kernel build.
        Directory.CreateDirectory(Path.Combine(_scratch, "kernels"));
        File.WriteAllText(Path.Combine(_scratch, "kernels", "nowhere.yaml"), "name: nowhere\ndescription: no kernel at all\nsource: { bzimage: /nonexistent/bzImage }\n");
    }

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static Task<(int Code, string Out, string Err)> Run(params string[] args) => InProcessCli.RunAsync(args);

    private Task<(int Code, string Out, string Err)> Validate(params string[] more) =>
        Run(["validate", "--kernel", "nowhere", "--with-kernel", "nowhere", "--cases-dir", RepoPaths.Cases,
             "--kernels-dir", Path.Combine(_scratch, "kernels"), "--cache", Path.Combine(_scratch, "cache"), "--results", Path.Combine(_scratch, "results"), .. more]);

    [Fact]
    public async Task Help_states_the_residual_bound_its_cost_and_the_exit_codes()
    {
        var (code, output, _) = await Run("validate", "--help");

        Assert.Equal(0, code);
        Assert.Contains("--max-residual", output);
        Assert.Contains("one-sided 95 % Clopper-Pearson upper bound", output);
        Assert.Contains("59 clean patched runs", output);
        Assert.Contains("--guests", output);
        Assert.Contains("0 FIXES, 1 REGRESSES, 2 usage, 3 infrastructure, 4 INCONCLUSIVE, 5 NO CHANGE, 6 NOT REPRODUCED, 130 interrupted", output);
        Assert.DoesNotContain("--min-with", output);
    }

    [Theory]
    [InlineData(new[] { "--min-with", "10" }, "--min-with", "use --max-residual")]
    [InlineData(new[] { "--max-residual", "0" }, "--max-residual", "strictly between 0 and 1")]
    [InlineData(new[] { "--max-residual", "1.5" }, "--max-residual", "strictly between 0 and 1")]
    [InlineData(new[] { "--max-repeats", "50" }, "--max-repeats", "FIXES needs 59 clean patched runs")]
    [InlineData(new[] { "--guests", "1" }, "--guests", "at least 2 guests")]
    [InlineData(new[] { "--batch", "1" }, "--batch", "each of the 2 guests")]
    [InlineData(new[] { "--alpha", "0" }, "--alpha", "strictly between 0 and 1")]
    [InlineData(new[] { "--case", "," }, "--case", "nothing to validate")]
    public async Task A_bad_verdict_option_is_a_usage_error_naming_it(string[] args, string option, string message)
    {
        var (code, _, err) = await Validate(args);

        Assert.Equal(CliApp.ExitUsage, code);
        Assert.Contains(option, err);
        Assert.Contains(message, err);
    }

    [Fact]
    public async Task Two_pairs_raise_the_clean_runs_fixes_needs_and_a_cap_below_them_is_refused()
    {
        // Two pairs: each residual bound is one-sided 97.5 %, so 5 % takes 72 clean runs, not 59.
        var (code, _, err) = await Validate("--fs", "ext4,xfs", "--max-repeats", "60");

        Assert.Equal(CliApp.ExitUsage, code);
        Assert.Contains("FIXES needs 72 clean patched runs", err);
    }
}
