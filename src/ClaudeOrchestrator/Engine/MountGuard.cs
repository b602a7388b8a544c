using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;

namespace ClaudeOrchestrator.Engine
{
    /// <summary>
    /// The project directory is the only thing the agent can write outside its container, so a
    /// directory that would hand it the machine (/, the home directory, the Docker socket) or the
    /// module's own state is refused before any container exists. Symlinks are resolved first.
    /// </summary>
    internal static class MountGuard
    {
        private static readonly string[] WellKnownSockets =
        {
            "/var/run/docker.sock", "/run/docker.sock", "/run/user/{uid}/docker.sock",
        };

        /// <summary>Returns the resolved project path, or throws ProjectPathRefused.</summary>
        public static string Check(string projectPath)
        {
            var resolved = Resolve(projectPath);
            var refusal = Reason(resolved);
            if (refusal != null)
            {
                throw new OrchestratorException(ErrorIds.ProjectPathRefused, ErrorCategory.SecurityError,
                    $"Refusing to mount '{projectPath}'{(resolved != projectPath ? $" (resolves to '{resolved}')" : "")} into a task container: {refusal}. " +
                    "Point -Path at the project's own directory.", projectPath);
            }

            return resolved;
        }

        private static string Resolve(string path)
        {
            if (NativeUnix.IsUnix)
            {
                return NativeUnix.RealPath(path) ?? Path.GetFullPath(path);
            }

            return Path.GetFullPath(path);
        }

        private static string Reason(string path)
        {
            if (Path.GetPathRoot(path) is string root && string.Equals(path.TrimEnd('\\', '/'), root.TrimEnd('\\', '/'), ModulePaths.PathComparison))
            {
                return "it is the root of the file system";
            }

            var home = Resolve(ModulePaths.Home);
            if (ModulePaths.IsSameOrInside(home, path))
            {
                return string.Equals(home, path, ModulePaths.PathComparison)
                    ? "it is your home directory"
                    : "it contains your home directory";
            }

            foreach (var socket in DockerSockets())
            {
                if (ModulePaths.IsSameOrInside(socket, path))
                {
                    return $"it contains the Docker socket {socket}";
                }
            }

            foreach (var own in new[] { ModulePaths.StateDirectory, ModulePaths.ProfilesDirectory })
            {
                var ownResolved = Directory.Exists(own) ? Resolve(own) : Path.GetFullPath(own);
                if (ModulePaths.IsSameOrInside(path, ownResolved) || ModulePaths.IsSameOrInside(ownResolved, path))
                {
                    return $"it overlaps the module's own directory {ownResolved}";
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
