// A scratch directory under /tmp (ext4 here, so O_DIRECT works), removed after the test.
namespace Harness.Tests.Agent;

internal sealed class TempDirectory : IDisposable
{
    public TempDirectory() =>
        Path = Directory.CreateDirectory(System.IO.Path.Combine("/tmp", $"harness-agent-test-{Guid.NewGuid():N}")).FullName;

    public string Path { get; }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
