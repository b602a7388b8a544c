using System;
using System.Management.Automation;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Hosting
{
    /// <summary>The non-terminating error that accompanies a task result that is not a success.</summary>
    internal static class TaskOutcomeErrors
    {
        public static ErrorRecord For(ClaudeTaskResult result)
        {
            switch (result.Status)
            {
                case ClaudeTaskStatus.Succeeded:
                // A task its fan-out's budget kept from starting: one warning said so for all of them.
                case ClaudeTaskStatus.NotStarted:
                    return null;
                case ClaudeTaskStatus.TimedOut:
                    return Record(ErrorIds.TaskTimedOut, ErrorCategory.OperationTimeout, result, new TimeoutException(Message(result)));
                case ClaudeTaskStatus.Cancelled:
                    return Record(ErrorIds.TaskCancelled, ErrorCategory.OperationStopped, result, new OperationCanceledException(Message(result)));
                default:
                    switch (result.ErrorKind)
                    {
                        case ClaudeAgentErrorKind.AuthenticationFailed:
                            return Record(ErrorIds.AgentAuthenticationFailed, ErrorCategory.AuthenticationError, result, new UnauthorizedAccessException(Message(result)));
                        case ClaudeAgentErrorKind.RateLimited:
                            return Record(ErrorIds.AgentRateLimited, ErrorCategory.LimitsExceeded, result, new InvalidOperationException(Message(result)));
                        case ClaudeAgentErrorKind.Overloaded:
                            return Record(ErrorIds.AgentOverloaded, ErrorCategory.ResourceUnavailable, result, new InvalidOperationException(Message(result)));
                        case ClaudeAgentErrorKind.MaxTurnsReached:
                            return Record(ErrorIds.AgentMaxTurnsReached, ErrorCategory.LimitsExceeded, result, new InvalidOperationException(Message(result)));
                        case ClaudeAgentErrorKind.BudgetExceeded:
                            return Record(ErrorIds.AgentBudgetExceeded, ErrorCategory.QuotaExceeded, result, new InvalidOperationException(Message(result)));
                        default:
                            return Record(ErrorIds.TaskFailed, ErrorCategory.NotSpecified, result, new InvalidOperationException(Message(result)));
                    }
            }
        }

        private static string Message(ClaudeTaskResult result) =>
            $"Claude task {result.TaskId} for '{result.Path}' {result.Status}: {result.Reason}";

        private static ErrorRecord Record(string id, ErrorCategory category, ClaudeTaskResult result, Exception exception) =>
            new ErrorRecord(exception, id, category, result);
    }
}
