// Issue 8, load: a 200-cell matrix on the host kernel (the tiny case 200 times under different
// names and seeds, --dir on one ext4 loop image the test mounts) run by the real binary, then
// the host is searched for what it may have left: mounts, loop devices, processes, work files.
using System.Globalization;
using System.Text.Json;
using Harness.Machines;
using Harness.Tests.Support;
using Xunit;

namespace Harness.Tests.Load;

public sealed class LoadTests : IAsyncLifetime
{
    public const int Cells = 200;
    private readonly string _root = Directory.CreateTempSubdirectory("harness-load-").FullName;
    private string Mount => Path.Combine(_root, "mnt");
    private string Cache => Path.Combine(_root, "cache");
    private readonly List<string> _mounted = [];

    public async Task InitializeAsync() => await Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var point in _mounted) await HostCommand.TryRunAsync("umount", [point], "/", CancellationToken.None);
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>
    /// <paramref name="count"/> copies of cases/tiny.yaml named tiny-001, tiny-002, ... each with its own
    /// seed (so every cell writes its own data); returns the folder and the names, for --cases-dir and --case.
    /// </summary>
    public static (string Folder, string[] Names) TinyCases(string parent, int count)
    {
        var folder = Directory.CreateDirectory(Path.Combine(parent, "cases")).FullName;
        var tiny = File.ReadAllText(Path.Combine(RepoPaths.Cases, "tiny.yaml"));
        var names = new string[count];
        for (var i = 0; i < count; i++)
        {
            names[i] = $"tiny-{i + 1:D3}";
            var text = tiny.Replace("name: tiny\n", $"name: {names[i]}\n", StringComparison.Ordinal)
                           .Replace("seed: 64\n", $"seed: {1000 + i}\n", StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(folder, names[i] + ".yaml"), text);
        }
        return (folder, names);
    }

    private async Task MountExt4Async(string image, string point, string size)
    {
        Directory.CreateDirectory(point);
        await HostCommand.RunAsync("truncate", ["-s", size, image], CancellationToken.None);
        await HostCommand.RunAsync("mkfs.ext4", ["-F", "-q", image], CancellationToken.None);
        await HostCommand.RunAsync("mount", ["-o", "loop", image, point], CancellationToken.None);
        _mounted.Add(point);
    }

    [Fact]
    public async Task Two_hundred_cells_on_one_mounted_filesystem_all_run_and_leave_nothing_behind()
    {
        var (cases, names) = TinyCases(_root, Cells);
        await MountExt4Async(Path.Combine(_root, "ext4.img"), Mount, "256M");

        var result = await HarnessProcess.RunAsync(
            ["run", "--machine", "local", "--dir", Mount, "--cases-dir", cases, "--case", string.Join(',', names),
             "--results", Path.Combine(_root, "results"), "--agent", TestAgent.AotPath(Cache)],
            Cache, TimeSpan.FromMinutes(10));

        Assert.True(result.ExitCode == 0, result.ToString());
        var run = Directory.GetDirectories(Path.Combine(_root, "results")).Single();
        using var record = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(run, "run.json")));
        var cells = record.RootElement.GetProperty("cells").EnumerateArray().ToArray();
        Assert.Equal(Cells, cells.Length);
        Assert.Equal("pass", record.RootElement.GetProperty("outcome").GetString());
        Assert.False(record.RootElement.GetProperty("interrupted").GetBoolean());
        // The work really happened in every cell: all 64 IOs, no IO error, every sector judged.
        foreach (var name in names)
        {
            var folder = Path.Combine(run, "cells", $"ext4-{name}");
            using var iteration = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(folder, "iteration-000.json")));
            var it = iteration.RootElement;
            Assert.Equal("pass", it.GetProperty("outcome").GetString());
            Assert.Equal(64, it.GetProperty("ioCount").GetInt32());
            Assert.Equal(0, it.GetProperty("ioErrors").GetInt32());
            var pass = it.GetProperty("passes").EnumerateArray().Single();
            Assert.Equal("after-fsync", pass.GetProperty("pass").GetString());
            Assert.Equal(1024, pass.GetProperty("sectorsChecked").GetInt32());
        }

        var leaks = await Leaks.UnderAsync(_root, Path.Combine(Cache, "work"), Mount);
        Assert.True(leaks.Count == 0, "left behind:\n" + string.Join('\n', leaks));
        // Nothing of the harness's in the user's folder either (ext4's own lost+found only).
        Assert.Equal(["lost+found"], Directory.GetFileSystemEntries(Mount).Select(Path.GetFileName));
    }

    [Fact]
    public async Task The_leak_check_finds_a_planted_mount_loop_device_process_and_work_file()
    {
        var work = Path.Combine(Cache, "work", "20261126-000000-local-1", "ext4-tiny");
        var planted = Path.Combine(work, "mnt");
        await MountExt4Async(Path.Combine(work, "disk.img"), planted, "64M");
        using var sleeper = System.Diagnostics.Process.Start("sh", ["-c", "sleep 60; true", "qemu-stand-in", work]); // "; true": dash would exec sleep and drop the args

        try
        {
            var leaks = await Leaks.UnderAsync(_root, Path.Combine(Cache, "work"));

            Assert.Contains(leaks, l => l.StartsWith($"mount: /dev/loop", StringComparison.Ordinal) && l.Contains(planted, StringComparison.Ordinal));
            Assert.Contains(leaks, l => l.StartsWith("loop device: ", StringComparison.Ordinal) && l.Contains("disk.img", StringComparison.Ordinal));
            Assert.Contains(leaks, l => l.StartsWith("process: " + sleeper.Id.ToString(CultureInfo.InvariantCulture) + " ", StringComparison.Ordinal));
            Assert.Contains(leaks, l => l == $"work folder entry: {Path.Combine(work, "disk.img")}");
            // The test's own --dir mount is not a leak.
            Assert.DoesNotContain(await Leaks.UnderAsync(_root, Path.Combine(_root, "none"), planted), l => l.StartsWith("mount:", StringComparison.Ordinal));
        }
        finally
        {
            sleeper.Kill();
            await sleeper.WaitForExitAsync();
        }
    }
}
