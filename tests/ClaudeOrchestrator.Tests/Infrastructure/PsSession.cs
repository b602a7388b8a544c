using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Management.Automation.Runspaces;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests.Infrastructure;

/// <summary>A real PowerShell runspace with the built module imported, driven as a user would.</summary>
public sealed class PsSession : IDisposable
{
    /// <param name="host">A host that answers prompts and shows what the console would; none by default.</param>
    public PsSession(bool importModule = true, PSHost host = null)
    {
        var state = InitialSessionState.CreateDefault2();
        Runspace = host == null ? RunspaceFactory.CreateRunspace(state) : RunspaceFactory.CreateRunspace(host, state);
        Runspace.Open();
        if (importModule)
        {
            Invoke($"Import-Module '{Repo.Manifest}' -ErrorAction Stop").ThrowIfFailed();
        }
    }

    public Runspace Runspace { get; }

    public PsResult Invoke(string script, IDictionary<string, object> variables = null)
    {
        using var ps = Create(script, variables);
        return PsResult.From(ps, () => ps.Invoke());
    }

    /// <summary>Starts a script without waiting, for tests that stop it like Ctrl+C does.</summary>
    public RunningScript Start(string script, IDictionary<string, object> variables = null)
    {
        var ps = Create(script, variables);
        var output = new PSDataCollection<PSObject>();
        var handle = ps.BeginInvoke<PSObject, PSObject>(null, output);
        return new RunningScript(ps, handle, output);
    }

    private System.Management.Automation.PowerShell Create(string script, IDictionary<string, object> variables)
    {
        var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = Runspace;
        if (variables != null)
        {
            foreach (var pair in variables)
            {
                Runspace.SessionStateProxy.SetVariable(pair.Key, pair.Value);
            }
        }

        ps.AddScript(script);
        return ps;
    }

    public void Dispose()
    {
        Runspace.Dispose();
    }
}

public sealed class RunningScript : IDisposable
{
    private readonly IAsyncResult _handle;

    public RunningScript(System.Management.Automation.PowerShell ps, IAsyncResult handle, PSDataCollection<PSObject> output)
    {
        PowerShell = ps;
        _handle = handle;
        Output = output;
    }

    public System.Management.Automation.PowerShell PowerShell { get; }

    public PSDataCollection<PSObject> Output { get; }

    public IEnumerable<string> InformationText => PowerShell.Streams.Information.Select(i => i.MessageData?.ToString());

    /// <summary>Waits until an information line satisfies <paramref name="predicate"/>.</summary>
    public void WaitForInformation(Func<string, bool> predicate, TimeSpan limit)
    {
        if (!Eventually.Last(() => InformationText.ToList().Any(predicate), seen => seen, limit, TimeSpan.FromMilliseconds(20)))
        {
            throw new TimeoutException("Expected agent output did not appear. Errors: " +
                string.Join("; ", PowerShell.Streams.Error.Select(e => e.ToString())));
        }
    }

    /// <summary>What pwsh does on Ctrl+C: stop the running pipeline and wait for it.</summary>
    public void Stop() => PowerShell.Stop();

    public PsResult Wait()
    {
        return PsResult.From(PowerShell, () =>
        {
            PowerShell.EndInvoke(_handle);
            return new Collection<PSObject>(Output.ToList());
        });
    }

    public void Dispose() => PowerShell.Dispose();
}

public sealed class PsResult
{
    public Collection<PSObject> Output { get; private init; } = new();
    public IReadOnlyList<ErrorRecord> Errors { get; private init; } = Array.Empty<ErrorRecord>();
    public IReadOnlyList<InformationRecord> Information { get; private init; } = Array.Empty<InformationRecord>();
    public IReadOnlyList<string> Verbose { get; private init; } = Array.Empty<string>();
    public IReadOnlyList<string> Debug { get; private init; } = Array.Empty<string>();
    public IReadOnlyList<string> Warnings { get; private init; } = Array.Empty<string>();
    public IReadOnlyList<ProgressRecord> Progress { get; private init; } = Array.Empty<ProgressRecord>();

    /// <summary>A terminating error (or stop) that ended the script.</summary>
    public Exception Terminating { get; private init; }

    public IEnumerable<string> ErrorIds => Errors.Select(e => e.FullyQualifiedErrorId);

    /// <summary>
    /// The error that ended the statement: a cmdlet's terminating error ends only its statement
    /// in a script, so it lands in the error stream unless the whole script was stopped.
    /// </summary>
    public ErrorRecord FirstError =>
        (Terminating as IContainsErrorRecord)?.ErrorRecord ?? Errors.FirstOrDefault()
        ?? throw new Xunit.Sdk.XunitException("expected an error, got none");

    public IEnumerable<string> InformationText => Information.Select(i => i.MessageData?.ToString());

    /// <summary>Everything the user could have seen, for secret-leak checks.</summary>
    public string AllText => string.Join("\n",
        Output.Select(o => o?.ToString()).Concat(ErrorIds).Concat(Errors.Select(e => e.ToString()))
            .Concat(InformationText).Concat(Verbose).Concat(Debug).Concat(Warnings)
            .Append(Terminating?.ToString()));

    public T Single<T>() => Assert(Output.Count == 1, $"expected one output object, got {Output.Count}: {Describe()}")
        ? (T)Output[0].BaseObject
        : default;

    public PsResult ThrowIfFailed()
    {
        if (Terminating != null || Errors.Count > 0)
        {
            throw new InvalidOperationException("PowerShell reported errors: " + Describe(), Terminating);
        }

        return this;
    }

    public string Describe() => string.Join(" | ",
        Errors.Select(e => e.FullyQualifiedErrorId + ": " + e).Append(Terminating?.Message ?? string.Empty));

    private static bool Assert(bool condition, string message) =>
        condition ? true : throw new Xunit.Sdk.XunitException(message);

    internal static PsResult From(System.Management.Automation.PowerShell ps, Func<Collection<PSObject>> invoke)
    {
        Collection<PSObject> output = new();
        Exception terminating = null;
        try
        {
            output = invoke();
        }
        catch (RuntimeException e)
        {
            terminating = e;
        }

        return new PsResult
        {
            Output = output,
            Errors = ps.Streams.Error.ToList(),
            Information = ps.Streams.Information.ToList(),
            Verbose = ps.Streams.Verbose.Select(v => v.Message).ToList(),
            Debug = ps.Streams.Debug.Select(v => v.Message).ToList(),
            Warnings = ps.Streams.Warning.Select(v => v.Message).ToList(),
            Progress = ps.Streams.Progress.ToList(),
            Terminating = terminating,
        };
    }
}
