using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ClaudeOrchestrator.Engine.Agent;
using ClaudeOrchestrator.Engine.Egress;
using ClaudeOrchestrator.Engine.Records;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>Emits a task's transcript: everything the agent printed, with times, and what the module did; or, with -Network, every connection attempt its egress gateway saw.</summary>
    [Cmdlet(VerbsCommunications.Receive, "ClaudeTask", DefaultParameterSetName = TranscriptSet)]
    [OutputType(typeof(ClaudeTranscriptLine), ParameterSetName = new[] { TranscriptSet })]
    [OutputType(typeof(ClaudeTaskConnection), ParameterSetName = new[] { NetworkSet })]
    public sealed class ReceiveClaudeTaskCommand : TaskCmdletBase
    {
        private const string TranscriptSet = "Transcript";
        private const string NetworkSet = "Network";

        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("TaskId")]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(TaskIdCompleter))]
        public override string[] Id { get; set; }

        /// <summary>Only the last N lines.</summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int Tail { get; set; }

        /// <summary>Output (stdout), Error (stderr), Module; all by default.</summary>
        [Parameter(ParameterSetName = TranscriptSet)]
        [ValidateSet("Output", "Error", "Module")]
        public string[] Stream { get; set; }

        /// <summary>Claude Code's events as they were written (JSON), instead of their readable rendering.</summary>
        [Parameter(ParameterSetName = TranscriptSet)]
        public SwitchParameter Raw { get; set; }

        /// <summary>The task's connection attempts (allowed and refused) instead of its transcript.</summary>
        [Parameter(Mandatory = true, ParameterSetName = NetworkSet)]
        public SwitchParameter Network { get; set; }

        protected override void ProcessRecord()
        {
            foreach (var task in SelectById(Id))
            {
                if (Network)
                {
                    var records = TaskEgress.Read(TaskStore.ConnectionsFor(task.TaskId));
                    foreach (var record in MyInvocation.BoundParameters.ContainsKey(nameof(Tail)) ? records.Reverse().Take(Tail).Reverse() : records)
                    {
                        WriteObject(record);
                    }

                    continue;
                }

                var lines = Transcript.Read(task.TranscriptPath ?? TaskStore.TranscriptFor(task.TaskId), task.TaskId)
                    .Where(l => Stream == null || Stream.Contains(l.Stream, System.StringComparer.OrdinalIgnoreCase));
                if (!Raw)
                {
                    lines = Rendered(lines);
                }

                if (MyInvocation.BoundParameters.ContainsKey(nameof(Tail)))
                {
                    var queue = new Queue<ClaudeTranscriptLine>(Tail);
                    foreach (var line in lines)
                    {
                        if (queue.Count == Tail)
                        {
                            queue.Dequeue();
                        }

                        queue.Enqueue(line);
                    }

                    lines = queue;
                }

                foreach (var line in lines)
                {
                    WriteObject(line);
                }
            }
        }

        /// <summary>Event lines as the console showed them while the task ran; other lines as they are.</summary>
        private static IEnumerable<ClaudeTranscriptLine> Rendered(IEnumerable<ClaudeTranscriptLine> lines)
        {
            var events = new ClaudeEventStream(new AgentActivity());
            foreach (var line in lines)
            {
                var shown = line.Stream == "Output" ? events.Render(line.Text) : null;
                if (shown == null)
                {
                    yield return line;
                    continue;
                }

                foreach (var text in shown)
                {
                    yield return new ClaudeTranscriptLine { TaskId = line.TaskId, Time = line.Time, Stream = line.Stream, Text = text };
                }
            }
        }
    }
}
