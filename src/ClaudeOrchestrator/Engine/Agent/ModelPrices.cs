using System;

namespace ClaudeOrchestrator.Engine.Agent
{
    /// <summary>
    /// List prices of the models Claude Code runs, for a running task's cost so far: Claude Code
    /// reports its cost only in the result event at the end of a run, while every assistant
    /// message carries its token usage. The result's own figure replaces the estimate as soon as
    /// it arrives; a model not in this table has no estimate (its cost so far is what it reported).
    /// </summary>
    internal static class ModelPrices
    {
        // US dollars per million tokens: input, output, cache write (5 minutes), cache read.
        private static readonly (string Family, double Input, double Output, double CacheWrite, double CacheRead)[] Families =
        {
            ("opus-4-5", 5, 25, 6.25, 0.50),
            ("opus-4-1", 15, 75, 18.75, 1.50),
            ("opus-4", 15, 75, 18.75, 1.50),
            ("sonnet-4", 3, 15, 3.75, 0.30),
            ("3-7-sonnet", 3, 15, 3.75, 0.30),
            ("haiku-4-5", 1, 5, 1.25, 0.10),
            ("3-5-haiku", 0.80, 4, 1, 0.08),
        };

        /// <summary>What <paramref name="usage"/> costs on <paramref name="model"/> at list price; null for a model this table does not know.</summary>
        public static double? Estimate(string model, AgentActivity.Usage usage)
        {
            if (string.IsNullOrEmpty(model) || usage == null)
            {
                return null;
            }

            // Names read "claude-sonnet-4-5-20250929" or "claude-3-5-haiku-20241022"; the first family that appears wins.
            foreach (var price in Families)
            {
                if (model.IndexOf(price.Family, StringComparison.OrdinalIgnoreCase) >= 0)
                {
                    return (usage.Input * price.Input + usage.Output * price.Output +
                            usage.CacheCreation * price.CacheWrite + usage.CacheRead * price.CacheRead) / 1_000_000.0;
                }
            }

            return null;
        }
    }
}
