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
}
