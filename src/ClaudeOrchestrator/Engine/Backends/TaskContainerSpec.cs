using System;
using System.Collections.Generic;
using System.Linq;
using Docker.DotNet;
using Docker.DotNet.Models;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Git;
using ClaudeOrchestrator.Engine.Planning;
using ClaudeOrchestrator.Engine.Sandboxing;
using ClaudeOrchestrator.Engine.Workspaces;
using ClaudeOrchestrator.Engine.Egress;

namespace ClaudeOrchestrator.Engine.Backends
{
    /// <summary>
    /// The task container's create body: the agent's argv behind the watcher, the environment, the
    /// sandbox, the labels and the mounts the workspace gives. A swarm service is built from it too,
    /// so the two ways a task runs cannot drift apart.
    /// </summary>
    internal static class TaskContainerSpec
    {
        /// <param name="descriptionFile">Host path of the description when it goes on the agent's stdin (too long for an argument); null otherwise.</param>
        /// <param name="checkout">The task's private checkout, mounted instead of the project; null to mount the project in place.</param>
        /// <param name="agentState">Host directory kept as the agent's own state (its sessions, for -Resume); null for none.</param>
        /// <param name="workspace">How the workspace reaches the agent: it may mount something else where a local task binds (volumes on an engine elsewhere); null to bind.</param>
        /// <param name="egress">How the container reaches the network; null leaves it as the sandbox set it (no network unless -Network named one).</param>
        internal static CreateContainerParameters Build(TaskPlan spec, string name, string descriptionFile = null, TaskCheckout checkout = null, string agentState = null, IWorkspaceDelivery workspace = null, TaskEgress egress = null)
        {
            var argv = new List<string>(spec.AgentCommand);
            if (descriptionFile == null)
            {
                argv.Add(spec.Description);
            }

            var environment = spec.Environment.Select(pair => pair.Key + "=" + pair.Value).ToList();
            var host = new HostConfig
            {
                Init = true,
                AutoRemove = true,
                // The project (or its checkout) is the only host path the agent sees, and the only writable one.
                Mounts = new List<Mount>
                {
                    new Mount { Type = "bind", Source = checkout?.CheckoutDirectory ?? spec.ProjectPath, Target = ContainerPaths.Workspace },
                },
            };
            var workingDirectory = ContainerPaths.Workspace;
            if (checkout != null)
            {
                // The repository's objects, read-only: the checkout's alternates point here, so git
                // works inside the container and no object is copied.
                host.Mounts.Add(new Mount { Type = "bind", Source = checkout.ObjectsDirectory, Target = TaskCheckout.ContainerObjectsPath, ReadOnly = true });
                if (!string.IsNullOrEmpty(spec.Repository?.Prefix))
                {
                    workingDirectory = ContainerPaths.Workspace + "/" + spec.Repository.Prefix;
                }

                if (!environment.Any(e => e.StartsWith("GIT_CONFIG_COUNT=", StringComparison.Ordinal)))
                {
                    // Git refuses a repository owned by another uid (a -User other than the caller's).
                    environment.Add("GIT_CONFIG_COUNT=1");
                    environment.Add("GIT_CONFIG_KEY_0=safe.directory");
                    environment.Add("GIT_CONFIG_VALUE_0=" + ContainerPaths.Workspace);
                }
            }

            if (descriptionFile != null)
            {
                host.Mounts.Add(new Mount { Type = "bind", Source = descriptionFile, Target = DescriptionDelivery.ContainerPath, ReadOnly = true });
            }

            if (agentState != null)
            {
                // Claude Code keeps its sessions here; on the tmpfs home they would vanish with the
                // container, and -Resume needs them.
                host.Mounts.Add(new Mount { Type = "bind", Source = agentState, Target = Sandbox.AgentStatePath });
                if (!environment.Any(e => e.StartsWith(Sandbox.AgentStateVariable + "=", StringComparison.Ordinal)))
                {
                    environment.Add(Sandbox.AgentStateVariable + "=" + Sandbox.AgentStatePath);
                }
            }

            spec.Sandbox.Apply(host, environment);
            // After the sandbox: the network, name server and credential variables are the egress's to set.
            egress?.Shape(host, environment);
            if (workspace != null)
            {
                // The same targets, from wherever the workspace was put: a copy names no path of this machine.
                host.Mounts = workspace.Mounts(host.Mounts);
            }

            return new CreateContainerParameters
            {
                Name = name,
                Image = spec.Image,
                // Both set: an ENTRYPOINT in the image must not swallow the watcher.
                Entrypoint = new List<string> { ContainerPaths.Shell },
                Cmd = AgentWatcher.Arguments(argv, descriptionFile == null ? null : DescriptionDelivery.ContainerPath),
                WorkingDir = workingDirectory,
                User = spec.Sandbox.User,
                Env = environment,
                Labels = Labels(spec),
                AttachStdin = true,
                AttachStdout = true,
                AttachStderr = true,
                OpenStdin = true,
                StdinOnce = true,
                Tty = false,
                HostConfig = host,
            };
        }

        internal static Dictionary<string, string> Labels(TaskPlan spec) => ContainerLabels.For(spec.TaskId, spec.ProjectName, spec.ProjectPath);
    }
}
