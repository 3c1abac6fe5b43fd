// The KVM probe's answer, kept per host. On hosts where /dev/kvm opens but guests never boot
// under it (DESIGN.md), the probe costs its whole timeout (30 s) every time; its answer cannot
// change until the host kernel, the boot, the QEMU binary or the KVM device changes, so those
// are the key. A reboot (new boot id) or a QEMU upgrade asks again.
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Harness.Machines.Qemu;

/// <summary>One remembered probe: what was decided, why, and when.</summary>
public sealed record KvmProbeAnswer(string Key, Acceleration Acceleration, string Reason, DateTimeOffset ProbedAt);

/// <summary>The probe answer of this host, in <c>&lt;cache&gt;/kvm-probe.json</c>.</summary>
public sealed class KvmProbeCache(string file)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public string File { get; } = file;

    /// <summary>
    /// What makes an answer still true: host kernel release, boot id, the QEMU binary (resolved
    /// path, size, modification time) and the KVM device node (its device number and change time).
    /// </summary>
    public static string KeyFor(string qemuBinary, string kvmDevice)
    {
        static string Read(string path) { try { return System.IO.File.ReadAllText(path).Trim(); } catch (IOException) { return "?"; } catch (UnauthorizedAccessException) { return "?"; } }
        var qemu = qemuBinary.Contains('/') ? qemuBinary : HostCommand.FindOnPath(qemuBinary) ?? qemuBinary;
        var info = new FileInfo(qemu);
        var qemuId = info.Exists ? $"{info.FullName}:{info.Length}:{info.LastWriteTimeUtc.Ticks}" : qemu;
        var kvm = new FileInfo(kvmDevice);
        var kvmId = kvm.Exists ? $"{kvm.FullName}:{kvm.LastWriteTimeUtc.Ticks}" : kvmDevice;
        return $"{Read("/proc/sys/kernel/osrelease")}|{Read("/proc/sys/kernel/random/boot_id")}|{qemuId}|{kvmId}";
    }

    /// <summary>The remembered answer for <paramref name="key"/>, or null (none, another key, or unreadable: then probe again).</summary>
    public KvmProbeAnswer? Find(string key)
    {
        try
        {
            if (!System.IO.File.Exists(File)) return null;
            var answer = JsonSerializer.Deserialize<KvmProbeAnswer>(System.IO.File.ReadAllText(File), Json);
            return answer?.Key == key ? answer : null;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null; // a damaged file only costs one probe
        }
    }

    /// <summary>Keeps <paramref name="answer"/> (temp file + rename: a concurrent reader sees the old or the new one).</summary>
    public void Store(KvmProbeAnswer answer)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(File))!);
            var temp = $"{File}.tmp-{Environment.ProcessId}";
            System.IO.File.WriteAllText(temp, JsonSerializer.Serialize(answer, Json));
            System.IO.File.Move(temp, File, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not keeping it only means probing again next time.
        }
    }
}
