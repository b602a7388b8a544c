using System;
using System.Management.Automation;
using ClaudeOrchestrator.Engine;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>The filters Get-ClaudeContainer and Remove-ClaudeContainer share, in every parameter set.</summary>
    public abstract class ContainerCmdletBase : ClaudeCmdletBase
    {
        /// <summary>Only containers in these engine states.</summary>
        [Parameter]
        [ValidateSet("created", "running", "paused", "restarting", "removing", "exited", "dead", IgnoreCase = true)]
        public string[] Status { get; set; }

        /// <summary>Only containers created longer ago than this: 90 (seconds), 30m, 12h, 1d, 00:30:00.</summary>
        [Parameter]
        [TimeSpanArgument]
        public TimeSpan OlderThan { get; set; }

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
