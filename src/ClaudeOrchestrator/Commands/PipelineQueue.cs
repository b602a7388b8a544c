using System;
using System.Collections.Concurrent;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>
    /// Carries work from engine threads to the pipeline thread: PowerShell allows Write* calls
    /// only from the thread that runs ProcessRecord.
    /// </summary>
    internal sealed class PipelineQueue
    {
        private readonly BlockingCollection<Action> _actions = new BlockingCollection<Action>();

        public void Post(Action action)
        {
            try
            {
                _actions.Add(action);
            }
            catch (InvalidOperationException)
            {
                // The cmdlet has finished draining; nobody is left to show this.
            }
        }

        internal bool TryTake(out Action action, TimeSpan wait) => _actions.TryTake(out action, wait);

        internal bool IsCompleted => _actions.IsCompleted;

        internal void Complete() => _actions.CompleteAdding();
    }
}
