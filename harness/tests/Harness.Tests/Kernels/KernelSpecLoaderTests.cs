// Kernel spec files: the shipped ones load; bad ones get errors naming file, line and field.
using Harness.Kernels;
using Harness.Tests.Support;
using Harness.Yaml;
using Xunit;

namespace Harness.Tests.Kernels;

public sealed class KernelSpecLoaderTests
{
    private const string Debian = """
        name: debian-6.1-cloud
        description: Debian's 6.1 cloud kernel
        source:
          debian-package: linux-image-6.1.0-*-cloud-amd64-unsigned
        """;

    private const string Local = """
        name: my-build
        description: a kernel built by hand
        source:
          bzimage: build/arch/x86/boot/bzImage
          modules: /srv/mods/lib/modules/6.1.0-test
        """;

    [Fact]
    public void Shipped_specs_load_and_name_debian_cloud_packages()
    {
        var all = new KernelCatalog(Path.Combine(RepoPaths.Root, "kernels")).LoadAll();
        var prebuilt = all.Where(k => k.Source is DebianPackageSource).ToArray();

        Assert.Equal(["debian-6.1-cloud", "debian-6.12-cloud"], prebuilt.Select(k => k.Name));
        Assert.All(prebuilt, k => Assert.Matches(@"^linux-image-.*\*.*-cloud-amd64-unsigned$", Assert.IsType<DebianPackageSource>(k.Source).PackagePattern));
        Assert.All(all, k => Assert.EndsWith($"{k.Name}.yaml", k.SourceFile));
    }

    [Fact]
    public void Built_specs_carry_config_fragments_and_the_patch_series_in_order()
    {
        var catalog = new KernelCatalog(Path.Combine(RepoPaths.Root, "kernels"));

        var fixedKernel = catalog.Find("linux-6.1-ocfs2-race-dio-fix");

        Assert.Equal(new DebianSourceTree("linux-source-6.1"), fixedKernel.Source);
        var build = Assert.IsType<KernelBuildSpec>(fixedKernel.Build);
        Assert.Equal("tinyconfig", build.BaseConfig);
        Assert.EndsWith("kernels/configs/guest.config", Assert.Single(build.Fragments));
        Assert.Equal(["ocfs2-reintroduce-unaligned-aio-race.patch", "direct-io-serialise-sub-block-zeroing.patch"], build.Patches.Select(Path.GetFileName));
    }

    [Fact]
    public void Missing_patch_file_is_named_with_its_line()
    {
        var text = "name: k\ndescription: d\nsource:\n  debian-source: linux-source-6.1\npatches:\n  - patches/nope.patch\n";

        var error = Assert.Throws<InputException>(() => KernelSpecLoader.Parse("kernels/k.yaml", text, baseDirectory: "/work/kernels"));

        Assert.Equal("kernels/k.yaml:6:3: patches: 'patches/nope.patch' does not exist (looked for /work/kernels/patches/nope.patch)", error.Message);
    }

    [Fact]
    public void Debian_package_source_keeps_the_glob()
    {
        var spec = KernelSpecLoader.Parse("kernels/d.yaml", Debian);

        Assert.Equal(new DebianPackageSource("linux-image-6.1.0-*-cloud-amd64-unsigned"), spec.Source);
        Assert.Equal("debian-6.1-cloud", spec.Name);
        Assert.Equal("kernels/d.yaml", spec.SourceFile);
    }

    [Fact]
    public void Local_image_paths_are_taken_relative_to_the_spec_folder()
    {
        var spec = KernelSpecLoader.Parse("k.yaml", Local, baseDirectory: "/work/kernels");

        Assert.Equal(new LocalImageSource("/work/kernels/build/arch/x86/boot/bzImage", "/srv/mods/lib/modules/6.1.0-test"), spec.Source);
    }

    [Fact]
    public void Local_image_modules_are_optional()
    {
        var spec = KernelSpecLoader.Parse("k.yaml", "name: b\ndescription: d\nsource: { bzimage: /boot/vmlinuz }\n");

        Assert.Equal(new LocalImageSource("/boot/vmlinuz", null), spec.Source);
    }

    [Fact]
    public void Unknown_kernel_name_lists_the_known_ones()
    {
        var catalog = new KernelCatalog(Path.Combine(RepoPaths.Root, "kernels"));

        var error = Assert.Throws<InputException>(() => catalog.Find("debian-5.10"));

        Assert.Contains("--kernel: no kernel named 'debian-5.10'; known kernels: debian-6.1-cloud, debian-6.12-cloud, linux-6.1", error.Message);
    }

    [Theory]
    [InlineData("unknown_field", "  debian-package:", "  flavour: cloud\n  debian-package:")]
    [InlineData("missing_source", "source:\n  debian-package: linux-image-6.1.0-*-cloud-amd64-unsigned", "")]
    [InlineData("empty_source", "  debian-package: linux-image-6.1.0-*-cloud-amd64-unsigned", "  {}")]
    [InlineData("source_not_a_mapping", "source:\n  debian-package: linux-image-6.1.0-*-cloud-amd64-unsigned", "source: linux-image-6.1.0-56-cloud-amd64")]
    [InlineData("two_source_kinds", "  debian-package:", "  bzimage: /boot/vmlinuz\n  debian-package:")]
    [InlineData("modules_with_package", "  debian-package:", "  modules: /lib/modules/x\n  debian-package:")]
    [InlineData("not_a_kernel_package", "linux-image-6.1.0-*-cloud-amd64-unsigned", "busybox-static")]
    [InlineData("bad_package_characters", "linux-image-6.1.0-*-cloud-amd64-unsigned", "linux-image-[0-9]*")]
    [InlineData("bad_name", "name: debian-6.1-cloud", "name: Debian 6.1")]
    [InlineData("missing_description", "description: Debian's 6.1 cloud kernel\n", "")]
    [InlineData("yaml_syntax", "source:\n", "source: [\n")]
    public void Bad_kernel_specs_name_file_line_and_field(string name, string replace, string with)
    {
        var text = Debian.Replace(replace, with, StringComparison.Ordinal);
        Assert.NotEqual(Debian, text);

        var error = Assert.Throws<InputException>(() => KernelSpecLoader.Parse("kernels/bad.yaml", text));

        Snapshot.Match(error.Message, name);
    }

    [Fact]
    public void Missing_spec_file_is_named()
    {
        var error = Assert.Throws<InputException>(() => KernelSpecLoader.Load("/nonexistent/k.yaml"));

        Assert.Equal("/nonexistent/k.yaml: (file): no such kernel spec file", error.Message);
    }
}
