// One way to read a time on the command line (Yaml/Duration.cs): 600, 10m, 2h, 1h30m. Every
// option that takes a time is made here, so they all accept the same spellings and fail alike.
using System.CommandLine;
using Harness.Yaml;

namespace Harness.Cli;

public static class DurationOption
{
    /// <summary>An optional duration (null when not given).</summary>
    public static Option<TimeSpan?> Optional(string name, string description, TimeSpan? minimum = null) =>
        new(name) { Description = description + " (600, 10m, 2h, 1h30m)", CustomParser = r => Parse(name, r, minimum) };

    /// <summary>A duration with a default.</summary>
    public static Option<TimeSpan> WithDefault(string name, string description, TimeSpan value, TimeSpan? minimum = null) =>
        new(name)
        {
            Description = description + $" (600, 10m, 2h, 1h30m; default {Duration.Format(value)})",
            DefaultValueFactory = _ => value,
            CustomParser = r => Parse(name, r, minimum) ?? value,
        };

    private static TimeSpan? Parse(string name, System.CommandLine.Parsing.ArgumentResult result, TimeSpan? minimum)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : null;
        if (!Duration.TryParse(text, out var value))
        {
            result.AddError($"{name}: '{text}' is not a duration between 1s and {Duration.Format(Duration.Max)}; use {Duration.Expected}");
            return null;
        }
        if (minimum is { } min && value < min)
        {
            result.AddError($"{name}: {Duration.Format(value)} is too short; at least {Duration.Format(min)}");
            return null;
        }
        return value;
    }
}
