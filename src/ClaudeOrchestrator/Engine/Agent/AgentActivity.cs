using System;
using System.Collections.Generic;

namespace ClaudeOrchestrator.Engine.Agent
{
    /// <summary>
    /// What the agent's event stream has said so far: the live part feeds the progress bar, the
    /// final part (from the result event) the task's result. Written by the reader's thread, read
    /// by the pipeline thread: every access holds the lock.
    /// </summary>
    internal sealed class AgentActivity
    {
        private readonly object _gate = new object();
        private readonly Dictionary<string, Usage> _usageByMessage = new Dictionary<string, Usage>(StringComparer.Ordinal);
        private readonly HashSet<string> _edited = new HashSet<string>(StringComparer.Ordinal);
        private int _turns;
        private string _currentTool;
        private string _sessionId;
        private string _model;
        private double? _costUsd;
        private int? _reportedTurns;
        private Usage _reportedUsage;
        private string _resultText;
        private ClaudeAgentErrorKind? _errorKind;
        private string _errorText;
        private bool _sawEvents;
        private bool _sawResult;

        /// <summary>True once any line was a Claude Code event.</summary>
        public bool SawEvents { get { lock (_gate) { return _sawEvents; } } }

        /// <summary>True once the result event arrived.</summary>
        public bool SawResult { get { lock (_gate) { return _sawResult; } } }

        public string SessionId { get { lock (_gate) { return _sessionId; } } }

        public string Model { get { lock (_gate) { return _model; } } }

        public string CurrentTool { get { lock (_gate) { return _currentTool; } } }

        /// <summary>Turns so far: the result's count once it arrived, else the assistant messages seen.</summary>
        public int Turns { get { lock (_gate) { return _reportedTurns ?? _turns; } } }

        /// <summary>Total cost in USD; known only from a result event.</summary>
        public double? CostUsd { get { lock (_gate) { return _costUsd; } } }

        /// <summary>
        /// What the run has cost so far: the result's figure once it arrived, else an estimate from
        /// the tokens of the messages so far at the model's list price (null when the model's price
        /// is unknown). <paramref name="estimated"/> says which.
        /// </summary>
        public double? CostSoFar(out bool estimated)
        {
            lock (_gate)
            {
                estimated = _costUsd == null;
                return _costUsd ?? (_sawEvents ? ModelPrices.Estimate(_model, Tokens) : null);
            }
        }

        /// <summary>Files the agent's editing tools (Write, Edit, MultiEdit, NotebookEdit) named so far.</summary>
        public int FilesEdited { get { lock (_gate) { return _edited.Count; } } }

        public string ResultText { get { lock (_gate) { return _resultText; } } }

        public ClaudeAgentErrorKind? ErrorKind { get { lock (_gate) { return _errorKind; } } }

        /// <summary>The agent's own words for its error.</summary>
        public string ErrorText { get { lock (_gate) { return _errorText; } } }

        /// <summary>Token counts: the result's totals once it arrived, else the sum over messages so far.</summary>
        public Usage Tokens
        {
            get
            {
                lock (_gate)
                {
                    if (_reportedUsage != null)
                    {
                        return _reportedUsage;
                    }

                    var sum = new Usage();
                    foreach (var usage in _usageByMessage.Values)
                    {
                        sum = sum.Plus(usage);
                    }

                    return sum;
                }
            }
        }

        internal void Started(string sessionId, string model)
        {
            lock (_gate)
            {
                _sawEvents = true;
                _sessionId = sessionId ?? _sessionId;
                _model = model ?? _model;
            }
        }

        internal void Saw(string sessionId)
        {
            lock (_gate)
            {
                _sawEvents = true;
                _sessionId = _sessionId ?? sessionId;
            }
        }

        /// <summary>One assistant event; Claude Code sends one per content block, all with the message's id and usage.</summary>
        internal void AssistantMessage(string messageId, string model, Usage usage, string tool)
        {
            lock (_gate)
            {
                _sawEvents = true;
                if (messageId == null || !_usageByMessage.ContainsKey(messageId))
                {
                    _turns++;
                }

                if (messageId != null && usage != null)
                {
                    _usageByMessage[messageId] = usage;
                }

                if (model != null && !model.StartsWith("<", StringComparison.Ordinal))
                {
                    _model = _model ?? model;
                }

                if (tool != null)
                {
                    _currentTool = tool;
                }
            }
        }

        internal void Edited(string path)
        {
            lock (_gate)
            {
                _edited.Add(path);
            }
        }

        internal void ToolFinished()
        {
            lock (_gate)
            {
                _currentTool = null;
            }
        }

        internal void Error(ClaudeAgentErrorKind kind, string text)
        {
            lock (_gate)
            {
                // The first specific reason wins over a later generic one.
                if (_errorKind == null || _errorKind == ClaudeAgentErrorKind.Other)
                {
                    _errorKind = kind;
                    _errorText = text ?? _errorText;
                }
            }
        }

        internal void Result(string sessionId, int? turns, double? cost, Usage usage, string text, string model)
        {
            lock (_gate)
            {
                _sawEvents = true;
                _sawResult = true;
                _sessionId = sessionId ?? _sessionId;
                _reportedTurns = turns ?? _reportedTurns;
                _costUsd = cost ?? _costUsd;
                _reportedUsage = usage ?? _reportedUsage;
                _resultText = text ?? _resultText;
                _model = _model ?? model;
                _currentTool = null;
            }
        }

        /// <summary>A successful result after an error (a retried turn) clears the error.</summary>
        internal void ClearError()
        {
            lock (_gate)
            {
                _errorKind = null;
                _errorText = null;
            }
        }

        /// <summary>Token counts as the Messages API reports them.</summary>
        internal sealed class Usage
        {
            public long Input { get; set; }
            public long Output { get; set; }
            public long CacheRead { get; set; }
            public long CacheCreation { get; set; }

            public Usage Plus(Usage other) => new Usage
            {
                Input = Input + other.Input,
                Output = Output + other.Output,
                CacheRead = CacheRead + other.CacheRead,
                CacheCreation = CacheCreation + other.CacheCreation,
            };
        }
    }
}
