// Bounds that are checked before YamlDotNet or the runtime sees an input: a file too big to be
// a case file, and System.CommandLine's type names turned into words.
using Harness.Cases;
using Harness.Cli;
using Harness.Yaml;
using Xunit;

namespace Harness.Tests.Hostile;

public sealed class InputBoundsTests
{
    [Fact]
    public void A_case_file_over_one_MiB_is_refused_before_it_is_read()
    {
        var path = Path.Combine(Path.GetTempPath(), $"harness-huge-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "name: huge\ndescription: " + new string('x', YamlFields.MaxBytes) + "\n");
        try
        {
            var error = Assert.Throws<InputException>(() => CaseLoader.Load(path));

            Assert.Contains($"is over the limit of {YamlFields.MaxBytes} bytes for an input file", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("Cannot parse argument '10000000000' for option '--repeats' as expected type 'System.Nullable`1[System.Int32]'.", "--repeats: 10000000000 is out of range (max 2147483647)")]
    [InlineData("Cannot parse argument 'ten' for option '--batch' as expected type 'System.Int32'.", "--batch: 'ten' is not a whole number")]
    [InlineData("Unrecognized command or argument '--bogus'.", "Unrecognized command or argument '--bogus'.")]
    public void Parse_errors_name_no_dotnet_type(string message, string expected)
    {
        Assert.Equal(expected, CliApp.ParseErrorText(message));
    }

    [Theory]
    [InlineData("512MB", "unknown unit MB; use MiB")]
    [InlineData("1GB", "unknown unit GB; use GiB")]
    [InlineData("99999999999TiB", "is out of range (max")]
    [InlineData("lots", "is not a size")]
    public void Sizes_say_what_is_wrong(string text, string expected)
    {
        Assert.False(ByteSize.TryParse(text, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10TiB", 10L << 40)]
    [InlineData("64 MiB", 64L << 20)]
    [InlineData("4096", 4096)]
    public void Sizes_with_units_parse(string text, long bytes)
    {
        Assert.True(ByteSize.TryParse(text, out var parsed, out _));
        Assert.Equal(bytes, parsed);
    }
}
