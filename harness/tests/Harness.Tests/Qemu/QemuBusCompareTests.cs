// `harness compare` under QEMU on the other test-disk buses: ext4 on an NVMe namespace and on a
// virtio-scsi disk with 512e sectors, booted on Debian's 6.1 cloud kernel (NVMe built in, SCSI
// as modules put in the initramfs). The work must really happen (every IO done, every sector
// judged) and the guest must see the setup's bus and sector sizes (its HARNESS-DISK line).
using System.Text.RegularExpressions;
using Harness.Cli;
using Harness.Compare;
using Harness.Results;
using Harness.Tests.Kernels;
using Harness.Tests.Support;
using Harness.Verdicts;
using Xunit;

namespace Harness.Tests.Qemu;

[Collection(DebianKernelCollection.Name)]
public sealed class QemuBusCompareTests(DebianKernelFixture debian) : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("harness-bus-compare-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact]
    public async Task Ext4_on_nvme_and_on_512e_virtio_scsi_pass_under_debian_6_1_with_the_guest_seeing_the_setups_sectors()
    {
        Assert.NotNull(debian.Kernel);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var results = Path.Combine(_scratch, "results");

        var code = await new CliApp(stdout, stderr, TimeProvider.System).RunAsync(
            ["compare", "--kernel", "debian-6.1-cloud", "--kernels-dir", Path.Combine(RepoPaths.Root, "kernels"),
             "--setups", Path.Combine(RepoPaths.Root, "cases", "setups", "setups.yaml"), "--setup", "ext4-nvme,ext4-scsi-512e", "--case", "tiny", "--repeats", "1", "--jobs", "1",
             "--cases-dir", RepoPaths.Cases, "--agent", TestAgent.AotPath(DebianKernelFixture.CacheRoot),
             "--cache", DebianKernelFixture.CacheRoot, "--results", results],
            CancellationToken.None);

        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        var folder = Assert.Single(Directory.GetDirectories(results));
        var record = RecordFormat.Read<CompareRecord>(Path.Combine(folder, "compare.json"));
        Assert.Equal(Outcome.Pass, record.Outcome);
        Assert.Equal(["ext4-nvme", "ext4-scsi-512e"], record.Rows.Select(r => r.Setup));
        var run = Path.Combine(folder, Assert.Single(record.Runs).RunPath!);
        foreach (var (row, disk, logical, physical) in new[] { (record.Rows[0], "/dev/nvme0n1", 512, 512), (record.Rows[1], "/dev/sda", 512, 4096) })
        {
            Assert.Equal(Outcome.Pass, row.Outcome);
            Assert.Equal((1, 0), (row.Passed, row.IoErrors));
            var cell = Path.Combine(run, "cells", row.CellId!);
            var iteration = RecordFormat.Read<IterationResult>(Path.Combine(cell, "iteration-000.json"));
            Assert.Equal(64, iteration.IoCount);
            Assert.Equal(0, iteration.IoErrors);
            Assert.Equal(1024, Assert.Single(iteration.Passes).SectorsChecked);
            // The guest kernel saw the bus's disk with the setup's sector sizes.
            var console = Directory.GetFiles(cell, "console.log", SearchOption.AllDirectories).Concat(Directory.GetFiles(run, "console.log", SearchOption.AllDirectories))
                .Select(File.ReadAllText).FirstOrDefault(t => t.Contains("HARNESS-DISK", StringComparison.Ordinal));
            Assert.NotNull(console);
            Assert.Matches(new Regex($"HARNESS-DISK {Regex.Escape(disk)} logical={logical} physical={physical}"), console);
        }
    }
}
