using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using ClaudeOrchestrator.Engine.Agent;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Egress;
using ClaudeOrchestrator.Engine.Git;
using ClaudeOrchestrator.Engine.Projects;
using ClaudeOrchestrator.Engine.Records;
using ClaudeOrchestrator.Engine.Sandboxing;

namespace ClaudeOrchestrator.Engine.Planning
{
    /// <summary>
    /// Turns what Start-ClaudeTask was asked into a <see cref="TaskPlan"/>, or refuses it with an
    /// <see cref="OrchestratorException"/> that says why, before anything exists: the profile
    /// merged (explicit parameters win over the profile, the profile over the defaults), a resumed
    /// task looked up and checked, and where the agent works decided (its branch named, every
    /// repository state a branch cannot start from refused). Contacts no engine.
    /// </summary>
    internal sealed class TaskPlanner
    {
        // A new task's id drawn again when only the id collided with an existing branch.
        private const int BranchIdDraws = 3;

        private readonly IPlanSources _sources;
        private readonly Action<string> _verbose;
        private readonly Action<string> _warning;

        /// <param name="verbose">What the planner decided, for -Verbose.</param>
        /// <param name="warning">What the user should know about the repository (uncommitted changes, a detached HEAD, submodules).</param>
        public TaskPlanner(IPlanSources sources, Action<string> verbose, Action<string> warning)
        {
            _sources = sources;
            _verbose = verbose;
            _warning = warning;
        }

        /// <param name="resolvePath">Resolves -Path as the caller's provider does (PowerShell paths, drives).</param>
        public TaskPlan Plan(TaskRequest request, Func<string, string> resolvePath)
        {
            var resumes = request.ResumeTaskId != null ? ResumableTask(request.ResumeTaskId) : null;
            var profile = request.ProfileName != null ? FindProfile(request.ProfileName, request.CurrentDirectory) : null;
            string path;
            string projectName;
            if (resumes != null)
            {
                path = MountGuard.Check(ProjectLocator.RequireDirectory(resumes.Path));
                projectName = resumes.Project;
            }
            else
            {
                var requested = profile?.Path
                    ?? (request.ByProjectName ? ProjectDirectoryWithoutProfile(request.ProfileName) : resolvePath(request.Path));
                // Mount exactly what was checked: the directory with every symlink resolved.
                path = MountGuard.Check(ProjectLocator.RequireDirectory(requested));
                projectName = request.ProfileName ?? System.IO.Path.GetFileName(path);
            }

            var network = request.Network ?? profile?.Network;
            var (egress, allowed) = PlanEgress(request, profile, network, request.Swarm ?? profile?.Swarm ?? false);
            var sandbox = new Sandbox
            {
                // Without -Network the container gets the gateway's network once that runs (none until then).
                Network = network == null ? null : Sandbox.CheckNetwork(network),
                SELinuxRelabel = request.SELinuxRelabel || profile?.SELinuxRelabel == true,
            };
            var memory = request.Memory ?? profile?.Memory;
            if (memory != null)
            {
                sandbox.MemoryBytes = Sandbox.ParseMemory(memory);
            }

            if ((request.Cpus ?? profile?.Cpus) is double cpus)
            {
                sandbox.Cpus = cpus;
            }

            if (request.PidsLimit is long pids)
            {
                sandbox.PidsLimit = pids;
            }

            if (request.User != null)
            {
                sandbox.User = request.User;
                sandbox.UserGiven = true;
            }

            // A resumed task goes back to the engine it ran on unless told otherwise.
            var engine = request.Engine ?? profile?.Engine ?? resumes?.Engine;
            if (engine != null)
            {
                // An engine name that names nothing is refused here, before anything exists.
                _sources.CheckEngine(engine);
            }

            var options = new ClaudeCliOptions
            {
                Model = request.Model ?? profile?.Model,
                MaxTurns = request.MaxTurns ?? profile?.MaxTurns,
                MaxBudgetUsd = request.MaxBudgetUsd ?? profile?.MaxBudgetUsd,
                AllowedTools = request.AllowedTools ?? profile?.AllowedTools,
                DisallowedTools = request.DisallowedTools ?? profile?.DisallowedTools,
                AppendSystemPrompt = request.AppendSystemPrompt ?? profile?.AppendSystemPrompt,
                ResumeSession = resumes?.AgentSessionId,
            };

            var plan = new TaskPlan
            {
                ProjectName = string.IsNullOrEmpty(projectName) ? path : projectName,
                ProjectPath = path,
                Description = request.Description,
                Image = ModuleDefaults.Image(request.Image ?? profile?.Image ?? resumes?.Image),
                Engine = engine,
                Workspace = request.Workspace ?? profile?.Workspace ?? WorkspaceTransfer.Auto,
                Checkout = request.Checkout ?? profile?.Checkout ?? CheckoutMethod.Auto,
                MaxTotalBudgetUsd = request.MaxTotalBudgetUsd ?? profile?.MaxTotalBudgetUsd,
                Backend = (request.Swarm ?? profile?.Swarm ?? false) ? ClaudeTaskBackend.SwarmService : ClaudeTaskBackend.Container,
                Placement = profile?.Placement ?? Array.Empty<string>(),
                Timeout = request.Timeout ?? profile?.Timeout,
                Environment = TaskEnvironment.Build(request.Environment, _sources.GetEnvironmentVariable, profile?.Environment),
                AgentCommand = options.ApplyTo(request.AgentCommand ?? ModuleDefaults.DefaultAgentCommand.ToArray()),
                Sandbox = sandbox,
                Egress = egress,
                AllowedHosts = allowed,
                RunspaceId = request.RunspaceId,
                Resumes = resumes,
                MaxAttempts = request.MaxAttempts,
                RetryDelay = request.RetryDelay,
            };
            if (resumes != null)
            {
                PlanResumedBranch(plan, resumes);
            }
            else
            {
                PlanIsolation(plan, request, profile);
            }

            return plan;
        }

        /// <summary>
        /// The default is the egress gateway with the hosts -AllowHost and the profile name;
        /// -Network none is offline; any other network opts out into open egress, said in a
        /// warning. A bad entry, or -AllowHost where no gateway filters, is refused here.
        /// </summary>
        private (ClaudeTaskEgress, IReadOnlyList<AllowedHost>) PlanEgress(TaskRequest request, ClaudeProject profile, string network, bool swarm)
        {
            var given = request.AllowHost ?? Array.Empty<string>();
            var entries = new List<AllowedHost>();
            foreach (var text in given.Concat(network == null ? profile?.AllowHosts ?? Array.Empty<string>() : Array.Empty<string>()))
            {
                if (!AllowedHost.TryParse(text, out var entry, out var problem))
                {
                    throw new OrchestratorException(ErrorIds.AllowHostInvalid, ErrorCategory.InvalidArgument,
                        $"'{text}' is not an allowed host: {problem}. An entry is a host name (github.com), a wildcard over one domain's names (*.npmjs.org) or a single address, each with an optional port (example.com:8443).", text);
                }

                if (!entries.Any(e => e.ToString() == entry.ToString()))
                {
                    entries.Add(entry);
                }
            }

            if (network == null)
            {
                _verbose?.Invoke(entries.Count == 0
                    ? "Egress: through the session's egress gateway, the model API only."
                    : "Egress: through the session's egress gateway, the model API and " + string.Join(", ", entries) + ".");
                return (ClaudeTaskEgress.Gateway, entries);
            }

            if (given.Length > 0)
            {
                throw new OrchestratorException(ErrorIds.AllowHostInvalid, ErrorCategory.InvalidArgument,
                    $"-AllowHost names what the egress gateway lets through, and -Network {network} does without it; leave out -Network to use the gateway.", network);
            }

            if (string.Equals(network.Trim(), "none", StringComparison.OrdinalIgnoreCase))
            {
                return (ClaudeTaskEgress.Offline, Array.Empty<AllowedHost>());
            }

            _warning?.Invoke($"-Network {network.Trim()}: the task's container gets open egress. The agent can reach any host and address its network reaches (the engine's host, private networks, cloud metadata), by any protocol, and nothing it does there is refused or recorded. Leave out -Network to send it through the egress gateway (-AllowHost adds hosts)." +
                (swarm ? " On a swarm there is no gateway: the service also holds the model API credential." : string.Empty));
            return (ClaudeTaskEgress.Open, Array.Empty<AllowedHost>());
        }

        /// <summary>
        /// The task to continue, refused before anything exists when it cannot be: unknown or
        /// pruned, still running, its work not yet saved, no session reported, its session gone.
        /// </summary>
        private ClaudeTask ResumableTask(string taskId)
        {
            var task = _sources.LoadTask(taskId);
            if (task == null)
            {
                throw new OrchestratorException(ErrorIds.TaskNotFound, ErrorCategory.ObjectNotFound,
                    $"There is no task '{taskId}' to resume in {_sources.TasksRoot} (never run here, or pruned by Remove-ClaudeTask). Get-ClaudeTask lists the tasks.", taskId);
            }

            if (task.Status == ClaudeTaskStatus.Running)
            {
                throw new OrchestratorException(ErrorIds.TaskRunning, ErrorCategory.ResourceBusy,
                    $"Task {taskId} is still running; resume it when it has ended.", taskId);
            }

            if (task.CheckoutPath != null && task.Branch != null)
            {
                throw new OrchestratorException(ErrorIds.ResumeUnavailable, ErrorCategory.InvalidOperation,
                    $"Task {taskId}'s work is not saved into its branch yet (its checkout is still at {task.CheckoutPath}); run Remove-ClaudeContainer -Orphaned to save it, then resume.", taskId);
            }

            if (string.IsNullOrEmpty(task.AgentSessionId))
            {
                throw new OrchestratorException(ErrorIds.ResumeUnavailable, ErrorCategory.InvalidOperation,
                    $"Task {taskId} reported no Claude Code session (its agent did not speak stream-json, or never started), so there is nothing to resume.", taskId);
            }

            if (!AgentState.HasSession(task.AgentStatePath, task.AgentSessionId))
            {
                throw new OrchestratorException(ErrorIds.ResumeUnavailable, ErrorCategory.ObjectNotFound,
                    $"Task {taskId}'s agent state no longer holds session {task.AgentSessionId} (pruned, or the agent kept it elsewhere), so it cannot be resumed.", taskId);
            }

            var running = _sources.AllTasks().FirstOrDefault(t => t.Status == ClaudeTaskStatus.Running && t.Branch != null &&
                                                                 t.Branch == task.Branch && t.Repository == task.Repository);
            if (running != null)
            {
                throw new OrchestratorException(ErrorIds.TaskRunning, ErrorCategory.ResourceBusy,
                    $"Task {running.TaskId} is already running on the branch '{task.Branch}'; resume {taskId} when it has ended.", taskId);
            }

            return task;
        }

        /// <summary>A resumed task works on the same branch, from where that branch is now.</summary>
        private static void PlanResumedBranch(TaskPlan plan, ClaudeTask resumes)
        {
            if (resumes.Branch == null)
            {
                return;
            }

            var repo = GitRepository.Inspect(plan.ProjectPath);
            var tip = repo.BranchTip(resumes.Branch);
            if (tip == null)
            {
                throw new OrchestratorException(ErrorIds.ResumeUnavailable, ErrorCategory.ObjectNotFound,
                    $"Task {resumes.TaskId}'s branch '{resumes.Branch}' no longer exists in {repo.TopLevel}, so the session cannot continue on it.", resumes.Branch);
            }

            plan.Repository = repo;
            plan.Branch = resumes.Branch;
            plan.BranchTip = tip;
        }

        /// <summary>
        /// Decides where the agent works and refuses, before anything exists, every repository
        /// state a branch cannot start from.
        /// </summary>
        private void PlanIsolation(TaskPlan plan, TaskRequest request, ClaudeProject profile)
        {
            var explicitMode = request.Isolation ?? profile?.Isolation;
            if (explicitMode == ClaudeTaskIsolation.None)
            {
                _verbose($"Isolation None: the agent works in {plan.ProjectPath} itself.");
                return;
            }

            if (GitRepository.FindMarker(plan.ProjectPath) == null)
            {
                if (explicitMode == ClaudeTaskIsolation.Branch)
                {
                    throw new OrchestratorException(ErrorIds.IsolationUnavailable, ErrorCategory.InvalidOperation,
                        $"{plan.ProjectPath} is not in a git repository, so the task cannot run on a branch. Run 'git init' and commit, or use -Isolation None.", plan.ProjectPath);
                }

                _verbose($"{plan.ProjectPath} is not in a git repository: the agent works in the directory itself (no branch, no checkout).");
                return;
            }

            // Uncommitted changes are counted meanwhile; the task runner warns of them.
            var repo = GitRepository.Inspect(plan.ProjectPath);

            if (repo.HeadBranch == null)
            {
                _warning($"HEAD is detached at {repo.HeadCommit.Substring(0, 12)}: the task starts from that commit. Merge-ClaudeTask needs a branch checked out.");
            }

            if (repo.Submodules.Count > 0)
            {
                _warning($"{repo.Submodules.Count} submodule(s) ({string.Join(", ", repo.Submodules.Take(3))}{(repo.Submodules.Count > 3 ? ", ..." : string.Empty)}) are not checked out in the task's checkout: their directories are empty for the agent. Use -Isolation None to work on them in place.");
            }

            if (request.Branch != null)
            {
                repo.CheckNewBranch(request.Branch);
                plan.Branch = request.Branch;
            }
            else
            {
                var prefix = request.BranchPrefix ?? profile?.BranchPrefix ?? ModuleDefaults.BranchPrefix;
                for (var draw = 0; plan.Branch == null; draw++)
                {
                    try
                    {
                        repo.CheckNewBranch(prefix + plan.TaskId);
                        plan.Branch = prefix + plan.TaskId;
                    }
                    catch (OrchestratorException e) when (e.ErrorId == ErrorIds.BranchExists && draw < BranchIdDraws && repo.HasBranch(prefix + plan.TaskId))
                    {
                        // Only the id collided: draw another. A prefix that clashes fails as it is.
                        plan.TaskId = TaskStore.NewId();
                    }
                }
            }

            plan.Repository = repo;
        }

        /// <summary>The project's profile, or null when it has none; an unusable profile stops here, before any container exists.</summary>
        private ClaudeProject FindProfile(string name, string currentDirectory)
        {
            var profile = _sources.FindProfile(name, currentDirectory, _verbose);
            if (profile != null && !profile.IsValid)
            {
                throw new OrchestratorException(ErrorIds.ProjectProfileInvalid, ErrorCategory.InvalidData,
                    "The project profile is not usable: " + profile.Problem, profile.ProfileFile ?? name);
            }

            return profile;
        }

        /// <summary>Without a profile, -Project names a directory under the projects root, as before profiles existed.</summary>
        private string ProjectDirectoryWithoutProfile(string name)
        {
            var directory = _sources.ProjectDirectoryFor(name);
            if (!Directory.Exists(directory) && !File.Exists(directory))
            {
                throw new OrchestratorException(ErrorIds.ProjectProfileNotFound, ErrorCategory.ObjectNotFound,
                    $"No project '{name}': there is no profile {ProjectProfiles.PathFor(name)} and no directory {directory}. " +
                    "Create one with New-ClaudeProject, or use -Path.", name);
            }

            return directory;
        }
    }
}
