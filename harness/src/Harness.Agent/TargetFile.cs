// Creates the workload's target file fresh and gives its blocks the state the case asks for:
// holes, unwritten extents, written pattern, or nothing at all.
using Harness.Agent.Interop;
using Harness.Workload;
using Microsoft.Win32.SafeHandles;

namespace Harness.Agent;

internal static class TargetFile
{
    public const OpenFlags WriteFlags = OpenFlags.ReadWrite | OpenFlags.Direct | OpenFlags.CloseOnExec;

    /// <summary>Replaces any existing file at <paramref name="path"/> and returns it open with O_DIRECT.</summary>
    public static SafeFileHandle Create(string path, WorkloadSpec spec, ulong runTag, TextWriter log, CancellationToken cancellationToken)
    {
        // A file reused across runs keeps its allocated blocks, which hide the race: always start new.
        Posix.Unlink(path);
        var file = Posix.Open(path, WriteFlags | OpenFlags.Create | OpenFlags.Exclusive);
        try
        {
            log.WriteLine($"harness-agent: preparing {path} ({spec.Preparation}, {spec.FileSize} bytes)");
            switch (spec.Preparation)
            {
                case FilePreparation.Sparse:
                    Posix.Ftruncate(file, spec.FileSize, path);
                    break;
                case FilePreparation.Unwritten:
                    if (spec.FileSize > 0) Posix.Fallocate(file, 0, spec.FileSize, path);
                    break;
                case FilePreparation.Written:
                    ChunkedWriter.Write(file, path, ChunkedWriter.RoundUpToSector(spec.FileSize),
                        (sector, offset) => SectorFormat.WritePrewritten(sector, runTag, offset),
                        cancellationToken);
                    break;
                case FilePreparation.Extending:
                    break;
                default:
                    throw new AgentException($"unknown preparation {spec.Preparation}; valid: {string.Join(", ", Enum.GetNames<FilePreparation>())}");
            }
            Posix.Fsync(file, path);
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }
}
