using System.Globalization;
using System.Text;
using ClaudeOrchestrator.Engine.Agent;

namespace ClaudeOrchestrator.Hosting
{
    /// <summary>A running task's activity in a few words, for a progress bar or a job's status.</summary>
    internal static class ActivityStatus
    {
        /// <summary>Turns, the tool at work and what was spent so far, when the agent reports events.</summary>
        public static string Text(AgentActivity activity)
        {
            if (activity == null || !activity.SawEvents)
            {
                return string.Empty;
            }

            var tokens = activity.Tokens;
            var text = new StringBuilder();
            text.Append(" · turn ").Append(activity.Turns.ToString(CultureInfo.InvariantCulture));
            var tool = activity.CurrentTool;
            if (tool != null)
            {
                text.Append(" · ").Append(tool.Length > 60 ? tool.Substring(0, 57) + "..." : tool);
            }

            var cost = activity.CostSoFar(out var estimated);
            text.Append(" · ").Append(cost.HasValue
                ? (estimated ? "~$" : "$") + cost.Value.ToString("0.0000", CultureInfo.InvariantCulture)
                : (tokens.Input + tokens.CacheRead + tokens.CacheCreation + tokens.Output).ToString("N0", CultureInfo.InvariantCulture) + " tokens");
            return text.ToString();
        }
    }
}
