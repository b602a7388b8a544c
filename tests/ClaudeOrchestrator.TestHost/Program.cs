using System.Management.Automation;
using System.Management.Automation.Runspaces;

// A minimal PowerShell host, standing in for pwsh in tests that kill or signal the host
// process: imports the module, runs one script, and prints every stream as it happens. Its exit
// code follows pwsh -Command: 1 when the script ended on a terminating error or its last
// statement failed ($? is false), else 0. With CO_TESTHOST_EXIT_ON_INPUT=N set, a line on
// stdin makes another thread call [Environment]::Exit(N) wherever the script is.
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

if (int.TryParse(Environment.GetEnvironmentVariable("CO_TESTHOST_EXIT_ON_INPUT"), out var exitCode))
{
    new Thread(() =>
    {
        Console.In.ReadLine();
        Print("HOST: ", "exiting from another thread");
        Environment.Exit(exitCode);
    }) { IsBackground = true }.Start();
}

// $? right after the script's last statement, as pwsh -Command reads it for its exit code.
ps.AddScript($"Import-Module '{args[0].Replace("'", "''")}' -ErrorAction Stop").AddStatement()
    .AddScript(args[1] + "\n$global:__CoTestHostLastSucceeded = $?");
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
return runspace.SessionStateProxy.GetVariable("__CoTestHostLastSucceeded") is true ? 0 : 1;
