// The Interop wrappers against the real kernel: errors name the call, flags and file, and an
// AIO queue round-trips a write through libaio on an O_DIRECT file.
using Harness.Agent.Interop;
using Xunit;
using Harness.Workload;

namespace Harness.Tests.Agent;

public sealed class InteropBehaviourTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Open_failure_names_the_call_the_flags_the_file_and_errno()
    {
        var path = Path.Combine(_temp.Path, "missing", "data");

        var error = Assert.Throws<NativeErrorException>(() =>
            Posix.Open(path, OpenFlags.ReadWrite | OpenFlags.Create | OpenFlags.Direct));

        Assert.Equal(LinuxErrno.ENOENT, error.Errno);
        Assert.Equal(path, error.Path);
        Assert.StartsWith($"open(O_RDWR|O_CREAT|O_DIRECT) on {path} failed: ENOENT", error.Message);
    }

    [Fact]
    public void Aio_queue_writes_a_buffer_that_pread_returns_intact()
    {
        var path = Path.Combine(_temp.Path, "aio");
        using var file = Posix.Open(path, OpenFlags.ReadWrite | OpenFlags.Create | OpenFlags.Direct);
        using var written = new AlignedBuffer(4096);
        written.Span.Fill(0xA5);
        var completions = new AioCompletion[1];

        using (var queue = new AioQueue(file, path, depth: 1))
        {
            queue.PrepareWrite(0, written, 4096, offset: 8192);
            Assert.Equal(1, queue.Submit([0]));
            Assert.Equal(1, queue.Reap(1, completions));
        }

        Assert.Equal(new AioCompletion(0, 4096), completions[0]);
        Assert.Equal(8192 + 4096, Posix.FileSize(file, path));
        using var read = new AlignedBuffer(4096);
        Assert.Equal(4096, Posix.PRead(file, read, 4096, 8192, path));
        Assert.True(read.Span.SequenceEqual(written.Span));
    }

    [Fact]
    public void Aio_write_failure_comes_back_as_minus_errno_in_the_completion()
    {
        var path = Path.Combine(_temp.Path, "misaligned");
        using var file = Posix.Open(path, OpenFlags.ReadWrite | OpenFlags.Create | OpenFlags.Direct);
        using var buffer = new AlignedBuffer(4096);
        var completions = new AioCompletion[1];
        using var queue = new AioQueue(file, path, depth: 1);

        // O_DIRECT needs offsets aligned to the logical block size: 100 never is.
        // The kernel takes the iocb and completes it at once with the error.
        queue.PrepareWrite(0, buffer, 512, offset: 100);
        Assert.Equal(1, queue.Submit([0]));
        Assert.Equal(1, queue.Reap(1, completions));

        Assert.Equal(-LinuxErrno.EINVAL, completions[0].Result);
    }
}
