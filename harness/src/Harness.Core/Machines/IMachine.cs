// A machine is where a cell runs: the host kernel today; QEMU, QEMU-in-Docker and a Swarm
// later. All of them take the same request and stream back raw agent reports; judging
// happens on the host, in one golden model, for every machine kind.
using Harness.Cases;
using Harness.Filesystems;
using Harness.Workload;

namespace Harness.Machines;

/// <summary>One cell: a filesystem and a case, repeated, on one machine.</summary>
public sealed record CellRequest(
    string CellId,
    FilesystemSpec Filesystem,
    CaseSpec Case,
    int Repeats,
    string WorkDirectory,
    string LogDirectory)
{
    /// <summary>The file every machine asks the agent to write, in the test filesystem.</summary>
    public const string TargetFile = "harness-target";

    /// <summary>Iteration number of the first repeat: batches of one cell get distinct run tags.</summary>
    public int FirstIteration { get; init; }
}

/// <summary>What one iteration brought back, unjudged. A null report means that phase did not run.</summary>
public sealed record IterationRaw(int Iteration, AgentReport? Write, AgentReport? Readback, string? Error)
{
    /// <summary>Seconds from machine start to the guest's boot marker (0 where nothing boots).</summary>
    public double BootSeconds { get; init; }

    /// <summary>The read-only filesystem check after the cell's last read-back; only on a cell's last iteration.</summary>
    public Filesystems.FsckResult? Fsck { get; init; }

    /// <summary>Kernel warnings seen so far in this cell's machine (cumulative; none where no console is watched).</summary>
    public KernelWarnings KernelWarnings { get; init; } = KernelWarnings.None;

    /// <summary>
    /// The machine's own phases of this iteration (mkfs, boot, mount, agent start, remount, fsck, ...): the
    /// first iteration carries the cell's setup, the last its teardown, so a cell's phases add up to its wall time.
    /// </summary>
    public IReadOnlyList<PhaseTime> Phases { get; init; } = [];

    /// <summary>
    /// The machine's wall time for this iteration, seconds: from the end of the previous one (the cell's
    /// start for the first) to its own end (its teardown included for the last). Measured where the work
    /// happens, because a consumer sees iterations late (the last is held back for fsck).
    /// </summary>
    public double Seconds { get; init; }
}

/// <summary>Facts about where a cell ran, recorded with every result.</summary>
public sealed record MachineFacts(string Kind, string Kernel, int CpuCount, string Detail)
{
    /// <summary>What exactly booted (QEMU machines): the kernel image, its config and the emulator, by content and version.</summary>
    public KernelIdentity? Identity { get; init; }
}

/// <summary>
/// The kernel that ran and what ran it, by content: two runs with the same identity booted the same
/// bits under the same emulator and disk backend (names and release strings alone can hide a rebuild).
/// </summary>
public sealed record KernelIdentity(string BzImageSha256, string? ConfigSha256, string QemuVersion, string Backend, string Acceleration)
{
    /// <summary>SHA-256 of a file, lower-case hex; null when there is no file.</summary>
    public static string? Sha256(string? path)
    {
        if (path is null || !File.Exists(path)) return null;
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }
}

/// <summary>Runs cells. Implementations own their resources and release them on cancel.</summary>
public interface IMachine
{
    /// <summary>The kind name ("local", "qemu", ...), as users type it.</summary>
    string Kind { get; }

    /// <summary>Why this machine cannot run here, or null when it can.</summary>
    Task<string?> CheckAsync(CancellationToken cancellationToken);

    /// <summary>Runs every iteration of a cell, yielding each as it finishes (so an interrupted run keeps them).</summary>
    IAsyncEnumerable<IterationRaw> RunCellAsync(CellRequest cell, CancellationToken cancellationToken);

    MachineFacts Describe();
}

/// <summary>
/// A machine that can keep what it booted between cells: `validate` runs each side's guests across its
/// looks without booting them again. Each cell run on a session has the session's filesystem and case.
/// </summary>
public interface ISessionMachine : IMachine
{
    /// <summary>Prepares and starts a machine for cells like <paramref name="cell"/> (its filesystem and case).</summary>
    Task<IMachineSession> OpenSessionAsync(CellRequest cell, CancellationToken cancellationToken);
}

/// <summary>A started machine. Disposing it stops it and releases everything it holds.</summary>
public interface IMachineSession : IAsyncDisposable
{
    /// <summary>False once the machine failed or ended: it can run no more cells.</summary>
    bool Alive { get; }

    /// <summary>Runs one cell's iterations (numbered from its FirstIteration), the last one carrying the filesystem check.</summary>
    IAsyncEnumerable<IterationRaw> RunAsync(CellRequest cell, CancellationToken cancellationToken);
}

/// <summary>
/// A machine kept between cells: the first cell opens a session (boots), later cells run on it, and a
/// session that died (crash, timeout, cancel) is replaced by a fresh one at the next cell. Opening
/// happens inside <see cref="RunCellAsync"/>, so its failures reach the cell runner like any machine's.
/// </summary>
public sealed class KeptMachine(ISessionMachine machine) : IMachine, IAsyncDisposable
{
    private IMachineSession? _session;

    public string Kind => machine.Kind;

    /// <summary>Sessions opened so far (boots).</summary>
    public int Opened { get; private set; }

    public Task<string?> CheckAsync(CancellationToken cancellationToken) => machine.CheckAsync(cancellationToken);

    public MachineFacts Describe() => machine.Describe();

    public async IAsyncEnumerable<IterationRaw> RunCellAsync(CellRequest cell, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (_session is { Alive: false })
        {
            await _session.DisposeAsync();
            _session = null;
        }
        if (_session is null)
        {
            _session = await machine.OpenSessionAsync(cell, cancellationToken);
            Opened++;
        }
        await foreach (var raw in _session.RunAsync(cell, cancellationToken)) yield return raw;
    }

    /// <summary>Stops the kept session, if any.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_session is not null) await _session.DisposeAsync();
        _session = null;
    }
}

/// <summary>The machine itself broke (mkfs, mount, agent crash): the cell is ERROR, not FAIL.</summary>
public class MachineException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The machine cannot run this cell here, and says why (e.g. a filesystem a container may not mount):
/// the cell is SKIP with that reason, not ERROR, and the run goes on.
/// </summary>
public sealed class MachineSkipException(string message, Exception? inner = null) : MachineException(message, inner);
