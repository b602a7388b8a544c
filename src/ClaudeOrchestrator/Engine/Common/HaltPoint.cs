using System;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Threading;

namespace ClaudeOrchestrator.Engine.Common
{
    /// <summary>
    /// A test hook for "killed at any moment": when CLAUDE_ORCHESTRATOR_HALT_AT names a step of a
    /// task's life, reaching that step SIGKILLs this process, as a power cut would at exactly that
    /// moment. "git:&lt;command&gt;" names a git command the module runs: that git process is killed
    /// with it, CLAUDE_ORCHESTRATOR_HALT_DELAY_MS (default 30) after it started, leaving whatever
    /// it had half-written (locks, part of a checkout). Unset, as for every user, it costs one
    /// comparison per step. Unix only.
    /// </summary>
    internal static class HaltPoint
    {
        public const string Variable = "CLAUDE_ORCHESTRATOR_HALT_AT";
        public const string DelayVariable = "CLAUDE_ORCHESTRATOR_HALT_DELAY_MS";

        private static readonly string At = Environment.GetEnvironmentVariable(Variable);

        /// <summary>Where a task's life can be cut: each name is a moment between two durable steps.</summary>
        public static class Steps
        {
            public const string RecordStaged = "record-staged";
            public const string RecordWritten = "record-written";
            public const string BranchCreated = "branch-created";
            public const string CheckoutWritten = "checkout-written";
            public const string HostRepositoryStarted = "host-git-started";
            public const string Launched = "launched";
            public const string AgentEnded = "agent-ended";
            public const string BranchMoved = "branch-moved";
            public const string WorkRecorded = "work-recorded";
            public const string CheckoutPartlyDeleted = "checkout-partly-deleted";
            public const string CheckoutDeleted = "checkout-deleted";
        }

        /// <summary>Dies here when the hook names <paramref name="step"/>.</summary>
        public static void Reached(string step)
        {
            if (At != null && string.Equals(At, step, StringComparison.Ordinal))
            {
                Die(null);
            }
        }

        /// <summary>For a git command just started: when the hook names it, it and this process die a moment later.</summary>
        public static void GitStarted(string command, Process git)
        {
            if (At == null || !At.StartsWith("git:", StringComparison.Ordinal) || !string.Equals(At.Substring(4), command, StringComparison.Ordinal))
            {
                return;
            }

            var delay = int.TryParse(Environment.GetEnvironmentVariable(DelayVariable), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) ? ms : 30;
            Thread.Sleep(delay);
            Die(git);
        }

        private static void Die(Process git)
        {
            if (git != null)
            {
                kill(git.Id, SigKill);
            }

            kill(getpid(), SigKill);
        }

        private const int SigKill = 9;

        [DllImport("libc")]
        private static extern int kill(int pid, int signal);

        [DllImport("libc")]
        private static extern int getpid();
    }
}
