// `harness docker image [--rebuild]` builds the runner image on demand, `harness doctor` says
// whether this host can run the docker machine and gives the exact fix for each gap, and
// DockerSetup gives `run --machine docker` its container runtime (building the image when missing).
using System.CommandLine;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Harness.Machines;
using Harness.Machines.Docker;
using Harness.Machines.Qemu;

namespace Harness.Cli;

internal static class DockerSetup
{
    /// <summary>The runner image (built or imported when missing) and a runtime starting each cell's QEMU in a container from it.</summary>
    public static async Task<IQemuRuntime> RuntimeAsync(DockerEngine engine, string cacheDir, QemuOptions options, TextWriter progress, CancellationToken cancellationToken)
    {
        var recipe = await RunnerImage.ResolveAsync(cancellationToken);
        var image = await new RunnerImage(cacheDir, progress).EnsureAsync(engine.Client, recipe, rebuild: false, cancellationToken);
        if (image.How != "present") progress.WriteLine($"runner image: {image.Tag} ready ({image.How}, {image.Seconds:F0} s)");
        return new DockerQemuRuntime(engine.Client, image.Tag, options, progress);
    }

    /// <summary>
    /// The docker-host machine: the runner image (built or imported when missing) and the NativeAOT
    /// agent (the container has no .NET runtime): --agent, else $HARNESS_AGENT_AOT, else the cache's.
    /// </summary>
    public static async Task<DockerHostMachine> HostMachineAsync(DockerEngine engine, string cacheDir, string? agentOverride, long imageSize, Harness.Faults.IFaultInjector? fault, TextWriter progress, CancellationToken cancellationToken)
    {
        // The loop device is attached here and passed by path: the engine must run on this very host.
        if (!engine.Endpoint.StartsWith("unix://", StringComparison.Ordinal))
            throw new MachineException($"docker-host attaches each cell's image to a loop device on this machine and passes it to the container, so it needs the engine of this machine (a unix socket), not {engine.Endpoint}; unset DOCKER_HOST or point it at unix:///var/run/docker.sock");
        var candidates = new[] { agentOverride, Environment.GetEnvironmentVariable("HARNESS_AGENT_AOT"), Path.Combine(cacheDir, "agent", "harness-agent") };
        var agent = candidates.FirstOrDefault(p => p is not null && File.Exists(p))
            ?? throw new MachineException($"no NativeAOT agent at {Path.Combine(cacheDir, "agent", "harness-agent")} (the container has no .NET runtime); run `make agent-aot` (or pass --agent)");
        var recipe = await RunnerImage.ResolveAsync(cancellationToken);
        var image = await new RunnerImage(cacheDir, progress).EnsureAsync(engine.Client, recipe, rebuild: false, cancellationToken);
        if (image.How != "present") progress.WriteLine($"runner image: {image.Tag} ready ({image.How}, {image.Seconds:F0} s)");
        return new DockerHostMachine(engine.Client, image.Tag, new DockerHostOptions(new AgentBinary(Path.GetFullPath(agent)), imageSize, fault), progress);
    }
}

public sealed class DockerCommand(TextWriter stdout, TextWriter stderr)
{
    public Command Create(CancellationToken cancellationToken)
    {
        var cache = new Option<string?>("--cache") { Description = "Cache folder (default $HARNESS_CACHE or .cache); the rootfs tar is kept in <cache>/docker" };
        var rebuild = new Option<bool>("--rebuild") { Description = "Build again from debootstrap even if the image and its cached tar exist" };
        var image = new Command("image", "Build (debootstrap + import, no registry) or find the runner image; print its tag and inputs") { cache, rebuild };
        image.SetAction(async (parse, _) =>
        {
            var cacheDir = CliApp.CacheDir(parse.GetValue(cache));
            using var engine = await DockerEngine.ConnectAsync(null, cancellationToken);
            var recipe = await RunnerImage.ResolveAsync(cancellationToken);
            var runner = new RunnerImage(cacheDir, stderr);
            var result = await runner.EnsureAsync(engine.Client, recipe, parse.GetValue(rebuild), cancellationToken);
            stdout.WriteLine($"{result.Tag} ({result.How}, {result.Seconds:F1} s) {result.Id}");
            stdout.Write(string.Concat(recipe.Describe().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => $"  {l}\n")));
            stdout.WriteLine($"  rootfs tar: {runner.TarFor(recipe)}");
            return 0;
        });
        return new Command("docker", "The Docker machine's runner image") { image };
    }

    public Command Doctor(CancellationToken cancellationToken)
    {
        var cache = new Option<string?>("--cache") { Description = "Cache folder (default $HARNESS_CACHE or .cache): where the KVM probe answer is kept" };
        var doctor = new Command("doctor", "Check what the docker and swarm machines need: engine, TLS (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) and its certificates' expiry, API version, swarm, KVM, runner image; print the fix for each gap. Exit 0 ready for --machine docker, 3 not") { cache };
        doctor.SetAction(async (parse, _) =>
        {
            var cacheDir = CliApp.CacheDir(parse.GetValue(cache));
            var ready = true;
            void Line(string what, bool? ok, string text) => stdout.WriteLine($"{what,-7} {(ok is null ? "--" : ok.Value ? "ok" : "NO"),-3} {text}");

            DockerConnection? connection = null;
            DockerEngine? engine = null;
            try
            {
                connection = DockerConnection.FromEnvironment();
                engine = await DockerEngine.ConnectToAsync(connection, cancellationToken);
            }
            catch (MachineException e) { Line("engine", false, e.Message); ready = false; }
            using var owned = engine;
            if (engine is not null) Line("engine", true, $"{engine.Endpoint}: Docker {engine.Version.Version}");
            if (connection is not null)
            {
                var (tlsOk, tlsText) = TlsStatus(connection, engine, DateTime.UtcNow);
                Line("tls", tlsOk, tlsText);
                ready &= tlsOk != false;
            }
            if (engine is not null)
            {
                var apiOk = engine.ApiVersion >= DockerEngine.MinimumApi;
                Line("api", apiOk, apiOk
                    ? $"{engine.Version.APIVersion} (needs {DockerEngine.MinimumApi})"
                    : $"{engine.Version.APIVersion} is older than {DockerEngine.MinimumApi}: upgrade the engine (Debian 12's docker.io 20.10 speaks 1.41)");
                ready &= apiOk;
                var swarm = await engine.SwarmStateAsync(cancellationToken);
                Line("swarm", swarm == "active" ? true : null, swarm == "active"
                    ? "active"
                    : $"{swarm}: only --machine swarm needs it; `docker swarm init --advertise-addr 127.0.0.1` makes a single-node swarm");
            }

            var probe = new KvmProbeCache(Path.Combine(cacheDir, "kvm-probe.json"));
            var answer = probe.Find(KvmProbeCache.KeyFor("qemu-system-x86_64", "/dev/kvm"));
            Line("kvm", answer is null ? null : answer.Acceleration == Acceleration.Kvm, answer switch
            {
                null => $"not probed on this host yet (no current answer in {probe.File}); the first `harness run --machine qemu|docker` probes it (up to 30 s)",
                { Acceleration: Acceleration.Kvm } => $"{answer.Reason}: containers get /dev/kvm",
                _ => $"{answer.Reason} (probed {answer.ProbedAt:yyyy-MM-dd HH:mm}): containers run QEMU under TCG without /dev/kvm; `harness run --accel kvm` probes again",
            });

            if (engine is not null)
            {
                try
                {
                    var recipe = await RunnerImage.ResolveAsync(cancellationToken);
                    var present = await RunnerImage.InspectAsync(engine.Client, recipe.Tag, cancellationToken);
                    var tar = new RunnerImage(cacheDir, TextWriter.Null).TarFor(recipe);
                    Line("image", present is not null ? true : null, present is not null
                        ? $"{recipe.Tag} present"
                        : File.Exists(tar)
                            ? $"{recipe.Tag} not in the engine; imported from {tar} on first use (seconds), or now: `harness docker image`"
                            : $"{recipe.Tag} not built; built on first use (debootstrap, minutes), or now: `harness docker image`");
                }
                catch (MachineException e) { Line("image", false, e.Message); }
            }
            return ready ? 0 : CliApp.ExitInfrastructure;
        });
        return doctor;
    }

    /// <summary>Under this many days to its end a certificate is a warning in `doctor`.</summary>
    public const int ExpiryWarningDays = 14;

    /// <summary>
    /// Doctor's tls line: plain or TLS, which files, and when the client's (and the engine's)
    /// certificate ends; ok null is a warning (plain tcp, a certificate ending within 14 days).
    /// </summary>
    public static (bool? Ok, string Text) TlsStatus(DockerConnection connection, DockerEngine? engine, DateTime now)
    {
        if (connection.Tls is not { } files)
            return connection.Endpoint.StartsWith("unix://", StringComparison.Ordinal)
                ? (null, $"not used: a unix socket{(connection.TlsIgnored is { } ignored ? $" ({ignored})" : "")}")
                : (null, $"not used: plain HTTP to {connection.Endpoint}; an engine listening on tcp without TLS is root on its host for anyone who reaches that port: run it with --tlsverify and set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH");
        var text = $"verify the engine against {files.CaFile} only; client {files.CertFile} + {files.KeyFile} (folder: {files.FolderFrom})";
        X509Certificate2? client = engine?.Tls?.ClientCertificate;
        if (client is null && File.Exists(files.CertFile))
        {
            try { client = X509Certificate2.CreateFromPem(File.ReadAllText(files.CertFile)); }
            catch (CryptographicException) { /* the engine line already says why it failed */ }
        }
        bool? ok = engine is not null;
        string Ends(string what, X509Certificate2 certificate)
        {
            var days = (int)Math.Floor((certificate.NotAfter.ToUniversalTime() - now).TotalDays);
            if (certificate.NotAfter.ToUniversalTime() <= now)
            {
                ok = false;
                return $"; {what} EXPIRED on {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC: make a new one";
            }
            if (days < ExpiryWarningDays)
            {
                ok = ok == true ? null : ok;
                return $"; {what} ends {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC, in {days} day(s): renew it soon";
            }
            return $"; {what} valid until {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd} ({days} days)";
        }
        if (client is not null) text += Ends("client cert", client);
        if (engine?.Tls?.ServerCertificate is { } server) text += Ends("engine cert", server);
        return (ok, text);
    }
}
