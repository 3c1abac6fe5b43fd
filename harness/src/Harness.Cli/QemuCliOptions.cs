// The QEMU options `run --machine qemu` and `validate` share, defined once.
using System.CommandLine;
using Harness.Filesystems;
using Harness.Kernels;
using Harness.Machines.Qemu;

namespace Harness.Cli;

public sealed class QemuCliOptions
{
    public Option<string> Accel { get; } = new("--accel") { Description = "qemu: auto (KVM if a probe boot works, else TCG), kvm, or tcg", DefaultValueFactory = _ => "auto" };
    public Option<string> Backend { get; } = new("--backend") { Description = "qemu: test disk backend, aio=threads|native|io_uring,cache=none|writeback|writethrough|directsync|unsafe", DefaultValueFactory = _ => "aio=threads,cache=none" };
    public Option<int> Memory { get; } = new("--memory") { Description = "qemu: guest memory, MiB", DefaultValueFactory = _ => 1024 };
    public Option<int> Cpus { get; } = new("--cpus") { Description = "qemu: guest CPUs", DefaultValueFactory = _ => 2 };
    public Option<int> BootTimeout { get; } = new("--boot-timeout") { Description = "qemu: seconds to the guest's boot marker", DefaultValueFactory = _ => 120 };
    public Option<int> Deadline { get; } = new("--deadline") { Description = "qemu: seconds without a result before the cell is stopped (ERROR workload-deadline unless the kernel reported why)", DefaultValueFactory = _ => 600 };

    public Option<int?> HungTaskTimeout { get; } = new("--hung-task-timeout")
    {
        Description = "qemu: the guest's hung_task_timeout_secs; a hung-task report is a CRASH only if the test disk also stood still that long (default 60 under TCG, 30 under KVM)",
    };

    public QemuCliOptions()
    {
        Accel.AcceptOnlyFromAmong("auto", "kvm", "tcg");
        HungTaskTimeout.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 5) r.AddError("--hung-task-timeout must be at least 5 seconds");
        });
    }

    public IEnumerable<Option> All => [Accel, Backend, Memory, Cpus, BootTimeout, Deadline, HungTaskTimeout];

    public async Task<QemuOptions> PrepareAsync(ParseResult parse, QemuSetup setup, KernelImage kernel, IReadOnlyList<FilesystemSpec> filesystems,
        string? agent, long imageBytes, CancellationToken cancellationToken)
    {
        var options = await setup.PrepareAsync(kernel, filesystems, agent, parse.GetValue(Accel)!, BlockBackend.Parse(parse.GetValue(Backend)!), imageBytes,
            parse.GetValue(Cpus), parse.GetValue(Memory), TimeSpan.FromSeconds(parse.GetValue(BootTimeout)), TimeSpan.FromSeconds(parse.GetValue(Deadline)), cancellationToken);
        return parse.GetValue(HungTaskTimeout) is { } seconds ? options with { HungTaskTimeout = TimeSpan.FromSeconds(seconds) } : options;
    }
}
