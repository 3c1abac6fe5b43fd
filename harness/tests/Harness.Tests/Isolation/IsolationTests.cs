// Isolation (issue 8, item 6): guests get no network device, and nothing from a case file or a
// kernel spec reaches a shell. Kernel specs and patches are read (git apply reads a patch),
// never executed. Each test plants the hostile text and checks the marker file never appears.
using CliWrap;
using CliWrap.Buffered;
using Harness.Cli;
using Harness.Kernels;
using Harness.Machines.Qemu;
using Harness.Tests.Support;
using Xunit;

namespace Harness.Tests.Isolation;

public sealed class IsolationTests : IDisposable
{
    private readonly string _dir = Directory.CreateDirectory(Path.Combine("/tmp", $"harness-isolation-{Guid.NewGuid():N}")).FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static IReadOnlyList<string> GuestArgs(string dir)
    {
        var kernel = new KernelImage("k", "6.1.0-test", "/k/bzImage", null, "test");
        var options = new QemuOptions(kernel, "/k/base.cpio", Acceleration.Tcg, "test", BlockBackend.Parse("aio=threads,cache=none"), 512L << 20);
        return QemuCommandLine.Build(options, new QemuCommandLine.Paths(
            Path.Combine(dir, "initrd"), Path.Combine(dir, "disk.img"), Path.Combine(dir, "console.log"), Path.Combine(dir, "results.log"), Path.Combine(dir, "alive.log")));
    }

    [Fact]
    public void Guest_command_line_names_no_network_device_and_drops_the_defaults()
    {
        var args = GuestArgs(_dir);

        Assert.Contains("-nodefaults", args);
        Assert.DoesNotContain(args, a => a is "-netdev" or "-net");
        Assert.DoesNotContain(args, a => a.Contains("netdev", StringComparison.Ordinal) || a.Contains("e1000", StringComparison.Ordinal) || a.Contains("virtio-net", StringComparison.Ordinal));
        for (var i = 0; i < args.Count - 1; i++)
            if (args[i] == "-nic") Assert.Equal("none", args[i + 1]);
    }

    [Fact]
    public async Task Real_qemu_with_the_guest_devices_has_no_network_and_would_have_one_without_nodefaults()
    {
        await using (var f = new FileStream(Path.Combine(_dir, "disk.img"), FileMode.Create)) f.SetLength(1 << 20);
        // The guest's own devices, paused before any CPU runs (-S): no kernel needed to ask
        // QEMU's monitor which network devices exist.
        var args = GuestArgs(_dir).ToList();
        foreach (var option in new[] { "-kernel", "-initrd", "-append" })
        {
            var at = args.IndexOf(option);
            args.RemoveRange(at, 2);
        }
        args.AddRange(["-S", "-monitor", "stdio"]);

        var guest = await Network(args);
        // The planted defect: the same devices without -nodefaults get QEMU's default NIC.
        var planted = await Network(args.Where(a => a != "-nodefaults").ToList());

        Assert.DoesNotContain("type=nic", guest, StringComparison.Ordinal);
        Assert.DoesNotContain("type=user", guest, StringComparison.Ordinal);
        Assert.Contains("type=nic", planted, StringComparison.Ordinal);
    }

    private static async Task<string> Network(IReadOnlyList<string> args)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var result = await CliWrap.Cli.Wrap("qemu-system-x86_64").WithArguments(args)
            .WithStandardInputPipe(PipeSource.FromString("info network\nquit\n"))
            .WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync(timeout.Token);
        Assert.True(result.ExitCode == 0, $"qemu exit {result.ExitCode}: {result.StandardError}");
        return result.StandardOutput;
    }

    [Fact]
    public async Task Shell_text_in_a_case_file_is_only_ever_text()
    {
        var marker = Path.Combine(_dir, "pwned");
        var victim = Directory.CreateDirectory(Path.Combine(_dir, "victim")).FullName;
        File.WriteAllText(Path.Combine(victim, "keep"), "keep");
        var hostile = $"$(touch {marker}); rm -rf {victim}; `touch {marker}` && touch {marker} | sh -c 'touch {marker}'";
        var cases = Directory.CreateDirectory(Path.Combine(_dir, "cases")).FullName;
        var generic = File.ReadAllText(Path.Combine(RepoPaths.Cases, "generic-240.yaml"));
        var quoted = "'" + hostile.Replace("'", "''", StringComparison.Ordinal) + "'"; // YAML single-quoted scalar
        File.WriteAllText(Path.Combine(cases, "hostile.yaml"), string.Join('\n', generic.Split('\n').Select(line =>
            line.StartsWith("name:", StringComparison.Ordinal) ? "name: hostile"
            : line.StartsWith("description:", StringComparison.Ordinal) ? "description: " + quoted
            : line.StartsWith("catches:", StringComparison.Ordinal) ? "catches: " + quoted
            : line)));
        File.WriteAllText(Path.Combine(_dir, "badname.yaml"), generic.Replace("name: generic-240", "name: " + quoted, StringComparison.Ordinal));
        var work = Directory.CreateDirectory(Path.Combine(_dir, "work")).FullName;

        var list = await Run("cases", "list", "--cases-dir", cases);
        var show = await Run("cases", "show", "hostile", "--cases-dir", cases);
        var badName = await Run("cases", "show", Path.Combine(_dir, "badname.yaml"));
        var run = await Run("run", "--machine", "local", "--dir", work, "--case", "hostile", "--repeats", "1", "--cases-dir", cases,
            "--results", Path.Combine(_dir, "results"), "--agent", TestAgent.Binary.Path);

        Assert.Equal(0, list.Code);
        Assert.Equal(0, show.Code);
        Assert.Contains($"$(touch {marker})", show.Out, StringComparison.Ordinal); // shown as the text it is
        Assert.Equal(CliApp.ExitUsage, badName.Code);
        Assert.Contains("must be lower-case letters, digits and dashes", badName.Err, StringComparison.Ordinal);
        Assert.True(run.Code == 0, $"exit {run.Code}\n{run.Out}\n{run.Err}");
        Assert.False(File.Exists(marker));
        Assert.Equal("keep", File.ReadAllText(Path.Combine(victim, "keep")));
    }

    [Fact]
    public async Task Kernel_specs_and_patches_are_read_never_executed()
    {
        var marker = Path.Combine(_dir, "pwned");
        var kernels = Directory.CreateDirectory(Path.Combine(_dir, "kernels")).FullName;
        // A "patch" that is really an executable script, under a name full of shell syntax.
        // (No '/' is possible in a file name: the markers are relative, so every likely cwd is checked.)
        var patchName = "$(touch pwned);`touch pwned`;x.patch";
        string[] relativeMarkers = [Path.Combine(kernels, "pwned"), Path.Combine(Environment.CurrentDirectory, "pwned"), "/pwned"];
        var patch = Path.Combine(kernels, patchName);
        File.WriteAllText(patch, $"#!/bin/sh\ntouch {marker}\n");
        File.SetUnixFileMode(patch, (UnixFileMode)Convert.ToInt32("755", 8));
        File.WriteAllText(Path.Combine(kernels, "built.yaml"),
            $"name: built\ndescription: \"$(touch {marker})\"\nsource:\n  debian-source: linux-source-6.1\npatches:\n  - \"{patchName}\"\n");
        File.WriteAllText(Path.Combine(kernels, "image.yaml"),
            $"name: image\ndescription: '`touch {marker}`'\nsource:\n  bzimage: \"$(touch {marker})/bzImage\"\n  modules: \"; touch {marker}\"\n");

        var spec = KernelSpecLoader.Load(Path.Combine(kernels, "built.yaml"));
        var list = await Run("kernels", "list", "--kernels-dir", kernels);
        var fetch = await Run("kernels", "fetch", "image", "--kernels-dir", kernels, "--cache", Path.Combine(_dir, "cache"));

        Assert.Equal(patch, Assert.Single(spec.Build!.Patches));
        Assert.Equal(0, list.Code);
        Assert.Contains(patchName.Replace(".patch", "", StringComparison.Ordinal), list.Out, StringComparison.Ordinal);
        Assert.NotEqual(0, fetch.Code); // no such image: an error, and nothing ran
        Assert.DoesNotContain("   at ", fetch.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(marker));
        Assert.All(relativeMarkers, m => Assert.False(File.Exists(m), m));
    }

    [Fact]
    public void No_source_file_starts_a_shell()
    {
        // External programs run with argument lists (CliWrap); a shell would re-parse user text.
        var sources = Directory.GetFiles(Path.Combine(RepoPaths.Root, "harness", "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal));
        var offenders = sources.Where(f =>
        {
            var text = File.ReadAllText(f);
            return text.Contains("Wrap(\"sh\"", StringComparison.Ordinal) || text.Contains("Wrap(\"bash\"", StringComparison.Ordinal)
                || text.Contains("\"/bin/sh\"", StringComparison.Ordinal) || text.Contains("RunAsync(\"sh\"", StringComparison.Ordinal)
                || text.Contains("UseShellExecute = true", StringComparison.Ordinal);
        }).ToArray();

        Assert.Empty(offenders);
    }

    private static Task<(int Code, string Out, string Err)> Run(params string[] args) => InProcessCli.RunAsync(args);
}
