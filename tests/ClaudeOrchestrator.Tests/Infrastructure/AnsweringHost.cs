using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;

namespace ClaudeOrchestrator.Tests.Infrastructure;

/// <summary>
/// A PowerShell host whose user answers prompts from a script of replies ("Yes", "No",
/// "Yes to All"), as a person at the console would, and remembers what was asked.
/// </summary>
public sealed class AnsweringHost : PSHost
{
    private readonly AnsweringUserInterface _ui;

    public AnsweringHost(params string[] replies) => _ui = new AnsweringUserInterface(replies);

    public IReadOnlyList<string> Prompts => _ui.Prompts;

    /// <summary>What was written to the console (e.g. -WhatIf's "What if:" lines).</summary>
    public IReadOnlyList<string> Lines => _ui.Lines;

    public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;
    public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;
    public override Guid InstanceId { get; } = Guid.NewGuid();
    public override string Name => "AnsweringHost";
    public override PSHostUserInterface UI => _ui;
    public override Version Version => new(1, 0);

    public override void EnterNestedPrompt() => throw new NotSupportedException();
    public override void ExitNestedPrompt() => throw new NotSupportedException();
    public override void NotifyBeginApplication() { }
    public override void NotifyEndApplication() { }
    public override void SetShouldExit(int exitCode) { }

    private sealed class AnsweringUserInterface : PSHostUserInterface
    {
        private readonly Queue<string> _replies;

        public AnsweringUserInterface(IEnumerable<string> replies) => _replies = new Queue<string>(replies);

        public List<string> Prompts { get; } = new();

        public List<string> Lines { get; } = new();

        public override PSHostRawUserInterface RawUI => null;

        public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice)
        {
            Prompts.Add(message);
            if (_replies.Count == 0)
            {
                throw new InvalidOperationException("Unexpected prompt: " + message);
            }

            var reply = _replies.Dequeue();
            for (var i = 0; i < choices.Count; i++)
            {
                if (string.Equals(choices[i].Label.Replace("&", string.Empty), reply, StringComparison.OrdinalIgnoreCase))
                {
                    return i;
                }
            }

            throw new InvalidOperationException($"No choice '{reply}' among {string.Join(", ", choices.Select(c => c.Label))}");
        }

        public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) => throw new NotSupportedException();
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw new NotSupportedException();
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw new NotSupportedException();
        public override string ReadLine() => throw new NotSupportedException();
        public override SecureString ReadLineAsSecureString() => throw new NotSupportedException();
        public override void Write(string value) => Lines.Add(value);
        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Lines.Add(value);
        public override void WriteLine(string value) => Lines.Add(value);
        public override void WriteErrorLine(string value) { }
        public override void WriteDebugLine(string message) { }
        public override void WriteProgress(long sourceId, ProgressRecord record) { }
        public override void WriteVerboseLine(string message) { }
        public override void WriteWarningLine(string message) { }
    }
}
