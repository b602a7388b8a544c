using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Sandboxing
{
    /// <summary>
    /// The project directory is the only thing the agent can write outside its container, so a
    /// directory that would hand it the machine (/, the home directory, the Docker socket, the
    /// operating system's directories, the engine's data), the user's credentials or the
    /// module's own state is refused before any container exists. Symlinks are resolved first.
    /// Each refusal names its rule.
    /// </summary>
    internal static class MountGuard
    {
        internal const string RootRule = "FileSystemRoot";
        internal const string HomeRule = "HomeDirectory";
        internal const string SocketRule = "DockerSocket";
        internal const string ModuleRule = "ModuleDirectory";

        private static readonly string[] WellKnownSockets =
        {
            "/var/run/docker.sock", "/run/docker.sock", "/run/user/{uid}/docker.sock",
        };

        /// <summary>Returns the resolved project path, or throws ProjectPathRefused.</summary>
        public static string Check(string projectPath)
        {
            var resolved = Resolve(projectPath);
            Refuse(projectPath, resolved, Reason(resolved));
            return resolved;
        }

        /// <summary>
        /// The engine's data root is only known once the engine answers: checked by the task
        /// runner after it reaches the engine, still before anything is created.
        /// </summary>
        public static void CheckEngineDataRoot(string resolvedProjectPath, string dataRoot)
        {
            if (string.IsNullOrEmpty(dataRoot))
            {
                return;
            }

            var entry = new ProtectedPaths.Entry(ProtectedPaths.SystemRule, dataRoot, $"the container engine's data root {dataRoot}");
            var violation = ProtectedPaths.Violation(resolvedProjectPath, entry, Resolve);
            Refuse(resolvedProjectPath, resolvedProjectPath, violation == null ? null : (entry.Rule, violation.Value.Why));
        }

        private static void Refuse(string projectPath, string resolved, (string Rule, string Why)? refusal)
        {
            if (refusal == null)
            {
                return;
            }

            throw new OrchestratorException(ErrorIds.ProjectPathRefused, ErrorCategory.SecurityError,
                $"Refusing to mount '{projectPath}'{(resolved != projectPath ? $" (resolves to '{resolved}')" : "")} into a task container: " +
                $"{refusal.Value.Why} (rule {refusal.Value.Rule}). Point -Path at the project's own directory.", projectPath);
        }

        private static string Resolve(string path)
        {
            if (NativeUnix.IsUnix)
            {
                return NativeUnix.RealPath(path) ?? Path.GetFullPath(path);
            }

            return Path.GetFullPath(path);
        }

        private static (string Rule, string Why)? Reason(string path)
        {
            if (Path.GetPathRoot(path) is string root && string.Equals(path.TrimEnd('\\', '/'), root.TrimEnd('\\', '/'), ModulePaths.PathComparison))
            {
                return (RootRule, "it is the root of the file system");
            }

            var home = Resolve(ModulePaths.Home);
            if (ModulePaths.IsSameOrInside(home, path))
            {
                return (HomeRule, string.Equals(home, path, ModulePaths.PathComparison)
                    ? "it is your home directory"
                    : "it contains your home directory");
            }

            foreach (var socket in DockerSockets())
            {
                if (ModulePaths.IsSameOrInside(socket, path))
                {
                    return (SocketRule, $"it contains the Docker socket {socket}");
                }
            }

            // The most telling first: "is /etc" before "contains /usr/bin" for /usr.
            var protectedHit = ProtectedPaths.For(ModulePaths.Home)
                .Select(entry => (entry.Rule, Violation: ProtectedPaths.Violation(path, entry, Resolve)))
                .Where(v => v.Violation != null)
                .OrderBy(v => v.Violation.Value.Relation)
                .FirstOrDefault();
            if (protectedHit.Violation != null)
            {
                return (protectedHit.Rule, protectedHit.Violation.Value.Why);
            }

            foreach (var own in new[] { ModulePaths.StateDirectory, ModulePaths.ProfilesDirectory })
            {
                var ownResolved = Directory.Exists(own) ? Resolve(own) : Path.GetFullPath(own);
                if (ModulePaths.IsSameOrInside(path, ownResolved) || ModulePaths.IsSameOrInside(ownResolved, path))
                {
                    return (ModuleRule, $"it overlaps the module's own directory {ownResolved}");
                }
            }

            return null;
        }

        private static IEnumerable<string> DockerSockets()
        {
            var candidates = new List<string>();
            if (NativeUnix.IsUnix)
            {
                var uid = NativeUnix.CallerUserSpec().Split(':')[0];
                candidates.AddRange(WellKnownSockets.Select(s => s.Replace("{uid}", uid)));
                candidates.Add(Path.Combine(ModulePaths.Home, ".docker", "run", "docker.sock"));
            }

            var host = Environment.GetEnvironmentVariable("DOCKER_HOST");
            if (!string.IsNullOrEmpty(host) && host.StartsWith("unix://", StringComparison.OrdinalIgnoreCase))
            {
                candidates.Add(host.Substring("unix://".Length));
            }

            return candidates.Where(File.Exists).SelectMany(s => new[] { s, Resolve(s) }).Distinct();
        }
    }
}
