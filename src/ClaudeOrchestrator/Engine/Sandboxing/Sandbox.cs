using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using System.Text.RegularExpressions;
using Docker.DotNet.Models;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;

namespace ClaudeOrchestrator.Engine.Sandboxing
{
    /// <summary>
    /// The task container is the security boundary: the agent may do anything inside it. These are
    /// its limits and hardening, with documented defaults that parameters override.
    /// </summary>
    internal sealed class Sandbox
    {
        public const string DefaultMemory = "4g";
        public const double DefaultCpus = 2;
        public const long DefaultPidsLimit = 512;
        public const string DefaultNetwork = "bridge";
        public const string AgentHome = "/home/agent";
        public const string TmpOptions = "rw,noexec,nosuid,nodev,size=512m";
        public const string HomeOptions = "rw,nosuid,nodev,size=1g,mode=1777";

        /// <summary>Where Claude Code keeps its state (CLAUDE_CONFIG_DIR): a directory of the task's own on the host.</summary>
        public const string AgentStatePath = AgentHome + "/.claude";
        public const string AgentStateVariable = "CLAUDE_CONFIG_DIR";

        /// <summary>
        /// Claude Code refuses --dangerously-skip-permissions as root unless told it runs in a
        /// sandbox; the task container is one (read-only root, no capabilities beyond file work).
        /// </summary>
        public const string SandboxVariable = "IS_SANDBOX";

        // Enough for file work in the project; everything else (setuid, raw sockets, mknod...) is gone.
        public static readonly IReadOnlyList<string> KeptCapabilities = new[] { "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL" };

        private static readonly Regex SizePattern = new Regex(@"^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)b?\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

        // The engine's own minimum for a memory limit.
        private const long MinimumMemory = 6 * 1024 * 1024;

        public long MemoryBytes { get; set; } = ParseMemory(DefaultMemory);
        public double Cpus { get; set; } = DefaultCpus;
        public long PidsLimit { get; set; } = DefaultPidsLimit;
        /// <summary>The network named by -Network or the profile; null for the egress gateway's.</summary>
        public string Network { get; set; }

        /// <summary>Container user; null means the image's own user.</summary>
        public string User { get; set; } = NativeUnix.IsUnix ? NativeUnix.CallerUserSpec() : null;

        /// <summary>True when -User chose the user; otherwise it follows the engine (see <see cref="AdaptTo"/>).</summary>
        public bool UserGiven { get; set; }

        /// <summary>
        /// Bind mounts get the shared SELinux label (the ",z" option), so a container on an
        /// enforcing SELinux host may read and write them. Off by default: relabelling changes the
        /// project files' labels on the host.
        /// </summary>
        public bool SELinuxRelabel { get; set; }

        /// <summary>
        /// A rootless engine maps the container's root to the caller and every other uid to a
        /// subordinate one, so the caller's own uid inside would leave the agent's files owned by
        /// a stranger on the host: there the default user is root, which is the caller outside.
        /// </summary>
        public void AdaptTo(EngineFacts facts)
        {
            if (facts != null && facts.Rootless && !UserGiven)
            {
                User = "0:0";
            }
        }

        /// <summary>"4g", "512m", "1.5GB", "1048576": a memory size in bytes, or an exception that says why not.</summary>
        public static long ParseMemory(string text)
        {
            var match = SizePattern.Match(text ?? string.Empty);
            if (!match.Success)
            {
                throw new FormatException($"'{text}' is not a memory size; use a number with an optional unit b, k, m, g or t, e.g. 4g or 512m.");
            }

            var amount = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            var unit = match.Groups[2].Value.ToLowerInvariant();
            var factor = unit == "k" ? 1L << 10 : unit == "m" ? 1L << 20 : unit == "g" ? 1L << 30 : unit == "t" ? 1L << 40 : 1L;
            var bytes = (long)(amount * factor);
            if (bytes < MinimumMemory)
            {
                throw new FormatException($"'{text}' is below the engine's minimum memory limit of 6m.");
            }

            return bytes;
        }

        /// <summary>Refuses network modes that would share a namespace with the host or another container.</summary>
        public static string CheckNetwork(string network)
        {
            var mode = string.IsNullOrWhiteSpace(network) ? DefaultNetwork : network.Trim();
            if (string.Equals(mode, "host", StringComparison.OrdinalIgnoreCase) ||
                mode.StartsWith("container:", StringComparison.OrdinalIgnoreCase))
            {
                throw new OrchestratorException(ErrorIds.NetworkRefused, ErrorCategory.SecurityError,
                    $"The network mode '{mode}' would share a network namespace with the host or another container; use bridge (default), none, or a network of your own.",
                    mode);
            }

            return mode;
        }

        /// <summary>
        /// The mounts API has no relabel option, the binds form has: each bind mount becomes
        /// "source:target[:ro],z". A source with a colon cannot be written that way and stays a mount.
        /// </summary>
        private static void Relabel(HostConfig host)
        {
            var binds = host.Mounts.Where(m => m.Type == "bind" && m.Source.IndexOf(':') < 0).ToList();
            host.Binds = binds.Select(m => $"{m.Source}:{m.Target}:{(m.ReadOnly == true ? "ro," : string.Empty)}z").ToList();
            foreach (var bind in binds)
            {
                host.Mounts.Remove(bind);
            }
        }

        public void Apply(HostConfig host, IList<string> environment)
        {
            host.Memory = MemoryBytes;
            host.MemorySwap = MemoryBytes; // equal to Memory: no swap
            host.NanoCPUs = (long)(Cpus * 1_000_000_000);
            host.PidsLimit = PidsLimit;
            host.ReadonlyRootfs = true;
            host.Tmpfs = new Dictionary<string, string>
            {
                ["/tmp"] = TmpOptions,
                [AgentHome] = HomeOptions,
            };
            host.SecurityOpt = new List<string> { "no-new-privileges" };
            host.CapDrop = new List<string> { "ALL" };
            host.CapAdd = new List<string>(KeptCapabilities);
            host.Privileged = false;
            // Fail closed: without a network chosen (the gateway's comes later), none.
            host.NetworkMode = Network ?? "none";
            if (SELinuxRelabel)
            {
                Relabel(host);
            }

            if (!environment.Any(e => e.StartsWith("HOME=", StringComparison.Ordinal)))
            {
                environment.Add("HOME=" + AgentHome);
            }

            if (!environment.Any(e => e.StartsWith(SandboxVariable + "=", StringComparison.Ordinal)))
            {
                environment.Add(SandboxVariable + "=1");
            }
        }
    }
}
