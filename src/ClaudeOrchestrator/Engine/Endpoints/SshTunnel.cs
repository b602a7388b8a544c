using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Text;
using System.Threading;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Git;

namespace ClaudeOrchestrator.Engine.Endpoints
{
    /// <summary>
    /// An engine reached over ssh://[user@]host[:port][/socket]: one ssh process per endpoint for
    /// the whole session forwards a local unix socket to the engine's socket on that host (the
    /// path, or /var/run/docker.sock), and every request, attach and event stream goes through
    /// it as separate channels of that one connection. ssh's own configuration (keys, agent,
    /// known hosts, ProxyJump) applies; CLAUDE_ORCHESTRATOR_SSH_COMMAND replaces "ssh" (words
    /// separated by spaces, as GIT_SSH_COMMAND). The remote side runs `cat` on the session's
    /// stdin: when this process ends in any way, even SIGKILL, its end of that pipe closes, cat
    /// ends, and ssh with it, so no tunnel outlives its session; and the engine sees every
    /// attach connection close, so each task's watcher ends its agent as on a local engine.
    /// </summary>
    internal sealed class SshTunnel
    {
        public const string CommandVariable = "CLAUDE_ORCHESTRATOR_SSH_COMMAND";
        private const string DefaultRemoteSocket = "/var/run/docker.sock";
        private const string SocketPrefix = "co-ssh-";

        // Connecting, authenticating and forwarding; a host that asks for a password fails at once (BatchMode).
        private static readonly TimeSpan OpenLimit = TimeSpan.FromSeconds(20);

        private static readonly Dictionary<string, SshTunnel> Open = new Dictionary<string, SshTunnel>(StringComparer.Ordinal);
        private static readonly object Gate = new object();

        private readonly Process _ssh;
        private readonly StringBuilder _errors = new StringBuilder();

        private SshTunnel(Process ssh, string localSocket)
        {
            _ssh = ssh;
            LocalSocket = localSocket;
        }

        /// <summary>The local end: what the Docker client connects to.</summary>
        public string LocalSocket { get; }

        /// <summary>The tunnel for <paramref name="endpoint"/>, opened once per session (again if its ssh has ended).</summary>
        public static SshTunnel For(Uri endpoint)
        {
            var key = EngineEndpoints.Normalize(endpoint.ToString());
            lock (Gate)
            {
                if (Open.TryGetValue(key, out var tunnel) && !tunnel._ssh.HasExited)
                {
                    return tunnel;
                }

                tunnel = Start(endpoint);
                Open[key] = tunnel;
                return tunnel;
            }
        }

        /// <summary>Ends every tunnel of this process and removes its local socket (ssh leaves the file behind): the process is going away.</summary>
        public static void CloseAll()
        {
            List<SshTunnel> tunnels;
            lock (Gate)
            {
                tunnels = Open.Values.ToList();
                Open.Clear();
            }

            foreach (var tunnel in tunnels)
            {
                try
                {
                    if (!tunnel._ssh.HasExited)
                    {
                        tunnel._ssh.Kill();
                    }
                }
                catch (InvalidOperationException)
                {
                }

                Files.TryDelete(tunnel.LocalSocket);
            }
        }

        /// <summary>
        /// The local sockets of sessions that are gone (killed, so nothing removed them): named
        /// co-ssh-&lt;pid&gt;-&lt;random&gt;.sock by this module, and left alone while that process runs.
        /// </summary>
        private static void RemoveStaleSockets()
        {
            try
            {
                foreach (var file in Directory.EnumerateFiles(Path.GetTempPath(), SocketPrefix + "*.sock"))
                {
                    var parts = Path.GetFileName(file).Substring(SocketPrefix.Length).Split('-');
                    if (parts.Length == 2 && int.TryParse(parts[0], out var pid) && pid != SessionIdentity.ProcessId && OwnerLiveness.IsProvablyGone(pid, null))
                    {
                        Files.TryDelete(file);
                    }
                }
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                // Housekeeping only.
            }
        }

        private static SshTunnel Start(Uri endpoint)
        {
            RemoveStaleSockets();
            var remoteSocket = string.IsNullOrEmpty(endpoint.AbsolutePath) || endpoint.AbsolutePath == "/" ? DefaultRemoteSocket : Uri.UnescapeDataString(endpoint.AbsolutePath);
            var local = Path.Combine(Path.GetTempPath(), $"{SocketPrefix}{SessionIdentity.ProcessId}-{Guid.NewGuid().ToString("N").Substring(0, 8)}.sock");
            var words = (Environment.GetEnvironmentVariable(CommandVariable) ?? "ssh").Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0)
            {
                words = new[] { "ssh" };
            }

            var start = new ProcessStartInfo(words[0])
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            var arguments = words.Skip(1).ToList();
            arguments.AddRange(new[]
            {
                "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes", "-o", "StreamLocalBindUnlink=yes",
                "-T", "-L", local + ":" + remoteSocket,
            });
            if (endpoint.Port > 0)
            {
                arguments.Add("-p");
                arguments.Add(endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            if (!string.IsNullOrEmpty(endpoint.UserInfo))
            {
                arguments.Add("-l");
                arguments.Add(Uri.UnescapeDataString(endpoint.UserInfo));
            }

            arguments.Add(endpoint.Host);
            arguments.Add("cat");
            start.Arguments = string.Join(" ", arguments.Select(GitCli.Quote));

            Process ssh;
            try
            {
                ssh = Process.Start(start);
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new OrchestratorException(ErrorIds.EngineNotFound, ErrorCategory.NotInstalled,
                    $"The engine '{endpoint}' is reached over ssh, and '{words[0]}' cannot be run ({e.Message}). Install an OpenSSH client, or set {CommandVariable}.", endpoint.ToString(), e);
            }

            var tunnel = new SshTunnel(ssh, local);
            ssh.ErrorDataReceived += (_, e) =>
            {
                if (e.Data != null)
                {
                    lock (tunnel._errors)
                    {
                        tunnel._errors.AppendLine(e.Data);
                    }
                }
            };
            ssh.BeginErrorReadLine();
            // Nothing comes back on stdout (cat echoes nothing it is not sent); drained all the same.
            ssh.OutputDataReceived += (_, __) => { };
            ssh.BeginOutputReadLine();

            var watch = Stopwatch.StartNew();
            while (!File.Exists(local))
            {
                if (ssh.HasExited || watch.Elapsed > OpenLimit)
                {
                    string said;
                    lock (tunnel._errors)
                    {
                        said = tunnel._errors.ToString().Trim();
                    }

                    try
                    {
                        if (!ssh.HasExited)
                        {
                            ssh.Kill();
                        }
                    }
                    catch (InvalidOperationException)
                    {
                    }

                    throw new OrchestratorException(ErrorIds.EngineUnreachable, ErrorCategory.ConnectionError,
                        $"Cannot reach the Docker engine at {endpoint}: ssh could not forward {remoteSocket} " +
                        (ssh.HasExited ? $"(it exited with code {ssh.ExitCode}: {GitCli.FirstLines(said)})" : $"within {OpenLimit.TotalSeconds} s") +
                        ". The host must accept your key without a prompt (ssh-agent, or a key in ~/.ssh/config).",
                        endpoint.ToString());
                }

                Thread.Sleep(20);
            }

            return tunnel;
        }
    }
}
