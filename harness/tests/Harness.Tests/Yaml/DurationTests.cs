// Times on the command line: one grammar (600, 10m, 2h, 1h30m) for --budget and every QEMU timeout.
using Harness.Yaml;
using Xunit;

namespace Harness.Tests.Yaml;

public sealed class DurationTests
{
    [Theory]
    [InlineData("600", 600)]
    [InlineData("90s", 90)]
    [InlineData("10m", 600)]
    [InlineData("2h", 7200)]
    [InlineData("1h30m", 5400)]
    [InlineData("1.5h", 5400)]
    [InlineData("1d", 86400)]
    [InlineData(" 45 ", 45)]
    public void Seconds_and_suffixed_numbers_are_durations(string text, double seconds)
    {
        Assert.True(Duration.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromSeconds(seconds), value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("0s")]
    [InlineData("-5")]
    [InlineData("10x")]
    [InlineData("h")]
    [InlineData("2h 3m")]
    [InlineData("10m2")]
    [InlineData("366d")]
    [InlineData("99999999999999999999999999999")]
    public void Anything_else_is_not_a_duration(string text) => Assert.False(Duration.TryParse(text, out _));

    [Theory]
    [InlineData(600, "10m")]
    [InlineData(5400, "1h30m")]
    [InlineData(90, "1m30s")]
    [InlineData(7200, "2h")]
    public void Format_reads_back_as_the_same_duration(double seconds, string text)
    {
        Assert.Equal(text, Duration.Format(TimeSpan.FromSeconds(seconds)));
        Assert.True(Duration.TryParse(text, out var back));
        Assert.Equal(TimeSpan.FromSeconds(seconds), back);
    }
}
