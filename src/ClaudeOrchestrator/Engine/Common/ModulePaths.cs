using System;
using System.IO;
using System.Runtime.InteropServices;

namespace ClaudeOrchestrator.Engine.Common
{
    /// <summary>Where the module keeps its own files, per platform convention.</summary>
    internal static class ModulePaths
    {
        public static string Home => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

        /// <summary>XDG_STATE_HOME or ~/.local/state on Linux/macOS, LOCALAPPDATA on Windows.</summary>
        public static string StateDirectory
        {
            get
            {
                if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
                {
                    return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "ClaudeOrchestrator");
                }

                var xdg = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
                var root = string.IsNullOrEmpty(xdg) ? Path.Combine(Home, ".local", "state") : xdg;
                return Path.Combine(root, "claude-orchestrator");
            }
        }

        /// <summary>Per-project profiles: $env:CLAUDE_PROJECTS_DIR, default ~/.claude-projects.</summary>
        public static string ProfilesDirectory
        {
            get
            {
                var configured = Environment.GetEnvironmentVariable("CLAUDE_PROJECTS_DIR");
                return string.IsNullOrEmpty(configured) ? Path.Combine(Home, ".claude-projects") : configured;
            }
        }

        public static StringComparison PathComparison =>
            RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;

        /// <summary>True when <paramref name="inner"/> is <paramref name="outer"/> or lies beneath it.</summary>
        public static bool IsSameOrInside(string inner, string outer)
        {
            var a = Trim(inner);
            var b = Trim(outer);
            return string.Equals(a, b, PathComparison) ||
                   a.StartsWith(b.EndsWith(Path.DirectorySeparatorChar.ToString(), StringComparison.Ordinal) ? b : b + Path.DirectorySeparatorChar, PathComparison);
        }

        private static string Trim(string path)
        {
            var full = Path.GetFullPath(path);
            var trimmed = full.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
            return trimmed.Length == 0 || trimmed.EndsWith(":", StringComparison.Ordinal) ? full : trimmed;
        }
    }
}
