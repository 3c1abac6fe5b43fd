// The one place where a failed system call becomes an exception: it keeps errno, the call
// and the file it was about, so a report can say "open(/mnt/t/data, O_DIRECT): EINVAL".
using System.Runtime.InteropServices;
using Harness.Workload;

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

    /// <summary>Symbolic name of an errno value; the number otherwise.</summary>
    public static string Name(int errno) => LinuxErrno.Name(errno);

    private static string Format(string call, int errno, string? path, string? hint)
    {
        var what = path is null ? call : $"{call} on {path}";
        var text = $"{what} failed: {Name(errno)} ({Marshal.GetPInvokeErrorMessage(errno)})";
        return hint is null ? text : $"{text}; {hint}";
    }
}
