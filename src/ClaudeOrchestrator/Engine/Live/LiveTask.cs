using System;
using ClaudeOrchestrator.Engine.Agent;

namespace ClaudeOrchestrator.Engine.Live
{
    /// <summary>Where a running task is in its life, as the board shows it.</summary>
    internal enum LivePhase
    {
        /// <summary>Reaching the engine, making its branch, checkout and container.</summary>
        Starting,

        /// <summary>The agent runs.</summary>
        Working,

        /// <summary>Waiting to run the agent again (the API was rate limited or overloaded).</summary>
        Waiting,

        /// <summary>The agent ended; its work goes into the branch.</summary>
        Saving,
    }

    /// <summary>
    /// One running task of this process as others may see it: the runner moves it through its
    /// phases and attempts; the board's file and a fan-out's budget read it from other threads.
    /// </summary>
    internal sealed class LiveTask
    {
        private readonly object _gate = new object();
        private AgentActivity _activity;
        private double? _priorCost;
        private int _priorFiles;
        private LivePhase _phase = LivePhase.Starting;
        private int _attempt;

        public LiveTask(string taskId, string project, string branch)
        {
            TaskId = taskId;
            Project = project;
            Branch = branch;
            StartTime = DateTime.UtcNow;
        }

        public string TaskId { get; }
        public string Project { get; }
        public string Branch { get; }
        public DateTime StartTime { get; }

        public void Enter(LivePhase phase)
        {
            lock (_gate)
            {
                _phase = phase;
            }
        }

        /// <summary>An attempt begins (the task is Working); <paramref name="costBefore"/> is what earlier attempts reported.</summary>
        public void BeginAttempt(int attempt, AgentActivity activity, double? costBefore)
        {
            lock (_gate)
            {
                _phase = LivePhase.Working;
                _attempt = attempt;
                _activity = activity;
                _priorCost = costBefore;
            }
        }

        /// <summary>The attempt ended and its report is in <paramref name="costAfter"/>.</summary>
        public void EndAttempt(double? costAfter)
        {
            lock (_gate)
            {
                _priorFiles = Math.Max(_priorFiles, _activity?.FilesEdited ?? 0);
                _activity = null;
                _priorCost = costAfter;
            }
        }

        /// <summary>Cost so far over all attempts; estimated while the running attempt has not reported its own.</summary>
        public double? Cost(out bool estimated)
        {
            lock (_gate)
            {
                estimated = false;
                var running = _activity?.CostSoFar(out estimated);
                if (running == null)
                {
                    // Nothing known of the running attempt (no event yet, or a model without a price): what earlier ones reported.
                    estimated = false;
                    return _priorCost;
                }

                return (_priorCost ?? 0) + running.Value;
            }
        }

        public LiveTaskState Snapshot()
        {
            lock (_gate)
            {
                var activity = _activity;
                var cost = Cost(out var estimated);
                var tokens = activity?.Tokens;
                return new LiveTaskState
                {
                    TaskId = TaskId,
                    Project = Project,
                    Branch = Branch,
                    StartTime = StartTime,
                    Phase = _phase.ToString(),
                    Attempt = _attempt,
                    Turns = activity?.Turns,
                    Tool = activity?.CurrentTool,
                    InputTokens = tokens?.Input,
                    OutputTokens = tokens?.Output,
                    CostUsd = cost,
                    CostEstimated = estimated,
                    FilesChanged = Math.Max(_priorFiles, activity?.FilesEdited ?? 0),
                };
            }
        }
    }

    /// <summary>A running task as published in its session's board file.</summary>
    internal sealed class LiveTaskState
    {
        public string TaskId { get; set; }
        public string Project { get; set; }
        public string Branch { get; set; }
        public DateTime StartTime { get; set; }
        public string Phase { get; set; }
        public int Attempt { get; set; }
        public int? Turns { get; set; }
        public string Tool { get; set; }
        public long? InputTokens { get; set; }
        public long? OutputTokens { get; set; }
        public double? CostUsd { get; set; }
        public bool CostEstimated { get; set; }
        public int FilesChanged { get; set; }
    }
}
