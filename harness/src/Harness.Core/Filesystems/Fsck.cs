// The filesystem checker run read-only on a cell's image after its last read-back: metadata
// damage is part of "breaks nothing". A complaint is a finding; a checker that could not run
// (not installed, operational error) is the machine's ERROR, never a finding.
using CliWrap;
using CliWrap.Buffered;
using Harness.Machines;

namespace Harness.Filesystems;

/// <summary>
/// What the checker said. <see cref="Ran"/> false means it was not run, and <see cref="Output"/>
/// says why (a --dir run has no image; a crashed guest's filesystem is not expected to be clean).
/// </summary>
public sealed partial record FsckResult(string Tool, string CommandLine, int ExitCode, bool Ran, bool Clean, string Output)
{
    /// <summary>Lines of the checker's output kept in the record.</summary>
    public const int MaxLines = 40;

    public static FsckResult NotRun(string why) => new("", "", 0, Ran: false, Clean: false, why);

    /// <summary>Damage found: the iteration carrying this is FAIL.</summary>
    public bool Complained => Ran && !Clean;

    /// <summary>The checker's first line that names a problem (else its first line), for one-line summaries.</summary>
    public string Headline =>
        Output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => Complaint().IsMatch(l))
        ?? Output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? "";

    [System.Text.RegularExpressions.GeneratedRegex(@"error|corrupt|wrong|differ|bad |invalid|mismatch|incorrect|fail|unknown|not (?:found|valid)", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex Complaint();

    /// <summary>The first <see cref="MaxLines"/> lines of a checker's output, with a note when cut.</summary>
    public static string Excerpt(string output)
    {
        var lines = output.ReplaceLineEndings("\n").TrimEnd().Split('\n');
        return lines.Length <= MaxLines
            ? string.Join('\n', lines)
            : string.Join('\n', lines.Take(MaxLines)) + $"\n... ({lines.Length - MaxLines} more lines)";
    }
}

/// <summary>Runs a filesystem's read-only checker on an unmounted image.</summary>
public static class FsckRunner
{
    /// <summary>
    /// Checks <paramref name="imagePath"/>; <paramref name="logArguments"/> name an external log
    /// device when the filesystem keeps one. Throws <see cref="MachineException"/> when the checker
    /// cannot give an answer.
    /// </summary>
    public static async Task<FsckResult> CheckAsync(FilesystemSpec filesystem, string imagePath, CancellationToken cancellationToken,
        IReadOnlyList<string>? logArguments = null)
    {
        ArgumentNullException.ThrowIfNull(filesystem);
        if (filesystem.Fsck is not { } fsck)
            return FsckResult.NotRun($"no read-only checker is known for {filesystem.Name}");
        var arguments = fsck.ArgumentsFor(imagePath, logArguments);
        var commandLine = $"{fsck.Program} {string.Join(' ', arguments)}";
        BufferedCommandResult result;
        try
        {
            result = await Cli.Wrap(fsck.Program).WithArguments(arguments).WithValidation(CommandResultValidation.None)
                .ExecuteBufferedAsync(cancellationToken);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new MachineException($"cannot run the checker '{fsck.Program}': {e.Message} (Debian package {filesystem.DebianPackage}; `make deps` installs it)", e);
        }
        var output = FsckResult.Excerpt(result.StandardOutput + result.StandardError);
        if (fsck.CleanCodes.Contains(result.ExitCode))
            return new FsckResult(fsck.Program, commandLine, result.ExitCode, Ran: true, Clean: true, output);
        if (fsck.ComplaintCodes.Contains(result.ExitCode))
            return new FsckResult(fsck.Program, commandLine, result.ExitCode, Ran: true, Clean: false, output);
        throw new MachineException($"`{commandLine}` could not check the filesystem (exit {result.ExitCode}, an operational error, not a verdict on the filesystem): {output}");
    }
}
