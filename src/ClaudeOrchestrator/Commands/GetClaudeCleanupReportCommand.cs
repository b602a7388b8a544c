using System;
using System.Management.Automation;
using ClaudeOrchestrator.Engine.Journal;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>Summarizes the cleanup journal: what was removed, why, how fast, and patterns that suggest leaks.</summary>
    [Cmdlet(VerbsCommon.Get, "ClaudeCleanupReport")]
    [OutputType(typeof(ClaudeCleanupReport))]
    public sealed class GetClaudeCleanupReportCommand : PSCmdlet
    {
        /// <summary>Only removals at or after this time.</summary>
        [Parameter(Position = 0)]
        public DateTime Since { get; set; }

        protected override void EndProcessing()
        {
            WriteVerbose($"Reading the cleanup journal at {CleanupJournal.CurrentPath} (and {CleanupJournal.RotatedFileName} beside it).");
            var since = MyInvocation.BoundParameters.ContainsKey(nameof(Since)) ? Since : (DateTime?)null;
            var report = CleanupReportBuilder.Build(CleanupJournal.Read(), since);
            foreach (var pattern in report.LeakPatterns)
            {
                WriteWarning(pattern);
            }

            WriteObject(report);
        }
    }
}
