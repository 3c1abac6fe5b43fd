// The regression suite of issue 8's hostile inputs: each folder under inputs/ is a command line
// with the exit code and message it must get (inputs/README.md). One data-driven test runs the
// real CLI in-process over all of them and also asserts that no stack trace reaches the user.
using Harness.Cli;
using Harness.Tests.Support;
using Xunit;

namespace Harness.Tests.Hostile;

public sealed class HostileInputTests
{
    private static readonly string Inputs = Path.Combine(RepoPaths.Root, "harness", "tests", "Harness.Tests", "Hostile", "inputs");

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var dir in Directory.GetDirectories(Inputs).Order(StringComparer.Ordinal)) data.Add(Path.GetFileName(dir));
        return data;
    }

    [Fact]
    public void Every_input_folder_has_args_and_expect()
    {
        var folders = Directory.GetDirectories(Inputs);
        Assert.True(folders.Length >= 25, $"only {folders.Length} hostile inputs");
        Assert.All(folders, f =>
        {
            Assert.True(File.Exists(Path.Combine(f, "args")), $"{f}: no args");
            Assert.True(int.TryParse(File.ReadLines(Path.Combine(f, "expect")).First(), out _), $"{f}: expect must start with the exit code");
        });
    }

    [Theory]
    [MemberData(nameof(Names))]
    public async Task Hostile_input_gets_its_exit_code_and_one_line_message_without_a_stack_trace(string name)
    {
        if (name == "ocfs2-on-a-host-without-it" && await HostHasAsync("ocfs2")) return; // the input needs a host without it
        var here = Directory.CreateTempSubdirectory($"hostile-{name}-").FullName;
        var tmp = Directory.CreateTempSubdirectory($"hostile-tmp-{name}-").FullName;
        try
        {
            Copy(Path.Combine(Inputs, name), here);
            string Fill(string text) => text
                .Replace("{here}", here, StringComparison.Ordinal).Replace("{tmp}", tmp, StringComparison.Ordinal)
                .Replace("{cases}", RepoPaths.Cases, StringComparison.Ordinal).Replace("{agent}", TestAgent.Binary.Path, StringComparison.Ordinal);
            var args = File.ReadAllLines(Path.Combine(here, "args")).Where(l => l.Length > 0).Select(Fill).ToArray();
            var expect = File.ReadAllLines(Path.Combine(here, "expect")).Where(l => l.Length > 0).Select(Fill).ToArray();

            var stdout = new StringWriter();
            var stderr = new StringWriter();
            var code = await new CliApp(stdout, stderr, TimeProvider.System).RunAsync(args, CancellationToken.None);

            var output = stdout + "\n" + stderr;
            Assert.True(int.Parse(expect[0], System.Globalization.CultureInfo.InvariantCulture) == code, $"{name}: exit {code}\n{output}");
            foreach (var text in expect.Skip(1)) Assert.True(output.Contains(text, StringComparison.Ordinal), $"{name}: no '{text}' in\n{output}");
            Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", output, StringComparison.Ordinal);
            Assert.DoesNotContain("System.", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(here, recursive: true);
            Directory.Delete(tmp, recursive: true);
        }
    }

    [Fact]
    public async Task Debug_flag_adds_the_stack_to_the_one_line()
    {
        var stderr = new StringWriter();
        var code = await new CliApp(TextWriter.Null, stderr, TimeProvider.System).RunAsync(
            ["run", "--cases-dir", RepoPaths.Cases, "--results", "/proc/x", "--debug"], CancellationToken.None);

        Assert.Equal(CliApp.ExitUsage, code);
        Assert.StartsWith("harness: --results: /proc/x is under /proc", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("   at ", stderr.ToString(), StringComparison.Ordinal);
    }

    private static void Copy(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            File.Copy(file, target);
            // Fake agents are scripts: executable wherever the checkout left their mode.
            if (file.EndsWith(".sh", StringComparison.Ordinal))
                File.SetUnixFileMode(target, File.GetUnixFileMode(target) | UnixFileMode.UserExecute);
        }
    }

    private static async Task<bool> HostHasAsync(string fs)
    {
        if ((await File.ReadAllTextAsync("/proc/filesystems")).Split('\n').Any(l => l.EndsWith("\t" + fs, StringComparison.Ordinal))) return true;
        var (code, _) = await Harness.Machines.HostCommand.TryRunAsync("modprobe", ["-n", fs], "/", CancellationToken.None);
        return code == 0;
    }
}
