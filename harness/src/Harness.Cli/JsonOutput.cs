// `--json` on every command that prints a result: the record itself (the same JSON the results
// folder holds, same names and enum words) on stdout, instead of the table, for scripts.
using System.CommandLine;
using System.Text.Json;
using Harness.Results;

namespace Harness.Cli;

public static class JsonOutput
{
    /// <summary>The option, one instance per command (System.CommandLine options belong to one command).</summary>
    public static Option<bool> Option() => new("--json") { Description = "Print the result as JSON (the record's own shape) instead of the table" };

    public static void Write<T>(TextWriter stdout, T value) => stdout.WriteLine(JsonSerializer.Serialize(value, ResultStore.Json));
}
