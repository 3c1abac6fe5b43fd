// Errors in user input (case files, kernel specs, options): always name where and what.
namespace Harness.Yaml;

/// <summary>One problem in an input file, located to the line and field.</summary>
public sealed record InputProblem(string File, int Line, int Column, string Field, string Message)
{
    public override string ToString() =>
        Line > 0 ? $"{File}:{Line}:{Column}: {Field}: {Message}"
        // An option is both the "file" and the field: name it once.
        : File == Field ? $"{File}: {Message}" : $"{File}: {Field}: {Message}";
}

/// <summary>Bad input: every problem found in one pass, so a user fixes them all at once.</summary>
public sealed class InputException(IReadOnlyList<InputProblem> problems)
    : Exception(string.Join(Environment.NewLine, problems))
{
    public IReadOnlyList<InputProblem> Problems { get; } = problems;

    public InputException(InputProblem problem) : this([problem]) { }
}
