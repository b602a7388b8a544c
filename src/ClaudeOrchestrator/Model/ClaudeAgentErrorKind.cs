namespace ClaudeOrchestrator
{
    /// <summary>Why the agent itself reported failure, when it said (Claude Code's result event).</summary>
    public enum ClaudeAgentErrorKind
    {
        /// <summary>The API refused the credentials, or none were given (HTTP 401/403, "Not logged in").</summary>
        AuthenticationFailed,

        /// <summary>HTTP 429: retried by Start-ClaudeTask after a back-off.</summary>
        RateLimited,

        /// <summary>HTTP 529: retried by Start-ClaudeTask after a back-off.</summary>
        Overloaded,

        /// <summary>-MaxTurns was reached before the agent finished.</summary>
        MaxTurnsReached,

        /// <summary>-MaxBudgetUsd was spent before the agent finished.</summary>
        BudgetExceeded,

        /// <summary>Any other error the agent reported.</summary>
        Other,
    }
}
