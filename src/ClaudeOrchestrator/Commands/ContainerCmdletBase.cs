using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using ClaudeOrchestrator.Engine.Cleanup;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Tracking;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>The filters Get-ClaudeContainer and Remove-ClaudeContainer share, in every parameter set.</summary>
    public abstract class ContainerCmdletBase : ClaudeCmdletBase
    {
        /// <summary>Only containers in these engine states; "volume" for the workspace volumes of tasks on an engine elsewhere.</summary>
        [Parameter]
        [ValidateSet("created", "running", "paused", "restarting", "removing", "exited", "dead", "volume", "network", IgnoreCase = true)]
        public string[] Status { get; set; }

        /// <summary>Only containers created longer ago than this: 90 (seconds), 30m, 12h, 1d, 00:30:00.</summary>
        [Parameter]
        [TimeSpanArgument]
        public TimeSpan OlderThan { get; set; }

        /// <summary>
        /// The engines to act on: docker context names or endpoint URIs, or * for every known
        /// engine. Bound from piped containers, so each is removed on the engine that has it.
        /// </summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(EngineNameCompleter))]
        public string[] Engine { get; set; }

        private readonly List<string> _engines = new List<string>();

        /// <summary>Remembers this record's engines (piped objects may each name another).</summary>
        protected void CollectEngines()
        {
            foreach (var engine in Engine ?? Array.Empty<string>())
            {
                if (!_engines.Contains(engine))
                {
                    _engines.Add(engine);
                }
            }
        }

        /// <summary>
        /// The engines this command acts on. Without -Engine: the default one, and for this
        /// process's own containers every engine it has containers on.
        /// </summary>
        internal IReadOnlyList<DockerConnection> Engines(bool tracked)
        {
            CollectEngines();
            var connections = new List<DockerConnection>();
            void Add(DockerConnection c)
            {
                if (!connections.Contains(c))
                {
                    connections.Add(c);
                }
            }

            if (_engines.Count == 0)
            {
                try
                {
                    Add(DockerConnection.Current());
                }
                catch (OrchestratorException e)
                {
                    ThrowTerminatingError(e.ToErrorRecord());
                }

                if (tracked)
                {
                    foreach (var c in ContainerTracker.Snapshot().Select(t => t.Connection))
                    {
                        Add(c);
                    }
                }

                return connections;
            }

            foreach (var name in _engines)
            {
                try
                {
                    if (name == EngineEndpoints.AllEngines)
                    {
                        Add(DockerConnection.Current());
                        foreach (var known in EngineEndpoints.Known())
                        {
                            Add(DockerConnection.For(known.Name));
                        }
                    }
                    else
                    {
                        Add(DockerConnection.For(name));
                    }
                }
                catch (OrchestratorException e)
                {
                    // A name that names nothing: alone it ends the command, in a list it is one error.
                    if (_engines.Count == 1)
                    {
                        ThrowTerminatingError(e.ToErrorRecord());
                    }

                    WriteError(e);
                }
            }

            return connections;
        }

        /// <summary>
        /// Reaches each engine. One engine alone stops the command when it cannot be reached, as
        /// always; among several, one that cannot is reported and the others are served.
        /// </summary>
        internal IReadOnlyList<DockerConnection> Reach(IReadOnlyList<DockerConnection> engines)
        {
            var reached = new List<DockerConnection>();
            foreach (var engine in engines)
            {
                if (TryOnEngine(engine, engines, cancel => DockerConnection.ReachAsync(engine, cancel), out var connection))
                {
                    reached.Add(connection);
                    WriteDebug(engine.Description);
                }
            }

            return reached;
        }

        /// <summary>
        /// The module's containers on one of <paramref name="engines"/>. Among several, an engine
        /// that fails the listing (one reached earlier in this session and gone since) is
        /// reported and yields none; alone it ends the command.
        /// </summary>
        /// <remarks>
        /// A part the engine could not list (services, configs, volumes) is its own
        /// non-terminating error: the containers it did list are still served.
        /// </remarks>
        internal IReadOnlyList<ClaudeContainer> List(DockerConnection engine, IReadOnlyList<DockerConnection> engines, ContainerScope scope, ContainerFilter filter)
        {
            if (!TryOnEngine(engine, engines, cancel => Inventory.ListAsync(engine, scope, filter, cancel, withVolumes: true), out var listed))
            {
                return Array.Empty<ClaudeContainer>();
            }

            foreach (var problem in listed.Problems)
            {
                WriteError(new ErrorRecord(new InvalidOperationException(problem.Message, problem.Error),
                    ErrorIds.EngineListIncomplete, ErrorCategory.ReadError, problem.Endpoint));
            }

            return listed;
        }

        /// <summary>
        /// Runs <paramref name="work"/> against one of <paramref name="engines"/>: the only one
        /// ends the command when it fails; one among several is reported as its own error and
        /// false is returned, so the others are still served.
        /// </summary>
        private bool TryOnEngine<T>(DockerConnection engine, IReadOnlyList<DockerConnection> engines, Func<CancellationToken, Task<T>> work, out T result)
        {
            result = default(T);
            if (engines.Count == 1)
            {
                result = Run(work);
                return true;
            }

            try
            {
                result = RunQuietly(work);
                return true;
            }
            catch (OrchestratorException e)
            {
                WriteError(e);
            }
            catch (Exception e) when (!(e is PipelineStoppedException))
            {
                WriteError(new ErrorRecord(engine.Translate(e), ErrorIds.EngineUnreachable, ErrorCategory.ConnectionError, engine.Endpoint));
            }

            return false;
        }

        internal ContainerFilter Filter
        {
            get
            {
                if (MyInvocation.BoundParameters.ContainsKey(nameof(OlderThan)) && OlderThan < TimeSpan.Zero)
                {
                    ThrowTerminatingError(new ErrorRecord(
                        new ArgumentOutOfRangeException(nameof(OlderThan), OlderThan, "-OlderThan cannot be negative."),
                        ErrorIds.OlderThanInvalid, ErrorCategory.InvalidArgument, OlderThan));
                }

                return new ContainerFilter(Status,
                    MyInvocation.BoundParameters.ContainsKey(nameof(OlderThan)) ? OlderThan : (TimeSpan?)null);
            }
        }
    }
}
