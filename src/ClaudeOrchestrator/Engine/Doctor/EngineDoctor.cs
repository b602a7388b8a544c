using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet;
using Docker.DotNet.Models;
using ClaudeOrchestrator.Engine.Backends.Swarm;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Sandboxing;
using ClaudeOrchestrator.Engine.Workspaces;
using ClaudeOrchestrator.Engine.Tracking;

namespace ClaudeOrchestrator.Engine.Doctor
{
    /// <summary>
    /// What Test-ClaudeEngine checks: everything a task needs from an engine, each as a finding
    /// with what to do about it. The last checks run one short container the way a task runs
    /// (init, the default user, the sandbox's mounts), because only running one shows whether the
    /// init binary, the image's shells and agent, the project mount and the uid mapping work.
    /// </summary>
    internal sealed class EngineDoctor
    {
        private const string ProbeTaskId = "doctor";
        private const string ProbeMount = "/probe";
        private const string ProjectMount = "/workspace";

        private readonly string _engine;
        private readonly string _image;
        private readonly string _projectPath;
        private readonly string _agentCommand;
        private readonly List<ClaudeEngineCheck> _checks = new List<ClaudeEngineCheck>();

        public EngineDoctor(string engine, string image, string projectPath, string agentCommand)
        {
            _engine = engine;
            _image = image;
            _projectPath = projectPath;
            _agentCommand = agentCommand;
        }

        private string Where { get; set; }

        private void Add(string check, ClaudeEngineCheckStatus status, string detail, string fix = null) =>
            _checks.Add(new ClaudeEngineCheck { Engine = Where, Check = check, Status = status, Detail = detail, Fix = status == ClaudeEngineCheckStatus.Pass ? null : fix });

        public async Task<IReadOnlyList<ClaudeEngineCheck>> RunAsync(CancellationToken cancel)
        {
            Where = _engine ?? "(default)";
            DockerConnection connection;
            try
            {
                connection = DockerConnection.For(_engine);
            }
            catch (OrchestratorException e)
            {
                Add("Endpoint", ClaudeEngineCheckStatus.Fail, e.Message, "Name a docker context (docker context ls) or an endpoint URI such as unix:///run/podman/podman.sock.");
                return _checks;
            }

            Where = connection.Endpoint;
            Add("Endpoint", ClaudeEngineCheckStatus.Pass, $"{connection.Endpoint}, chosen by {connection.Source}");
            var watch = Stopwatch.StartNew();
            try
            {
                await connection.EnsureReachableAsync(cancel).ConfigureAwait(false);
            }
            catch (OrchestratorException e)
            {
                var others = EngineEndpoints.WellKnownSockets().Where(s => s.Exists && s.Endpoint != connection.Endpoint).Select(s => s.Endpoint).ToList();
                Add("Reachable", ClaudeEngineCheckStatus.Fail, e.Message,
                    "Start the engine (systemctl start docker, podman system service, Docker Desktop), or point -Engine / DOCKER_HOST at one that runs" +
                    (others.Count > 0 ? "; sockets found here: " + string.Join(", ", others) : string.Empty) + ".");
                return _checks;
            }

            Add("Reachable", ClaudeEngineCheckStatus.Pass, $"answered a ping in {watch.Elapsed.TotalMilliseconds:0} ms");
            var facts = connection.Facts;
            if (facts == null)
            {
                Add("Engine", ClaudeEngineCheckStatus.Fail, connection.Description, "The engine answers pings but not its version or info endpoint; check its logs.");
                return _checks;
            }

            Add("Engine", ClaudeEngineCheckStatus.Pass, $"{facts.Kind} {facts.Version}, API {facts.ApiVersion}, {facts.Os}/{facts.Arch}");
            Add("Rootless", ClaudeEngineCheckStatus.Pass, facts.Rootless
                ? "rootless: the container's root is you on the host, so tasks run as root inside unless -User says otherwise"
                : "rootful: tasks run as your uid:gid inside, so the files they write are yours");
            CheckLimits(facts);
            if (facts.SELinux)
            {
                Add("SELinux", ClaudeEngineCheckStatus.Warn, "the engine runs with SELinux: bind mounts need a label the container may use",
                    "Pass -SELinuxRelabel to Start-ClaudeTask, or set docker.selinux_relabel: true in the project's profile.");
            }

            CheckApiKey();
            if (await ImagePresentAsync(connection, cancel).ConfigureAwait(false))
            {
                await ProbeAsync(connection, facts, cancel).ConfigureAwait(false);
                await CheckCheckoutAsync(connection, facts, cancel).ConfigureAwait(false);
            }

            return _checks;
        }

        /// <summary>Which checkout a task on a branch gets here (-Checkout Auto): the same trial a task makes.</summary>
        private async Task CheckCheckoutAsync(DockerConnection connection, EngineFacts facts, CancellationToken cancel)
        {
            var sandbox = new Sandbox();
            sandbox.AdaptTo(facts);
            var problem = await OverlayMounts.ProblemAsync(connection, _image, sandbox.User, cancel).ConfigureAwait(false);
            Add("Checkout", problem == null ? ClaudeEngineCheckStatus.Pass : ClaudeEngineCheckStatus.Warn,
                problem == null
                    ? "Overlay: a task on a branch shares the base commit's tree and writes only what its agent changes"
                    : $"Full: a task on a branch writes every file of the base commit into its checkout (no overlay: {problem})",
                "Tasks work either way; an overlay needs a Linux engine on this machine that mounts one over this machine's files (Docker or Podman, kernel 5.11 or later; rootless engines need a kernel that allows overlays in a user namespace).");
        }

        private void CheckLimits(EngineFacts facts)
        {
            var missing = new List<string>();
            if (!facts.MemoryLimit)
            {
                missing.Add("memory");
            }

            if (!facts.CpuQuota)
            {
                missing.Add("cpu");
            }

            if (!facts.PidsLimit)
            {
                missing.Add("pids");
            }

            var version = string.IsNullOrEmpty(facts.CgroupVersion) ? "cgroup version not reported" : "cgroup v" + facts.CgroupVersion;
            Add("Limits", missing.Count == 0 ? ClaudeEngineCheckStatus.Pass : ClaudeEngineCheckStatus.Warn,
                missing.Count == 0 ? version + ": memory, cpu and pids limits are enforced" : $"{version}: the {string.Join(", ", missing)} limit(s) are not enforced, so -Memory/-Cpus/-PidsLimit do not hold",
                facts.Rootless
                    ? "Rootless engines need the cgroup v2 controllers delegated to the user (systemd: Delegate=memory pids cpu in user@.service)."
                    : "Enable the cgroup controllers in the kernel (cgroup_enable=memory) or use cgroup v2.");
        }

        private void CheckApiKey()
        {
            var names = new[] { "ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN" };
            var present = names.Where(n => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(n))).ToList();
            // Only the names: never a value, not even its length.
            Add("API key", present.Count > 0 ? ClaudeEngineCheckStatus.Pass : ClaudeEngineCheckStatus.Fail,
                present.Count > 0 ? string.Join(" and ", present) + " set in this session (passed to tasks; value not shown)" : "neither ANTHROPIC_API_KEY nor CLAUDE_CODE_OAUTH_TOKEN is set in this session",
                "Set $env:ANTHROPIC_API_KEY (or CLAUDE_CODE_OAUTH_TOKEN) before Start-ClaudeTask; the agent cannot work without it.");
        }

        private async Task<bool> ImagePresentAsync(DockerConnection connection, CancellationToken cancel)
        {
            try
            {
                await connection.Images.InspectImageAsync(_image, cancel).ConfigureAwait(false);
                Add("Image", ClaudeEngineCheckStatus.Pass, $"'{_image}' is present");
                return true;
            }
            catch (DockerImageNotFoundException)
            {
                Add("Image", ClaudeEngineCheckStatus.Fail, $"'{_image}' is not on this engine",
                    "Build it from the module's docker/ folder (docker build -t claude-orchestrator-agent docker/), or name an existing image with -Image or $env:CLAUDE_ORCHESTRATOR_IMAGE.");
                return false;
            }
            catch (Exception e) when (!(e is OperationCanceledException))
            {
                Add("Image", ClaudeEngineCheckStatus.Fail, $"'{_image}' could not be inspected: {connection.Translate(e).Message}", "Check that the engine answers image requests.");
                return false;
            }
        }

        /// <summary>
        /// One container as a task would run it: the engine's init in front, the default user for
        /// this engine, a directory of ours mounted writable and the project read-only. It reports
        /// the shells and the agent it finds, and leaves a file whose owner on the host is the
        /// uid mapping.
        /// </summary>
        private async Task ProbeAsync(DockerConnection connection, EngineFacts facts, CancellationToken cancel)
        {
            var sandbox = new Sandbox();
            sandbox.AdaptTo(facts);
            var scratch = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "claude-orchestrator-doctor-" + Guid.NewGuid().ToString("N").Substring(0, 8)));
            NativeUnix.TryChmod(scratch.FullName, Convert.ToInt32("777", 8));
            var mounts = new List<Mount> { new Mount { Type = "bind", Source = scratch.FullName, Target = ProbeMount } };
            var projectMountable = _projectPath != null && Directory.Exists(_projectPath);
            if (projectMountable)
            {
                mounts.Add(new Mount { Type = "bind", Source = _projectPath, Target = ProjectMount, ReadOnly = true });
            }

            var script =
                "echo sh=yes; " +
                "command -v bash >/dev/null 2>&1 && echo bash=yes || echo bash=no; " +
                $"command -v '{_agentCommand.Replace("'", string.Empty)}' >/dev/null 2>&1 && echo agent=yes || echo agent=no; " +
                $"test -r {ProjectMount} && ls {ProjectMount} >/dev/null 2>&1 && echo project=yes || echo project=no; " +
                $"touch {ProbeMount}/owner && echo write=yes || echo write=no; " +
                // What a task on a swarm needs to carry its workspace in and out of the service.
                "printf 'transport-missing='; " + ServiceScript.MissingToolsCheck + "; echo";
            var name = ContainerNames.NewName();
            var parameters = new CreateContainerParameters
            {
                Name = name,
                Image = _image,
                Entrypoint = new List<string> { ContainerPaths.Shell },
                Cmd = new List<string> { "-c", script },
                User = sandbox.User,
                Labels = ContainerLabels.For(ProbeTaskId, "Test-ClaudeEngine", _projectPath ?? string.Empty),
                HostConfig = new HostConfig { Init = true, Mounts = mounts, NetworkMode = "none" },
            };

            TrackedContainer tracked = null;
            var creating = ContainerTracker.BeginCreate(name, Guid.Empty);
            try
            {
                try
                {
                    var created = await connection.Containers.CreateContainerAsync(parameters, CancellationToken.None).ConfigureAwait(false);
                    tracked = new TrackedContainer(created.ID, name, ProbeTaskId, "Test-ClaudeEngine", _projectPath, Guid.Empty, connection);
                }
                finally
                {
                    ContainerTracker.EndCreate(name, creating, tracked);
                }

                await connection.Containers.StartContainerAsync(tracked.Id, new ContainerStartParameters(), cancel).ConfigureAwait(false);
                var exit = await connection.Containers.WaitContainerAsync(tracked.Id, cancel).ConfigureAwait(false);
                string output;
                using (var logs = await connection.Containers.GetContainerLogsAsync(tracked.Id, new ContainerLogsParameters { ShowStdout = true, ShowStderr = true }, cancel).ConfigureAwait(false))
                {
                    var (stdout, stderr) = await logs.ReadOutputToEndAsync(cancel).ConfigureAwait(false);
                    output = stdout + stderr;
                }

                Report(output, exit.StatusCode, scratch.FullName, sandbox, projectMountable);
                if (facts.SwarmManager)
                {
                    ReportSwarmTransport(output);
                }
            }
            catch (DockerApiException e) when (EngineErrors.InitMissing(EngineErrors.ApiMessage(e)))
            {
                Add("Init", ClaudeEngineCheckStatus.Fail, EngineErrors.ApiMessage(e), EngineErrors.InitMissingFix(facts.Kind));
            }
            catch (DockerApiException e)
            {
                Add("Container", ClaudeEngineCheckStatus.Fail, "the engine refused the probe container: " + EngineErrors.ApiMessage(e),
                    "Run Start-ClaudeTask -Verbose for the full request; the engine's log says why.");
            }
            finally
            {
                if (tracked != null)
                {
                    var outcome = await ContainerRemover.RemoveConfirmedAsync(connection, tracked.Id, name).ConfigureAwait(false);
                    ContainerTracker.Settle(outcome, CleanupReason.Finished);
                }

                try
                {
                    scratch.Delete(true);
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    // A root-owned file in a temp directory of ours: the system's temp cleaning takes it.
                }
            }
        }

        /// <summary>On a swarm manager: whether the image has what a task needs to carry its workspace into and out of a service.</summary>
        private void ReportSwarmTransport(string output)
        {
            var line = output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("transport-missing=", StringComparison.Ordinal));
            if (line == null)
            {
                return;
            }

            var missing = line.Substring("transport-missing=".Length).Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries);
            Add("Swarm transport", missing.Length == 0 ? ClaudeEngineCheckStatus.Pass : ClaudeEngineCheckStatus.Fail,
                missing.Length == 0
                    ? $"'{_image}' has {string.Join(", ", ServiceScript.Tools)}: a task's workspace can travel into a swarm service and back"
                    : $"'{_image}' lacks {string.Join(", ", missing)}: with -Swarm its workspace cannot travel into the service and back ({string.Join(", ", ServiceScript.Tools)} are needed)",
                "Use an image that has them (install coreutils, tar and gzip, or busybox with those applets), or run tasks without -Swarm.");
        }

        private void Report(string output, long exitCode, string scratch, Sandbox sandbox, bool projectMountable)
        {
            bool Said(string key) => output.Contains(key + "=yes");
            Add("Init", ClaudeEngineCheckStatus.Pass, "the engine ran its init in front of the container's process");
            if (!Said("sh"))
            {
                Add("Shell", ClaudeEngineCheckStatus.Fail, $"/bin/sh did not run in '{_image}' (exit code {exitCode}): {output.Trim()}",
                    "The module runs the agent through a small /bin/sh watcher: use an image that has /bin/sh.");
                return;
            }

            Add("Shell", ClaudeEngineCheckStatus.Pass, $"'{_image}' has /bin/sh");
            Add("Bash", Said("bash") ? ClaudeEngineCheckStatus.Pass : ClaudeEngineCheckStatus.Warn,
                Said("bash") ? "bash is on the image's PATH" : "the image has no bash: Claude Code's Bash tool refuses other shells",
                "Install bash in the image (apt-get install bash, apk add bash).");
            Add("Agent", Said("agent") ? ClaudeEngineCheckStatus.Pass : ClaudeEngineCheckStatus.Fail,
                Said("agent") ? $"'{_agentCommand}' is on the image's PATH" : $"'{_agentCommand}' is not on the image's PATH",
                "Use the module's image (docker/), install @anthropic-ai/claude-code in yours, or name the agent with -AgentCommand.");
            if (_projectPath != null)
            {
                Add("Project mount", projectMountable && Said("project") ? ClaudeEngineCheckStatus.Pass : ClaudeEngineCheckStatus.Fail,
                    projectMountable && Said("project") ? $"{_projectPath} is readable in the container" : $"{_projectPath} could not be read in the container",
                    "The engine must see this path (a remote engine or a VM without file sharing does not); on SELinux hosts add -SELinuxRelabel.");
            }

            var file = Path.Combine(scratch, "owner");
            if (!Said("write") || !File.Exists(file))
            {
                Add("User mapping", ClaudeEngineCheckStatus.Fail, $"the container's user {sandbox.User ?? "(image default)"} could not write to a mounted directory",
                    "On a rootless engine the container's root is you on the host; check the engine's user namespace (subuid/subgid).");
                return;
            }

            var owner = NativeUnix.OwnerOf(file);
            var caller = NativeUnix.CallerUid();
            if (owner == null || caller == null)
            {
                Add("User mapping", ClaudeEngineCheckStatus.Pass, $"tasks run as {sandbox.User ?? "the image's user"}; the owner of their files is not readable on this platform");
            }
            else if (owner == caller)
            {
                Add("User mapping", ClaudeEngineCheckStatus.Pass, $"tasks run as {sandbox.User} in the container, and what they write is yours (uid {caller}) on the host");
            }
            else
            {
                Add("User mapping", ClaudeEngineCheckStatus.Fail, $"tasks run as {sandbox.User} in the container, and what they write belongs to uid {owner} on the host, not to you (uid {caller})",
                    "Pass -User with the container uid that maps to yours (0:0 on a rootless engine).");
            }
        }
    }
}
