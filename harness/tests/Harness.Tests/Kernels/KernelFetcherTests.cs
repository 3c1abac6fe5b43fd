// Fetching kernels for real: the Debian 6.1 cloud package through apt, its cache, and local images.
using System.Diagnostics;
using System.Text.RegularExpressions;
using Harness.Kernels;
using Harness.Yaml;
using Xunit;

namespace Harness.Tests.Kernels;

[Collection(DebianKernelCollection.Name)]
public sealed class KernelFetcherTests(DebianKernelFixture debian)
{
    [Fact]
    public void Debian_pattern_fetches_the_newest_cloud_kernel_with_a_modules_dep()
    {
        var kernel = debian.Kernel;

        Assert.Equal("debian-6.1-cloud", kernel.Name);
        Assert.Matches(@"^6\.1\.0-\d+-cloud-amd64$", kernel.Release);
        Assert.True(File.Exists(kernel.BzImage), kernel.BzImage);
        Assert.True(File.Exists(Path.Combine(kernel.ModulesDirectory!, "modules.dep")));
        Assert.Matches(@"^debian linux-image-6\.1\.0-\d+-cloud-amd64-unsigned 6\.1\.\d+-\d+$", kernel.Origin);
        Assert.Contains(kernel.Release, kernel.Origin);
    }

    [Fact]
    public async Task Second_fetch_comes_from_the_cache_without_apt()
    {
        var marker = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(debian.Kernel.BzImage)!)!, ".harness-complete");
        var markerTime = File.GetLastWriteTimeUtc(marker);
        var progress = new StringWriter();

        var clock = Stopwatch.StartNew();
        var again = await new KernelFetcher(DebianKernelFixture.KernelCache, progress).FetchAsync(debian.Spec, CancellationToken.None);
        clock.Stop();

        Assert.Equal(debian.Kernel, again);
        Assert.Equal(markerTime, File.GetLastWriteTimeUtc(marker));
        Assert.Matches(@"^kernel debian-6\.1-cloud: linux-image-\S+ \S+ \(cached\)\n$", progress.ToString());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"cached fetch took {clock.Elapsed}");
    }

    [Fact]
    public void Bzimage_header_names_the_same_release_as_the_package()
    {
        var release = BzImage.TryReadRelease(debian.Kernel.BzImage);

        Assert.Equal(debian.Kernel.Release, release);
    }

    [Fact]
    public async Task Interrupted_unpack_is_redone_from_the_downloaded_deb()
    {
        // A private cache holding the downloaded .deb and a half-unpacked folder without marker.
        var cache = Directory.CreateDirectory(Path.Combine("/tmp", $"harness-kernel-test-{Guid.NewGuid():N}")).FullName;
        try
        {
            var package = debian.Kernel.Origin.Split(' ');
            var deb = $"{package[1]}_{package[2]}_amd64.deb";
            Directory.CreateDirectory(Path.Combine(cache, "debs"));
            File.Copy(Path.Combine(DebianKernelFixture.KernelCache, "debs", deb), Path.Combine(cache, "debs", deb));
            var half = Directory.CreateDirectory(Path.Combine(cache, $"{package[1]}-{package[2]}", "boot")).FullName;
            await File.WriteAllTextAsync(Path.Combine(half, "vmlinuz-truncated"), "partial");
            var progress = new StringWriter();

            var kernel = await new KernelFetcher(cache, progress).FetchAsync(debian.Spec, CancellationToken.None);

            Assert.DoesNotContain("downloading", progress.ToString());
            Assert.Contains("unpacking", progress.ToString());
            Assert.Equal(debian.Kernel.Release, kernel.Release);
            Assert.False(File.Exists(Path.Combine(half, "vmlinuz-truncated")));
            Assert.Equal(new FileInfo(debian.Kernel.BzImage).Length, new FileInfo(kernel.BzImage).Length);
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    [Fact]
    public async Task Parallel_fetches_of_one_kernel_unpack_it_once()
    {
        var cache = Directory.CreateDirectory(Path.Combine("/tmp", $"harness-kernel-test-{Guid.NewGuid():N}")).FullName;
        try
        {
            var package = debian.Kernel.Origin.Split(' ');
            var deb = $"{package[1]}_{package[2]}_amd64.deb";
            Directory.CreateDirectory(Path.Combine(cache, "debs"));
            File.Copy(Path.Combine(DebianKernelFixture.KernelCache, "debs", deb), Path.Combine(cache, "debs", deb));
            var progress = new[] { new StringWriter(), new StringWriter() };

            var kernels = await Task.WhenAll(progress.Select(p => new KernelFetcher(cache, p).FetchAsync(debian.Spec, CancellationToken.None)));

            Assert.Equal(kernels[0], kernels[1]);
            Assert.Equal(1, progress.Count(p => p.ToString().Contains("unpacking", StringComparison.Ordinal)));
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    [Fact]
    public async Task Available_versions_list_the_fetched_one_first()
    {
        var available = await new KernelFetcher(DebianKernelFixture.KernelCache, TextWriter.Null).ListAvailableAsync(debian.Spec, CancellationToken.None);

        Assert.Equal(debian.Kernel.Origin, $"debian {available[0]}");
        Assert.All(available, line => Assert.Matches(@"^linux-image-6\.1\.0-\d+-cloud-amd64-unsigned \S+$", line));
    }

    [Fact]
    public async Task Local_image_takes_its_release_from_the_bzimage_when_no_modules_are_given()
    {
        var spec = new KernelSpec("mine", "a local image", new LocalImageSource(debian.Kernel.BzImage, null), "kernels/mine.yaml");

        var kernel = await new KernelFetcher(DebianKernelFixture.KernelCache, TextWriter.Null).FetchAsync(spec, CancellationToken.None);

        // The config Debian ships beside the image (boot/config-<release>) is found, so the
        // config check can run before boot; the spec file is kept for its error messages.
        Assert.Equal(new KernelImage("mine", debian.Kernel.Release, debian.Kernel.BzImage, null, $"local {debian.Kernel.BzImage}")
        {
            ConfigFile = Path.Combine(Path.GetDirectoryName(debian.Kernel.BzImage)!, $"config-{debian.Kernel.Release}"),
            SpecFile = "kernels/mine.yaml",
        }, kernel);
    }

    [Fact]
    public async Task Local_image_takes_its_release_from_the_modules_folder_name()
    {
        var spec = new KernelSpec("mine", "a local image", new LocalImageSource(debian.Kernel.BzImage, debian.Kernel.ModulesDirectory), "kernels/mine.yaml");

        var kernel = await new KernelFetcher(DebianKernelFixture.KernelCache, TextWriter.Null).FetchAsync(spec, CancellationToken.None);

        Assert.Equal(Path.GetFileName(debian.Kernel.ModulesDirectory), kernel.Release);
        Assert.Equal(debian.Kernel.ModulesDirectory, kernel.ModulesDirectory);
    }
}

public sealed class KernelFetcherInputTests
{
    private readonly string _cache = Path.Combine("/tmp", $"harness-kernel-test-{Guid.NewGuid():N}");

    [Fact]
    public async Task Missing_local_files_are_named_with_the_spec_file_and_field()
    {
        var spec = new KernelSpec("mine", "d", new LocalImageSource("/nonexistent/bzImage", "/nonexistent/lib/modules/6.1.0"), "kernels/mine.yaml");

        var error = await Assert.ThrowsAsync<InputException>(() => new KernelFetcher(_cache, TextWriter.Null).FetchAsync(spec, CancellationToken.None));

        Assert.Equal(
            "kernels/mine.yaml: source.bzimage: no such file: /nonexistent/bzImage\n" +
            "kernels/mine.yaml: source.modules: no such folder: /nonexistent/lib/modules/6.1.0",
            error.Message.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task A_file_that_is_not_a_bzimage_needs_a_modules_folder_to_name_its_release()
    {
        var file = Path.GetTempFileName();
        try
        {
            var spec = new KernelSpec("mine", "d", new LocalImageSource(file, null), "kernels/mine.yaml");

            var error = await Assert.ThrowsAsync<InputException>(() => new KernelFetcher(_cache, TextWriter.Null).FetchAsync(spec, CancellationToken.None));

            Assert.Equal($"kernels/mine.yaml: source.bzimage: {file} is not an x86 bzImage with a version string, so its release is unknown; give source.modules (its folder name is the release)", error.Message);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Pattern_matching_no_package_names_the_spec_file_and_field()
    {
        var spec = new KernelSpec("none", "d", new DebianPackageSource("linux-image-0.0.0-*-nosuch-unsigned"), "kernels/none.yaml");

        var error = await Assert.ThrowsAsync<InputException>(() => new KernelFetcher(_cache, TextWriter.Null).FetchAsync(spec, CancellationToken.None));

        Assert.Matches(new Regex(@"^kernels/none\.yaml: source\.debian-package: no package apt knows matches 'linux-image-0\.0\.0-\*-nosuch-unsigned'"), error.Message);
        if (Directory.Exists(_cache)) Directory.Delete(_cache, recursive: true);
    }

    [Fact]
    public void Bzimage_release_is_read_from_the_setup_header_version_pointer()
    {
        var image = new byte[0x2000];
        "HdrS"u8.CopyTo(image.AsSpan(0x202));
        image[0x206] = 0x0F; image[0x207] = 0x02;    // boot protocol 2.15
        image[0x20E] = 0x00; image[0x20F] = 0x10;    // kernel_version: 0x1000, at file offset 0x1200
        "6.1.0-test+ (me@host) #1 SMP\0"u8.CopyTo(image.AsSpan(0x1200));

        Assert.Equal("6.1.0-test+", BzImage.TryReadRelease(image));
        Assert.Null(BzImage.TryReadRelease(new byte[0x2000]));
    }
}
