// A fake `qemu-system-x86_64` we own, for testing the QEMU machine's own logic (timeouts,
// panic detection, killing, cancel) without booting anything. Each instance is a script
// with its behaviour baked in, so parallel tests never share state. It finds the console and
// results files in its arguments exactly as QEMU's file chardevs would.
namespace Harness.Tests.Qemu;

public sealed class FakeQemu : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fake-qemu-").FullName;

    /// <param name="behaviour">Shell lines run after argument parsing; $CONSOLE, $RESULTS and $ALIVE are the three files.</param>
    public FakeQemu(string behaviour)
    {
        Path = System.IO.Path.Combine(_dir, "qemu-system-x86_64");
        PidFile = System.IO.Path.Combine(_dir, "pid");
        File.WriteAllText(Path, $$"""
            #!/bin/bash
            echo $$ > '{{PidFile}}'
            for a in "$@"; do
              case $a in
                file,id=console,path=*) CONSOLE=${a#file,id=console,path=} ;;
                file,id=results,path=*) RESULTS=${a#file,id=results,path=} ;;
                file,id=alive,path=*) ALIVE=${a#file,id=alive,path=} ;;
              esac
            done
            : > "$CONSOLE"; : > "$RESULTS"; : > "$ALIVE"
            {{behaviour}}

            """);
        File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public string Path { get; }

    public string PidFile { get; }

    public bool StillRunning()
    {
        if (!File.Exists(PidFile)) return false;
        var pid = File.ReadAllText(PidFile).Trim();
        return Directory.Exists($"/proc/{pid}") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    public const string Boot = "echo 'HARNESS-BOOTED cpus=2 kernel=fake' >> \"$CONSOLE\"";

    /// <summary>Shell lines that write the disk counters to the alive port every 0.2 s for <paramref name="seconds"/>: moving, or stuck at one value.</summary>
    public static string Alive(double seconds, bool moving) =>
        $"for i in $(seq 1 {(int)(seconds * 5)}); do echo \"{(moving ? "$i $i" : "7 7")}\" >> \"$ALIVE\"; sleep 0.2; done";
}
