// errno names shared by the agent (messages) and the judge (io-error findings), so both say
// "EINVAL" for 22 and the host need not know the agent's interop code.
namespace Harness.Workload;

/// <summary>Linux errno values (asm-generic/errno-base.h, errno.h) the harness names.</summary>
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
    public const int ENOTTY = 25;
    public const int EFBIG = 27;
    public const int ENOSPC = 28;
    public const int EROFS = 30;
    public const int ENOSYS = 38;
    public const int ENODATA = 61;
    public const int EOPNOTSUPP = 95;
    public const int EDQUOT = 122;

    /// <summary>Symbolic name, or "errno N" for values not listed.</summary>
    public static string Name(int errno) => errno switch
    {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        EINTR => "EINTR",
        EIO => "EIO",
        EBADF => "EBADF",
        EAGAIN => "EAGAIN",
        ENOMEM => "ENOMEM",
        EACCES => "EACCES",
        EFAULT => "EFAULT",
        EEXIST => "EEXIST",
        ENOTDIR => "ENOTDIR",
        EISDIR => "EISDIR",
        EINVAL => "EINVAL",
        ENOTTY => "ENOTTY",
        EFBIG => "EFBIG",
        ENOSPC => "ENOSPC",
        EROFS => "EROFS",
        ENOSYS => "ENOSYS",
        ENODATA => "ENODATA",
        EOPNOTSUPP => "EOPNOTSUPP",
        EDQUOT => "EDQUOT",
        _ => "errno " + errno,
    };
}
