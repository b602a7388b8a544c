using System.Management.Automation;
using System.Management.Automation.Runspaces;

// A minimal PowerShell host, standing in for pwsh in tests that kill or signal the host
// process: imports the module, runs one script, and prints every stream as it happens.
// Usage: ClaudeOrchestrator.TestHost <module manifest> <script>
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: ClaudeOrchestrator.TestHost <module manifest> <script>");
    return 2;
}

var state = InitialSessionState.CreateDefault2();
using var runspace = RunspaceFactory.CreateRunspace(state);
runspace.Open();
using var ps = PowerShell.Create();
ps.Runspace = runspace;

void Print(string prefix, object data)
{
    Console.Out.WriteLine(prefix + data);
    Console.Out.Flush();
}

ps.Streams.Information.DataAdded += (s, e) => Print("INFO: ", ps.Streams.Information[e.Index].MessageData);
ps.Streams.Verbose.DataAdded += (s, e) => Print("VERBOSE: ", ps.Streams.Verbose[e.Index].Message);
ps.Streams.Error.DataAdded += (s, e) => Print("ERROR: ", ps.Streams.Error[e.Index].FullyQualifiedErrorId + ": " + ps.Streams.Error[e.Index]);

// Ctrl+C in pwsh stops the running pipeline; do the same here.
Console.CancelKeyPress += (s, e) =>
{
    e.Cancel = true;
    Print("HOST: ", "stopping pipeline");
    ps.BeginStop(null, null);
};

ps.AddScript($"Import-Module '{args[0].Replace("'", "''")}' -ErrorAction Stop").AddStatement().AddScript(args[1]);
var output = new PSDataCollection<PSObject>();
output.DataAdded += (s, e) => Print("OUTPUT: ", output[e.Index]);
Print("HOST: ", "pid " + Environment.ProcessId);
try
{
    ps.Invoke(null, output);
}
catch (RuntimeException e)
{
    Print("HOST: ", "terminated: " + e.Message);
    return 1;
}

Print("HOST: ", "done " + ps.InvocationStateInfo.State);
return ps.HadErrors ? 1 : 0;
