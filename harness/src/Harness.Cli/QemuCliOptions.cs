// The QEMU options `run --machine qemu` and `validate` share, defined once.
using System.CommandLine;
using Harness.Filesystems;
using Harness.Kernels;
using Harness.Machines.Qemu;

namespace Harness.Cli;

public sealed class QemuCliOptions
{
    public Option<string> Accel { get; } = new("--accel") { Description = "qemu: auto (KVM if a probe boot works, else TCG), kvm, or tcg", DefaultValueFactory = _ => "auto" };
    public Option<string> Backend { get; } = new("--backend") { Description = "qemu: test disk backend, aio=threads|native|io_uring,cache=none|writeback|writethrough|directsync|unsafe", DefaultValueFactory = _ => "aio=threads,cache=unsafe" };
    public Option<int> Memory { get; } = new("--memory") { Description = "qemu: guest memory, MiB", DefaultValueFactory = _ => 1024 };
    public Option<int> Cpus { get; } = new("--cpus") { Description = "qemu: guest CPUs", DefaultValueFactory = _ => 2 };
    public Option<TimeSpan> BootTimeout { get; } = DurationOption.WithDefault("--boot-timeout", "qemu: time to the guest's boot marker", TimeSpan.FromSeconds(120));
    public Option<TimeSpan> Deadline { get; } = DurationOption.WithDefault("--deadline", "qemu: time without a result before the cell is stopped (ERROR workload-deadline unless the kernel reported why)", TimeSpan.FromSeconds(600));

    public Option<TimeSpan?> HungTaskTimeout { get; } = DurationOption.Optional("--hung-task-timeout",
        "qemu: the guest's hung_task_timeout_secs, whole seconds; a hung-task report is a CRASH only if the test disk also stood still that long (default 60 under TCG, 30 under KVM)",
        minimum: TimeSpan.FromSeconds(5));

    public Option<bool> Reprobe { get; } = new("--reprobe") { Description = "qemu: probe KVM again with --accel auto, instead of reusing the answer kept in <cache>/kvm-probe.json (kept per host kernel, boot, QEMU binary and KVM device)" };

    public QemuCliOptions()
    {
        Accel.AcceptOnlyFromAmong("auto", "kvm", "tcg");
    }

    /// <summary>The QEMU setup for this command line: every command that boots guests honours --reprobe through it.</summary>
    public QemuSetup Setup(ParseResult parse, string cacheDirectory, TextWriter progress) =>
        new(cacheDirectory, progress) { Reprobe = parse.GetValue(Reprobe) };

    public IEnumerable<Option> All => [Accel, Reprobe, Backend, Memory, Cpus, BootTimeout, Deadline, HungTaskTimeout];

    public async Task<QemuOptions> PrepareAsync(ParseResult parse, QemuSetup setup, KernelImage kernel, IReadOnlyList<FilesystemSpec> filesystems,
        string? agent, long imageBytes, CancellationToken cancellationToken)
    {
        var options = await setup.PrepareAsync(kernel, filesystems, agent, parse.GetValue(Accel)!, BlockBackend.Parse(parse.GetValue(Backend)!), imageBytes,
            parse.GetValue(Cpus), parse.GetValue(Memory), parse.GetValue(BootTimeout), parse.GetValue(Deadline), cancellationToken);
        // The guest's sysctl takes whole seconds.
        return parse.GetValue(HungTaskTimeout) is { } hung ? options with { HungTaskTimeout = TimeSpan.FromSeconds(Math.Ceiling(hung.TotalSeconds)) } : options;
    }
}
