// The one place where a failed system call becomes an exception: it keeps errno, the call
// and the file it was about, so a report can say "open(/mnt/t/data, O_DIRECT): EINVAL".
using System.Runtime.InteropServices;

namespace Harness.Agent.Interop;

/// <summary>A system call failed. <see cref="Errno"/> is the positive errno value.</summary>
public sealed class NativeErrorException : IOException
{
    public NativeErrorException(string call, int errno, string? path = null, string? hint = null)
        : base(Format(call, errno, path, hint))
    {
        Call = call;
        Errno = errno;
        Path = path;
        HResult = errno;
    }

    /// <summary>The call as shown in messages, e.g. <c>open(O_RDWR|O_DIRECT)</c>.</summary>
    public string Call { get; }

    public int Errno { get; }

    public string? Path { get; }

    /// <summary>errno after a <c>SetLastError = true</c> import returned -1.</summary>
    internal static NativeErrorException FromLastError(string call, string? path = null, string? hint = null) =>
        new(call, Marshal.GetLastPInvokeError(), path, hint);

    /// <summary>Symbolic name of the errno values this agent can meet; the number otherwise.</summary>
    public static string Name(int errno) => errno switch
    {
        LinuxErrno.EPERM => "EPERM",
        LinuxErrno.ENOENT => "ENOENT",
        LinuxErrno.EINTR => "EINTR",
        LinuxErrno.EIO => "EIO",
        LinuxErrno.EBADF => "EBADF",
        LinuxErrno.EAGAIN => "EAGAIN",
        LinuxErrno.ENOMEM => "ENOMEM",
        LinuxErrno.EACCES => "EACCES",
        LinuxErrno.EFAULT => "EFAULT",
        LinuxErrno.EEXIST => "EEXIST",
        LinuxErrno.ENOTDIR => "ENOTDIR",
        LinuxErrno.EISDIR => "EISDIR",
        LinuxErrno.EINVAL => "EINVAL",
        LinuxErrno.EFBIG => "EFBIG",
        LinuxErrno.ENOSPC => "ENOSPC",
        LinuxErrno.EROFS => "EROFS",
        LinuxErrno.ENOSYS => "ENOSYS",
        LinuxErrno.EOPNOTSUPP => "EOPNOTSUPP",
        _ => "errno " + errno,
    };

    private static string Format(string call, int errno, string? path, string? hint)
    {
        var what = path is null ? call : $"{call} on {path}";
        var text = $"{what} failed: {Name(errno)} ({Marshal.GetPInvokeErrorMessage(errno)})";
        return hint is null ? text : $"{text}; {hint}";
    }
}

/// <summary>Linux errno values (asm-generic/errno-base.h, errno.h) the agent reacts to or names.</summary>
public static class LinuxErrno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EFAULT = 14;
    public const int EEXIST = 17;
    public const int ENOTDIR = 20;
    public const int EISDIR = 21;
    public const int EINVAL = 22;
    public const int EFBIG = 27;
    public const int ENOSPC = 28;
    public const int EROFS = 30;
    public const int ENOSYS = 38;
    public const int EOPNOTSUPP = 95;
}
