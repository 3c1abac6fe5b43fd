// Which agent binary the end-to-end tests run: the NativeAOT one when `make test` published
// it (HARNESS_AGENT_AOT), so the binary that goes into guests is the one tested; else the
// framework-dependent build beside the tests.
using Harness.Machines;

namespace Harness.Tests.Support;

public static class TestAgent
{
    public static AgentBinary Binary
    {
        get
        {
            var aot = Environment.GetEnvironmentVariable("HARNESS_AGENT_AOT");
            return aot is not null && File.Exists(aot) ? new AgentBinary(aot) : AgentBinary.Default(null);
        }
    }

    /// <summary>The NativeAOT agent for guests: $HARNESS_AGENT_AOT, else the cache's, else the repo's .cache.</summary>
    public static string AotPath(string cacheRoot) =>
        new[] { Environment.GetEnvironmentVariable("HARNESS_AGENT_AOT"), Path.Combine(cacheRoot, "agent", "harness-agent"), Path.Combine(RepoPaths.Root, ".cache", "agent", "harness-agent") }
            .FirstOrDefault(p => p is not null && File.Exists(p))
        ?? throw new InvalidOperationException("no NativeAOT agent: run `make agent-aot` (make test does)");
}
