using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Threading.Tasks;
using System.Threading;
using System;
using Docker.DotNet.Models;
using Docker.DotNet;
using SwarmTaskState = Docker.DotNet.Models.TaskState;
using ClaudeOrchestrator.Engine.Backends;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Git;
using ClaudeOrchestrator.Engine.Planning;
using ClaudeOrchestrator.Engine.Sandboxing;
using ClaudeOrchestrator.Engine.Workspaces;
using ClaudeOrchestrator.Engine.Egress;

namespace ClaudeOrchestrator.Engine.Backends.Swarm
{
    /// <summary>What a task's service is made of: its spec (the container's sandbox as a swarm service allows it) and the configs that carry its workspace in.</summary>
    internal static class ServiceSpecs
    {
        /// <summary>A config holds at most 500 KB; the workspace is cut below that.</summary>
        internal const int ConfigChunk = 480 * 1024;

        /// <summary>How long a stopped service's container has to print the agent's work before the node's engine kills it.</summary>
        internal static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(30);

        public static async Task<string> CreateServiceAsync(DockerConnection connection, ServiceSpec spec)
        {
            try
            {
                // Not cancellable, as a container's create: an abandoned request could leave a service whose id we never learn.
                var created = await connection.Swarm.CreateServiceAsync(new ServiceCreateParameters { Service = spec }, CancellationToken.None).ConfigureAwait(false);
                return created.ID;
            }
            catch (DockerApiException e)
            {
                throw new OrchestratorException(ErrorIds.EngineError, ErrorCategory.InvalidOperation,
                    $"The swarm manager at {connection.Endpoint} refused to create the task's service: {EngineErrors.ApiMessage(e)}", spec.Name, e);
            }
            catch (Exception e) when (!(e is OrchestratorException))
            {
                throw connection.Translate(e);
            }
        }

        /// <summary>The workspace as one gzip'd tar cut into configs; on failure the ones made are removed and the error says why.</summary>
        public static async Task<List<SwarmConfigReference>> CreateConfigsAsync(DockerConnection connection, TaskPlan spec, ShippedWorkspace shipped, string name, string nonce, CancellationToken cancel)
        {
            var made = new List<SwarmConfigReference>();
            var packs = new List<string>();
            try
            {
                using (var archive = new MemoryStream())
                {
                    shipped.WriteCompressedArchive(archive, packs, ServiceScript.ArrivalEntry, nonce);
                    var data = archive.ToArray();
                    for (var offset = 0; offset < data.Length || made.Count == 0; offset += ConfigChunk)
                    {
                        var chunk = new byte[Math.Min(ConfigChunk, data.Length - offset)];
                        Array.Copy(data, offset, chunk, 0, chunk.Length);
                        var file = ServiceScript.InputPrefix + made.Count.ToString("000", System.Globalization.CultureInfo.InvariantCulture);
                        var labels = TaskContainerSpec.Labels(spec);
                        labels[ShippedWorkspace.RoleLabel] = SwarmServices.ConfigRole;
                        var config = await connection.Swarm.CreateConfigAsync(new SwarmCreateConfigParameters
                        {
                            Config = new SwarmConfigSpec { Name = name + "-" + file.Replace('.', '-'), Labels = labels, Data = chunk },
                        }, cancel).ConfigureAwait(false);
                        made.Add(new SwarmConfigReference
                        {
                            ConfigID = config.ID,
                            ConfigName = name + "-" + file.Replace('.', '-'),
                            File = new ConfigReferenceFileTarget { Name = ServiceScript.InputDirectory + "/" + file, UID = "0", GID = "0", Mode = Convert.ToUInt32("444", 8) },
                        });
                    }
                }

                return made;
            }
            catch (Exception e)
            {
                foreach (var config in made)
                {
                    await SwarmServices.RemoveConfigAsync(connection, config.ConfigID, config.ConfigName, CancellationToken.None).ConfigureAwait(false);
                }

                if (e is OperationCanceledException && cancel.IsCancellationRequested)
                {
                    throw;
                }

                throw new OrchestratorException(ErrorIds.WorkspaceNotShipped, ErrorCategory.InvalidOperation,
                    $"The task's workspace could not be copied into swarm configs on {connection.Endpoint}: {ShippedWorkspace.Why(connection, e)}", spec.ProjectPath, e);
            }
            finally
            {
                foreach (var pack in packs)
                {
                    Files.TryDelete(pack);
                }
            }
        }

        /// <summary>
        /// The service: what <see cref="TaskContainerSpec.Build"/> gives a container
        /// (environment, user, limits, capabilities, read-only root, tmpfs, labels), as a swarm
        /// service spec, with tmpfs mounts where a container binds the workspace.
        /// </summary>
        internal static ServiceSpec BuildSpec(TaskPlan spec, string name, string nonce, ShippedWorkspace shipped, string descriptionFile,
            TaskCheckout checkout, string agentState, IList<SwarmConfigReference> configs, TaskEgress egress = null)
        {
            var container = TaskContainerSpec.Build(spec, name, descriptionFile, checkout, agentState, shipped, egress);
            var host = container.HostConfig;
            var argv = new List<string>(spec.AgentCommand);
            if (descriptionFile == null)
            {
                argv.Add(spec.Description);
            }

            var mounts = new List<Mount>();
            foreach (var tmpfs in host.Tmpfs)
            {
                mounts.Add(Tmpfs(tmpfs.Key, tmpfs.Value));
            }

            // The parts' own directories, unless a tmpfs of the sandbox holds them already; and the script's own for its proof and packing.
            foreach (var target in shipped.Targets.Where(t => !host.Tmpfs.Keys.Any(k => t.StartsWith(k + "/", StringComparison.Ordinal))).Concat(new[] { ServiceScript.OutputDirectory }))
            {
                mounts.Add(new Mount { Type = "tmpfs", Target = target, TmpfsOptions = new TmpfsOptions { Mode = Convert.ToUInt32("1777", 8) } });
            }

            var labels = TaskContainerSpec.Labels(spec);
            labels[ShippedWorkspace.RoleLabel] = SwarmServices.ServiceRole;
            labels[SwarmServices.HeartbeatLabel] = SwarmServices.Now();
            labels[ServiceSalvage.MarkLabel] = nonce;
            var network = spec.Sandbox.Network;
            return new ServiceSpec
            {
                Name = name,
                Labels = labels,
                Mode = new ServiceMode { Replicated = new ReplicatedService { Replicas = 1 } },
                TaskTemplate = new Docker.DotNet.Models.TaskSpec
                {
                    ContainerSpec = new ContainerSpec
                    {
                        Image = spec.Image,
                        Command = new List<string> { ContainerPaths.Shell },
                        Args = ServiceScript.Arguments(nonce, shipped.Targets, shipped.ReturnedTargets, argv, descriptionFile == null ? null : DescriptionDelivery.ContainerPath),
                        Env = container.Env,
                        Dir = container.WorkingDir,
                        User = container.User,
                        // Not the managed label: the node's engine sees a container of the swarm's, which a sweep there must leave to the service.
                        Labels = new Dictionary<string, string> { [SwarmServices.ServiceLabel] = name, [ContainerLabels.TaskId] = spec.TaskId },
                        Init = true,
                        ReadOnly = true,
                        Mounts = mounts,
                        CapabilityDrop = host.CapDrop,
                        CapabilityAdd = host.CapAdd,
                        Privileges = new Privileges { NoNewPrivileges = true },
                        StopGracePeriod = StopGrace,
                        Configs = configs,
                    },
                    Resources = new ResourceRequirements
                    {
                        Limits = new SwarmLimit { NanoCPUs = host.NanoCPUs, MemoryBytes = host.Memory, Pids = host.PidsLimit },
                        // A quarter of each limit is held for the task on its node: the scheduler spreads tasks by it and never overfills a node.
                        Reservations = new SwarmResources { NanoCPUs = host.NanoCPUs / 4, MemoryBytes = host.Memory / 4 },
                    },
                    RestartPolicy = new SwarmRestartPolicy { Condition = "none", MaxAttempts = 0 },
                    Placement = new Placement { Constraints = spec.Placement?.ToList() ?? new List<string>() },
                    // The default bridge is each node's own; any other network must be one the swarm knows (an overlay, or none).
                    Networks = string.Equals(network, Sandbox.DefaultNetwork, StringComparison.Ordinal)
                        ? null
                        : new List<NetworkAttachmentConfig> { new NetworkAttachmentConfig { Target = network } },
                },
            };
        }

        /// <summary>"rw,noexec,nosuid,nodev,size=512m,mode=1777" as a service's tmpfs mount (size and mode; the others are the engine's defaults for services).</summary>
        private static Mount Tmpfs(string target, string options)
        {
            var tmpfs = new TmpfsOptions();
            foreach (var option in options.Split(','))
            {
                if (option.StartsWith("size=", StringComparison.Ordinal))
                {
                    tmpfs.SizeBytes = Sandbox.ParseMemory(option.Substring(5));
                }
                else if (option.StartsWith("mode=", StringComparison.Ordinal))
                {
                    tmpfs.Mode = Convert.ToUInt32(option.Substring(5), 8);
                }
            }

            return new Mount { Type = "tmpfs", Target = target, TmpfsOptions = tmpfs };
        }
    }
}
