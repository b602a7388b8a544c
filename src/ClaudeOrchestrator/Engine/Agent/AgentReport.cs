using System.Collections.Generic;
using System.Linq;

namespace ClaudeOrchestrator.Engine.Agent
{
    internal static class AgentReport
    {
        /// <summary>Adds one attempt's report: cost and tokens add up over attempts, the rest is the latest attempt's.</summary>
        public static void Add(IAgentReport target, AgentActivity activity)
        {
            if (!activity.SawEvents)
            {
                return;
            }

            target.AgentSessionId = activity.SessionId ?? target.AgentSessionId;
            target.Model = activity.Model ?? target.Model;
            target.Turns = activity.Turns;
            target.ResultText = activity.ResultText;
            target.ErrorKind = activity.ErrorKind;
            // A run that never reported its cost (stopped, timed out, crashed) still spent its tokens.
            var cost = activity.CostSoFar(out var estimated);
            if (cost.HasValue)
            {
                target.CostUsd = (target.CostUsd ?? 0) + cost.Value;
                target.CostEstimated |= estimated;
            }

            var tokens = activity.Tokens;
            target.InputTokens = (target.InputTokens ?? 0) + tokens.Input;
            target.OutputTokens = (target.OutputTokens ?? 0) + tokens.Output;
            target.CacheReadTokens = (target.CacheReadTokens ?? 0) + tokens.CacheRead;
            target.CacheCreationTokens = (target.CacheCreationTokens ?? 0) + tokens.CacheCreation;
        }

        public static void Copy(IAgentReport from, IAgentReport to)
        {
            to.AgentSessionId = from.AgentSessionId;
            to.Model = from.Model;
            to.Turns = from.Turns;
            to.CostUsd = from.CostUsd;
            to.CostEstimated = from.CostEstimated;
            to.InputTokens = from.InputTokens;
            to.OutputTokens = from.OutputTokens;
            to.CacheReadTokens = from.CacheReadTokens;
            to.CacheCreationTokens = from.CacheCreationTokens;
            to.ErrorKind = from.ErrorKind;
            to.Attempts = from.Attempts;
            to.ResultText = from.ResultText;
            to.ResumedFrom = from.ResumedFrom;
        }

        /// <summary>The variables through which the agent could authenticate.</summary>
        public static bool HasCredential(IDictionary<string, string> environment) =>
            new[] { "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN" }
                .Any(name => environment.TryGetValue(name, out var value) && !string.IsNullOrEmpty(value));

        /// <summary>The task's reason for an error the agent reported: its words, what it means, what to do. Never a secret.</summary>
        public static string Explain(ClaudeAgentErrorKind kind, string agentText, IDictionary<string, string> environment)
        {
            var said = string.IsNullOrWhiteSpace(agentText) ? string.Empty : $" (the agent said: {agentText.Trim()})";
            switch (kind)
            {
                case ClaudeAgentErrorKind.AuthenticationFailed:
                    return HasCredential(environment)
                        ? $"The Anthropic API refused the agent's credentials{said}. The key or token passed to the task is invalid or lacks access: check ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN, CLAUDE_CODE_OAUTH_TOKEN)."
                        : $"The agent is not authenticated{said}: no ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN or CLAUDE_CODE_OAUTH_TOKEN was set in this session or passed with -Environment.";
                case ClaudeAgentErrorKind.RateLimited:
                    return $"The Anthropic API rate limit was reached{said}.";
                case ClaudeAgentErrorKind.Overloaded:
                    return $"The Anthropic API was overloaded{said}.";
                case ClaudeAgentErrorKind.MaxTurnsReached:
                    return $"The agent reached its turn limit (-MaxTurns) before it finished{said}.";
                case ClaudeAgentErrorKind.BudgetExceeded:
                    return $"The agent spent its budget (-MaxBudgetUsd) before it finished{said}.";
                default:
                    return $"The agent reported an error{said}.";
            }
        }

        public static bool IsRetryable(ClaudeAgentErrorKind? kind) =>
            kind == ClaudeAgentErrorKind.RateLimited || kind == ClaudeAgentErrorKind.Overloaded;
    }
}
