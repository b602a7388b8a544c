using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Agent
{
    /// <summary>
    /// Start-ClaudeTask's agent parameters as Claude Code's own flags (names checked against
    /// `claude --help` of 2.1.x). Each takes one argument in the --flag=value form: the tool
    /// lists are variadic options, which in the spaced form would swallow the prompt after them.
    /// </summary>
    internal sealed class ClaudeCliOptions
    {
        public string Model { get; set; }
        public int? MaxTurns { get; set; }
        public double? MaxBudgetUsd { get; set; }
        public IList<string> AllowedTools { get; set; }
        public IList<string> DisallowedTools { get; set; }
        public string AppendSystemPrompt { get; set; }

        /// <summary>Claude Code's session to continue (--resume); set by -Resume.</summary>
        public string ResumeSession { get; set; }

        public bool IsEmpty =>
            Model == null && MaxTurns == null && MaxBudgetUsd == null && AllowedTools == null && DisallowedTools == null &&
            AppendSystemPrompt == null && ResumeSession == null;

        public IEnumerable<string> Arguments()
        {
            if (Model != null)
            {
                yield return "--model=" + Model;
            }

            if (MaxTurns != null)
            {
                yield return "--max-turns=" + MaxTurns.Value.ToString(CultureInfo.InvariantCulture);
            }

            if (MaxBudgetUsd != null)
            {
                yield return "--max-budget-usd=" + MaxBudgetUsd.Value.ToString("0.######", CultureInfo.InvariantCulture);
            }

            if (AllowedTools != null && AllowedTools.Count > 0)
            {
                yield return "--allowedTools=" + string.Join(",", AllowedTools);
            }

            if (DisallowedTools != null && DisallowedTools.Count > 0)
            {
                yield return "--disallowedTools=" + string.Join(",", DisallowedTools);
            }

            if (AppendSystemPrompt != null)
            {
                yield return "--append-system-prompt=" + AppendSystemPrompt;
            }

            if (ResumeSession != null)
            {
                yield return "--resume=" + ResumeSession;
            }
        }

        /// <summary>
        /// The agent command with these options added. They are Claude Code's flags: with another
        /// agent command they would be meaningless, so that is refused before anything is created.
        /// </summary>
        public List<string> ApplyTo(IList<string> agentCommand)
        {
            var argv = new List<string>(agentCommand);
            if (IsEmpty)
            {
                return argv;
            }

            var program = argv.FirstOrDefault() ?? string.Empty;
            var name = program.Substring(program.LastIndexOf('/') + 1);
            if (!string.Equals(name, "claude", StringComparison.Ordinal))
            {
                throw new OrchestratorException(ErrorIds.AgentOptionsUnsupported, ErrorCategory.InvalidArgument,
                    $"-Model, -MaxTurns, -MaxBudgetUsd, -AllowedTools, -DisallowedTools, -AppendSystemPrompt and -Resume are Claude Code's options; the agent command '{program}' is not claude.", program);
            }

            argv.AddRange(Arguments());
            return argv;
        }

        public static int? ParseMaxTurns(string text)
        {
            if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var turns) || turns < 1)
            {
                throw new FormatException($"'{text}' is not a positive number of turns.");
            }

            return turns;
        }

        public static double? ParseBudget(string text)
        {
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var usd) || usd <= 0 || double.IsInfinity(usd))
            {
                throw new FormatException($"'{text}' is not a positive amount of US dollars.");
            }

            return usd;
        }
    }
}
