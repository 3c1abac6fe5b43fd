// A file to place in a guest's initramfs: where, what, and its permission bits.
namespace Harness.Guest;

/// <summary>
/// A regular file for the guest. <see cref="GuestPath"/> is absolute in the guest ("/harness/plan.json");
/// <see cref="Mode"/> holds permission bits only (use <see cref="Executable"/> or <see cref="Regular"/>).
/// </summary>
public sealed record GuestFile(string GuestPath, byte[] Content, int Mode)
{
    /// <summary>0755.</summary>
    public const int Executable = 0b111_101_101;

    /// <summary>0644.</summary>
    public const int Regular = 0b110_100_100;
}
