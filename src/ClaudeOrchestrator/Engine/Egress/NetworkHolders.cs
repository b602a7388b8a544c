using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet.Models;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Tracking;

namespace ClaudeOrchestrator.Engine.Egress
{
    /// <summary>One network holder: a container on the tasks' network whose network one task's container shares.</summary>
    internal sealed class NetworkHolder
    {
        public string Id { get; set; }

        public string Name { get; set; }

        /// <summary>Its address on the tasks' network: the task's, as the gateway knows it.</summary>
        public string Address { get; set; }

        /// <summary>Its stdin, held open while it is needed: it ends when this closes (or this process is gone).</summary>
        public Docker.DotNet.MultiplexedStream Stdin { get; set; }
    }

    /// <summary>
    /// A gateway's network holders, a few made ahead. Joining a network of its own costs an
    /// engine most of a container's start (its endpoint, its name server's rules); a container
    /// that shares the network of one made earlier skips all of it, so a task takes a holder
    /// made while nothing waited and starts in about half the time of one on the engine's
    /// bridge; a task that finds none ready or being made joins the network itself. Each holder serves one task at a time (tasks never share a network namespace): once
    /// the task's container is confirmed gone it serves the next one, so a fan-out makes a few
    /// holders and no task joins a network. A holder is the gateway's own program waiting for its stdin to
    /// close, as the gateway does, so it ends with the session; whatever a killed session leaves
    /// (a holder created and never started) the sweep removes.
    /// </summary>
    internal sealed class NetworkHolders
    {
        public const string HolderRole = "egress-holder";

        /// <summary>How many wait ready for the next tasks.</summary>
        private const int Warm = 2;

        /// <summary>How many may wait after a fan-out has ended (each is a process and an endpoint on the engine).</summary>
        private const int MaxIdle = 8;

        /// <summary>How long a holder whose stdin closed is given to end and be removed by the engine.</summary>
        private static readonly TimeSpan EndLimit = TimeSpan.FromSeconds(5);

        private readonly DockerConnection _connection;
        private readonly string _image;
        private readonly string _network;
        private readonly string _gatewayAddress;
        private readonly object _gate = new object();
        // Taken from the front: holders handed back go there (the pool stays small), new ones to the back.
        private readonly LinkedList<Task<NetworkHolder>> _ready = new LinkedList<Task<NetworkHolder>>();
        private readonly List<Task> _work = new List<Task>();
        private readonly HashSet<string> _made = new HashSet<string>(StringComparer.Ordinal);
        private bool _closed;

        public NetworkHolders(DockerConnection connection, string image, string network, string gatewayAddress)
        {
            _connection = connection;
            _image = image;
            _network = network;
            _gatewayAddress = gatewayAddress;
        }

        /// <summary>Makes holders, in the background, until <see cref="Warm"/> wait ready.</summary>
        public void Fill()
        {
            lock (_gate)
            {
                while (!_closed && _ready.Count < Warm)
                {
                    _ready.AddLast(Begin());
                }
            }
        }

        /// <summary>
        /// A holder for one task: a ready one, else one being made (made in parallel, it is as quick
        /// as joining the network), else null: the task then joins the network itself, without a
        /// second container, so a burst of tasks is not held up making holders (the next tasks get
        /// the ones handed back). Null too when the one being made fails.
        /// </summary>
        public async Task<NetworkHolder> TakeAsync(CancellationToken cancel)
        {
            Task<NetworkHolder> claimed = null;
            lock (_gate)
            {
                for (var node = _ready.First; node != null && claimed == null && !_closed;)
                {
                    var next = node.Next;
                    if (node.Value.IsCompleted && node.Value.Status != System.Threading.Tasks.TaskStatus.RanToCompletion)
                    {
                        // Failed, and removed what it made.
                        _ready.Remove(node);
                    }
                    else if (node.Value.IsCompleted)
                    {
                        claimed = node.Value;
                        _ready.Remove(node);
                    }

                    node = next;
                }

                if (claimed == null && !_closed && _ready.First != null)
                {
                    claimed = _ready.First.Value;
                    _ready.RemoveFirst();
                }
            }

            Fill();
            if (claimed == null)
            {
                return null;
            }

            try
            {
                var holder = await SharedWork.WaitAsync(claimed, cancel).ConfigureAwait(false);
                if (cancel.IsCancellationRequested)
                {
                    Release(holder);
                    cancel.ThrowIfCancellationRequested();
                }

                return holder;
            }
            catch (OperationCanceledException)
            {
                // Made anyway, and nobody's: removed when it is.
                _ = claimed.ContinueWith(t => Release(t.Result), TaskContinuationOptions.OnlyOnRanToCompletion);
                throw;
            }
            catch (Exception)
            {
                return null;
            }
        }

        /// <summary>
        /// A task's holder back (its task has ended): ready for the next task when
        /// <paramref name="reusable"/> (the task's container is confirmed gone, and with it every
        /// process that used the network: nothing of the task is left in it), else removed,
        /// confirmed, in the background (nothing waits for it).
        /// </summary>
        public void Release(NetworkHolder holder, bool reusable = false)
        {
            if (holder == null)
            {
                return;
            }

            lock (_gate)
            {
                if (reusable && !_closed && _ready.Count < MaxIdle)
                {
                    _ready.AddFirst(Task.FromResult(holder));
                    return;
                }
            }

            lock (_gate)
            {
                _work.RemoveAll(t => t.IsCompleted);
                _work.Add(RemoveAsync(holder.Id, holder.Name, holder.Stdin));
            }
        }

        /// <summary>Makes no more, and removes every holder made, confirmed: the gateway is stopping.</summary>
        public async Task StopAsync()
        {
            List<Task<NetworkHolder>> ready;
            lock (_gate)
            {
                _closed = true;
                ready = _ready.ToList();
                _ready.Clear();
            }

            foreach (var making in ready)
            {
                try
                {
                    Release(await making.ConfigureAwait(false));
                }
                catch (Exception)
                {
                    // It failed and removed itself; anything it made is removed by id below.
                }
            }

            List<Task> pending;
            lock (_gate)
            {
                pending = _work.ToList();
            }

            await Task.WhenAll(pending.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default))).ConfigureAwait(false);

            // Any not handed back (a task still running as the process goes): removed by id.
            List<string> made;
            lock (_gate)
            {
                made = _made.ToList();
            }

            await Task.WhenAll(made.Select(id => RemoveAsync(id, id))).ConfigureAwait(false);
        }

        private Task<NetworkHolder> Begin()
        {
            var making = Task.Run(MakeAsync);
            _work.RemoveAll(t => t.IsCompleted);
            _work.Add(making);
            return making;
        }

        private async Task<NetworkHolder> MakeAsync()
        {
            var name = "claude-holder-" + ContainerNames.NewName().Substring("claude-".Length);
            var created = await _connection.Containers.CreateContainerAsync(EgressGateway.ContainerOfImage(name, _image, HolderRole,
                new List<string> { EgressGateway.Program, "hold" }, new List<string> { "DOTNET_gcServer=0" }, new HostConfig
                {
                    NetworkMode = _network,
                    // The task's name server (queries reach the gateway, which refuses and records them).
                    DNS = new List<string> { _gatewayAddress },
                    Memory = 64L * 1024 * 1024,
                    MemorySwap = 64L * 1024 * 1024,
                    PidsLimit = 64,
                }), CancellationToken.None).ConfigureAwait(false);
            lock (_gate)
            {
                _made.Add(created.ID);
            }

            var holder = new NetworkHolder { Id = created.ID, Name = name };
            try
            {
                holder.Stdin = await _connection.Containers.AttachContainerAsync(created.ID,
                    new ContainerAttachParameters { Stream = true, Stdin = true, Stdout = true, Stderr = true }, CancellationToken.None).ConfigureAwait(false);
                await _connection.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception)
            {
                Release(holder);
                throw;
            }

            var inspected = await _connection.Containers.InspectContainerAsync(created.ID, CancellationToken.None).ConfigureAwait(false);
            var address = inspected.NetworkSettings?.Networks != null && inspected.NetworkSettings.Networks.TryGetValue(_network, out var endpoint) ? endpoint.IPAddress : null;
            if (string.IsNullOrEmpty(address) || inspected.State?.Running != true)
            {
                Release(holder);
                throw new OrchestratorException(ErrorIds.GatewayFailed, System.Management.Automation.ErrorCategory.ConnectionError,
                    $"The network holder {name} did not start on the tasks' network {_network}.", name);
            }

            holder.Address = address;
            return holder;
        }

        /// <summary>
        /// Closes its stdin, so it ends and the engine removes it, waits (a while) for that, then
        /// confirms it gone. As with the gateway: a forced removal racing the engine's own removal
        /// of an ending container can leave the network counting an endpoint nobody has (Docker 20.10),
        /// and the network then cannot be removed.
        /// </summary>
        private async Task RemoveAsync(string id, string name, Docker.DotNet.MultiplexedStream stdin = null)
        {
            try
            {
                if (stdin != null)
                {
                    try
                    {
                        stdin.CloseWrite();
                        var buffer = new byte[256];
                        using (var limit = new CancellationTokenSource(EndLimit))
                        {
                            while (!(await stdin.ReadOutputAsync(buffer, 0, buffer.Length, limit.Token).ConfigureAwait(false)).EOF)
                            {
                            }
                        }

                        // Its output ended with it; the engine's removal follows.
                        using (var gone = new CancellationTokenSource(EndLimit))
                        {
                            await ContainerRemover.WaitUntilGoneAsync(_connection, id, gone.Token).ConfigureAwait(false);
                        }
                    }
                    catch (Exception)
                    {
                        // Not ended in time, or the engine is gone: removed below.
                    }
                }

                var outcome = await ContainerRemover.RemoveConfirmedAsync(_connection, id, name).ConfigureAwait(false);
                if (outcome.Removed)
                {
                    lock (_gate)
                    {
                        _made.Remove(id);
                    }
                }
            }
            catch (Exception)
            {
                // The engine went away: the holder's stdin went with it, and the sweep takes what is left.
            }
            finally
            {
                stdin?.Dispose();
            }
        }
    }
}
