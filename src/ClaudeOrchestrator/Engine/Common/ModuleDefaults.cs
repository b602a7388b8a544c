using System;
using System.Collections.Generic;
using System.IO;

namespace ClaudeOrchestrator.Engine.Common
{
    /// <summary>Documented defaults and the environment variables that change them.</summary>
    internal static class ModuleDefaults
    {
        public const string ImageVariable = "CLAUDE_ORCHESTRATOR_IMAGE";
        public const string ProjectsRootVariable = "CLAUDE_PROJECTS_ROOT";
        public const string DefaultImage = "claude-orchestrator-agent:latest";

        /// <summary>Task branches are this prefix and the task id (claude/k7q2m9xa), unless -BranchPrefix or the profile says otherwise.</summary>
        public const string BranchPrefix = "claude/";

        /// <summary>
        /// Non-interactive Claude Code reporting one JSON event per line; the container is the
        /// permission boundary (IS_SANDBOX=1 tells the CLI so, which lets it run as root).
        /// </summary>
        public static readonly IReadOnlyList<string> DefaultAgentCommand = new[]
        {
            "claude", "--print", "--output-format", "stream-json", "--verbose", "--dangerously-skip-permissions",
        };

        /// <summary>How often a task runs when the API is rate limited or overloaded (the first run and two retries).</summary>
        public const int MaxAttempts = 3;

        /// <summary>The first retry's wait; it doubles for each one after.</summary>
        public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(30);

        /// <summary>No single wait is longer than this.</summary>
        public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(5);

        /// <summary>Tasks run at once from one pipeline of Start-ClaudeTask.</summary>
        public const int ThrottleLimit = 4;

        /// <summary>Credentials and endpoints the agent needs, passed through when set in this process.</summary>
        public static readonly IReadOnlyList<string> PassThroughVariables = new[]
        {
            "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "CLAUDE_CODE_OAUTH_TOKEN",
        };

        public static string Image(string explicitImage)
        {
            if (!string.IsNullOrWhiteSpace(explicitImage))
            {
                return explicitImage;
            }

            var fromEnvironment = Environment.GetEnvironmentVariable(ImageVariable);
            return string.IsNullOrWhiteSpace(fromEnvironment) ? DefaultImage : fromEnvironment;
        }

        public static string ProjectsRoot()
        {
            var root = Environment.GetEnvironmentVariable(ProjectsRootVariable);
            if (!string.IsNullOrWhiteSpace(root))
            {
                return root;
            }

            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return Path.Combine(home, "projects");
        }
    }
}
