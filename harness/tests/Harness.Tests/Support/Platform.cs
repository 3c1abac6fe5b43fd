// The harness is Linux-only (libaio, loop devices, QEMU); say so once for the analyzers.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
