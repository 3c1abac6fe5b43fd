// A reason the agent cannot run that is not a failed system call (bad request, missing
// directory, no permission to drop caches). Its message goes into AgentReport.Error as is.
namespace Harness.Agent;

/// <summary>The agent could not run; the message says why and what would help.</summary>
public sealed class AgentException(string message, Exception? inner = null) : Exception(message, inner);
