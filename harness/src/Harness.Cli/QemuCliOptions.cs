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
    public Option<int> Deadline { get; } = new("--deadline") { Description = "qemu: seconds without a result before an iteration is declared hung", DefaultValueFactory = _ => 600 };

    public QemuCliOptions() => Accel.AcceptOnlyFromAmong("auto", "kvm", "tcg");

    public IEnumerable<Option> All => [Accel, Backend, Memory, Cpus, BootTimeout, Deadline];

    public Task<QemuOptions> PrepareAsync(ParseResult parse, QemuSetup setup, KernelImage kernel, IReadOnlyList<FilesystemSpec> filesystems,
        string? agent, long imageBytes, CancellationToken cancellationToken) =>
        setup.PrepareAsync(kernel, filesystems, agent, parse.GetValue(Accel)!, BlockBackend.Parse(parse.GetValue(Backend)!), imageBytes,
            parse.GetValue(Cpus), parse.GetValue(Memory), TimeSpan.FromSeconds(parse.GetValue(BootTimeout)), TimeSpan.FromSeconds(parse.GetValue(Deadline)), cancellationToken);
}
