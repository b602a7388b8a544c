using System.Text.RegularExpressions;
using ClaudeOrchestrator.Engine.Egress;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Testing;
using ClaudeOrchestrator.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace ClaudeOrchestrator.Tests;

/// <summary>
/// The tests' own "outside": a network they create (the gateway's way out for these tests) with
/// one host on it that serves HTTP on port 80 and, on port 8080, logs every request it gets (the
/// model API stand-in). No packet leaves the machine.
/// </summary>
public sealed class EgressHosts : IDisposable
{
    public EgressHosts()
    {
        var suffix = Guid.NewGuid().ToString("N").Substring(0, 8);
        Network = "ca-egress-out-" + suffix;
        Host = "co-outside-" + suffix;
        DockerCli.Run("network", "create", Network).EnsureSuccess();
        DockerCli.Run("run", "-d", "--name", Host, "--network", Network, DockerFixture.Image, "sh", "-c",
            "mkdir -p /tmp/www && echo outside-ok > /tmp/www/index.html && httpd -p 80 -h /tmp/www && " +
            "while true; do printf 'HTTP/1.0 200 OK\\r\\nContent-Type: application/json\\r\\n\\r\\n{\"logged\":true}' | nc -l -p 8080 >> /tmp/requests.log; done").EnsureSuccess();
        Address = DockerCli.Inspect(Host, "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}");
        Eventually.True(() => DockerCli.Run("exec", Host, "wget", "-q", "-O", "-", "http://127.0.0.1/").Stdout.Contains("outside-ok"), TimeSpan.FromSeconds(20), "the outside host serves");
    }

    public string Network { get; }

    /// <summary>The outside host's container name (it resolves, on the tests' network, to a private address).</summary>
    public string Host { get; }

    public string Address { get; }

    /// <summary>The model API stand-in's base URL.</summary>
    public string ApiUrl => $"http://{Address}:8080";

    /// <summary>Every request the stand-in API has received, head and body, as it arrived.</summary>
    public string ApiRequests() => DockerCli.Run("exec", Host, "cat", "/tmp/requests.log").Stdout;

    public void Dispose()
    {
        DockerCli.Run("rm", "-f", Host);
        DockerCli.Run("network", "rm", Network);
    }
}

/// <summary>
/// The boundary: without -Network a task's container has no route out, reaches only the model
/// API and the hosts it is allowed through the session's egress gateway, never holds the key,
/// and every attempt it makes is on the record.
/// </summary>
[Trait(Needs.Trait, Needs.Docker)]
public class EgressTests : TaskTestBase, IClassFixture<EgressHosts>
{
    private const string Key = "sk-ant-egress-0123456789-never-inside";

    private readonly EgressHosts _hosts;
    private readonly IDisposable _outside;

    public EgressTests(DockerFixture docker, ITestOutputHelper output, EgressHosts hosts) : base(docker, output)
    {
        _hosts = hosts;
        _outside = Override(EgressGateway.OutsideNetworkVariable, hosts.Network);
    }

    public override void Dispose()
    {
        _outside.Dispose();
        base.Dispose();
    }

    /// <summary>A task whose agent runs <paramref name="script"/> (one line of sh) with the caller's key and the API stand-in as its endpoint.</summary>
    private PsResult Probe(string script, string extra = "")
    {
        using (Override("ANTHROPIC_API_KEY", Key))
        using (Override("ANTHROPIC_BASE_URL", _hosts.ApiUrl))
        {
            return Session.Invoke(StartTask("run " + script, "-Isolation None " + extra));
        }
    }

    private List<ClaudeTaskConnection> Connections(string taskId) =>
        Session.Invoke($"Receive-ClaudeTask {taskId} -Network").ThrowIfFailed().Output.Select(o => (ClaudeTaskConnection)o.BaseObject).ToList();

    private static string Value(string output, string name) => Regex.Match(output, "(?m)^" + name + "=(\\d+)$").Groups[1].Value;

    [Fact]
    public void TheAgentReachesOnlyWhatItIsAllowedAndEveryAttemptIsRecorded()
    {
        var o = _hosts.Address;
        // A service of the engine's host, on all its addresses: no task may reach it, by any of them.
        var hostService = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Any, 0);
        hostService.Start();
        var hostPort = ((System.Net.IPEndPoint)hostService.LocalEndpoint).Port;
        var script =
            $"for a in $(ip route | awk '/default/ {{print $3}}') 172.17.0.1; do echo x | timeout 5 nc -w 2 $a {hostPort} && echo hostreached=$a; done; echo hostdone=1; " +
            $"timeout 10 wget -q -O - http://{o}/; echo allowed=$?; " +
            $"timeout 10 wget -q -O - http://{o}:8080/; echo otherport=$?; " +
            "timeout 10 wget -q -O - http://not-allowed.example/; echo notallowed=$?; " +
            $"timeout 10 wget -q -O - http://{_hosts.Host}/; echo private=$?; " +
            "timeout 10 wget -q -O - http://169.254.169.254/latest/meta-data/; echo metadata=$?; " +
            $"http_proxy= timeout 10 wget -q -O - http://{o}/; echo direct=$?; " +
            $"echo x | nc -w 2 {o} 80; echo tcp=$?; " +
            // UDP straight to an address (busybox nc has no -u): a name server of the agent's choosing.
            $"timeout 10 nslookup leak-by-udp.example {o}; echo udp=$?; " +
            "nslookup leak.example.com; echo dns=$?; " +
            "http_proxy= timeout 10 wget -q -O - --header 'x-api-key: sk-ant-made-up' $ANTHROPIC_BASE_URL/v1/messages; echo madeup=$?";
        var r = Probe(script, $"-AllowHost '{o}:80', '{_hosts.Host}' -Verbose");
        hostService.Stop();
        var result = r.Single<ClaudeTaskResult>();
        var output = result.Output;
        Log(output);

        Assert.Contains("outside-ok", output);
        Assert.Contains("hostdone=1", output);
        Assert.DoesNotContain("hostreached=", output);
        Assert.Equal("0", Value(output, "allowed"));
        foreach (var refused in new[] { "otherport", "notallowed", "private", "metadata", "direct", "tcp", "udp", "dns", "madeup" })
        {
            Assert.True(Value(output, refused) is var rc && rc != "" && rc != "0", $"{refused} should have failed: {output}");
        }

        var records = Connections(result.TaskId);
        Assert.Contains(records, c => c.Allowed && c.Kind == "http" && c.Host == o && c.Port == 80 && c.BytesReceived > 0);
        Assert.Contains(records, c => !c.Allowed && c.Host == o && c.Port == 8080 && c.Reason.Contains("not on the task's allow-list"));
        Assert.Contains(records, c => !c.Allowed && c.Host == "not-allowed.example" && c.Reason.Contains("not on the task's allow-list"));
        Assert.Contains(records, c => !c.Allowed && c.Host == _hosts.Host && c.Reason.Contains("private address"));
        // Refused at the gateway before any connection: no packet went to the metadata address.
        Assert.Contains(records, c => !c.Allowed && c.Host == "169.254.169.254" && c.BytesSent == 0 && c.BytesReceived == 0);
        Assert.Contains(records, c => !c.Allowed && c.Kind == "dns" && c.Host.StartsWith("leak.example.com"));
        Assert.Contains(records, c => !c.Allowed && c.Kind == "api" && c.Reason.Contains("a token no task was given"));
        // Packets straight to an address reach the gateway as the tasks' router, which records and refuses them.
        Assert.Contains(records, c => !c.Allowed && c.Kind == "tcp" && c.Host == o && c.Port == 80 && c.Reason.Contains("the only way out is the proxy"));
        Assert.Contains(records, c => !c.Allowed && c.Kind == "udp" && c.Host == o && c.Port == 53);
        Assert.Contains(records, c => !c.Allowed && c.Kind == "tcp" && c.Host == "172.17.0.1" && c.Port == hostPort);

        Assert.Equal(ClaudeTaskEgress.Gateway, result.Egress);
        Assert.Equal(records.Count(c => c.Allowed), result.ConnectionsAllowed);
        Assert.Equal(records.Count(c => !c.Allowed), result.ConnectionsRefused);
        var task = Session.Invoke($"Get-ClaudeTask {result.TaskId}").ThrowIfFailed().Single<ClaudeTask>();
        Assert.Equal((result.ConnectionsAllowed, result.ConnectionsRefused), (task.ConnectionsAllowed, task.ConnectionsRefused));
        // One warning line per kind of refusal, in the task's own output.
        Assert.Contains(r.Warnings, w => w.Contains("refused a connection to") || w.Contains("refused an HTTP request to 169.254.169.254:80"));
        Assert.Contains(r.Warnings, w => w.Contains("a DNS query for leak.example.com"));

        // The gateway waits for the session's next task; stopped, it goes with its network.
        Assert.Single(DockerCli.GatewayNames());
        EgressGateways.StopIdleAsync().Wait(TimeSpan.FromSeconds(30));
        Assert.Empty(DockerCli.GatewayNames());
        Assert.Empty(DockerCli.ManagedNetworks());
    }

    [Fact]
    public void TheKeyNeverEntersTheContainerAndTheModelApiReceivesIt()
    {
        var script = "env; sleep 2; http_proxy= timeout 10 wget -q -O - --header \"x-api-key: $ANTHROPIC_API_KEY\" --post-data '{}' $ANTHROPIC_BASE_URL/v1/messages; rc=$?; echo; echo api=$rc";
        using (Override("ANTHROPIC_API_KEY", Key))
        using (Override("ANTHROPIC_BASE_URL", _hosts.ApiUrl))
        using (var running = Session.Start(StartTask("run " + script, "-Isolation None")))
        {
            // While it runs: nothing about the task's container or the gateway's holds the key.
            var task = Eventually.Last(() => DockerCli.NamesWithLabel("io.claude-orchestrator.task-id"), n => n.Count > 0, TimeSpan.FromSeconds(30)).First();
            var gateway = Assert.Single(DockerCli.GatewayNames());
            Assert.DoesNotContain(Key, DockerCli.Run("inspect", task).Stdout);
            Assert.DoesNotContain(Key, DockerCli.Run("inspect", gateway).Stdout);
            var r = running.Wait();
            var result = r.Single<ClaudeTaskResult>();
            Log(result.Output);
            Assert.Equal("0", Value(result.Output, "api"));
            Assert.DoesNotContain(Key, result.Output);
            Assert.Matches($"(?m)^ANTHROPIC_API_KEY=claude-task-{result.TaskId}-[0-9a-f]+$", result.Output);
            Assert.Contains("HTTPS_PROXY=http://", result.Output);
            Assert.DoesNotContain(_hosts.ApiUrl, result.Output);
            // The stand-in API got the real key, and never the task's token.
            var requests = _hosts.ApiRequests();
            Assert.Contains("x-api-key: " + Key, requests);
            Assert.DoesNotContain("claude-task-" + result.TaskId, requests);
            Assert.Contains(Connections(result.TaskId), c => c.Allowed && c.Kind == "api" && c.Host == _hosts.Address && c.BytesSent > 0);
            Assert.DoesNotContain(Key, File.ReadAllText(result.TranscriptPath));
            Assert.DoesNotContain(Key, File.ReadAllText(ClaudeOrchestrator.Engine.Records.TaskStore.ConnectionsFor(result.TaskId)));
            Assert.DoesNotContain(Key, r.AllText);
        }
    }

    [Fact]
    public void AnEndedTasksTokenIsRefused()
    {
        // Two tasks in place in one folder: the first leaves its token there and ends, the second uses it.
        var first = "echo $ANTHROPIC_API_KEY > /workspace/first.token";
        var second = "sleep 4; http_proxy= timeout 10 wget -q -O - --header \"x-api-key: $(cat /workspace/first.token)\" $ANTHROPIC_BASE_URL/v1/messages; echo ended=$?";
        using (Override("ANTHROPIC_API_KEY", Key))
        using (Override("ANTHROPIC_BASE_URL", _hosts.ApiUrl))
        {
            var r = Session.Invoke($"'run {first}', 'run {second.Replace("'", "''")}' | ForEach-Object {{ [pscustomobject]@{{ Path = '{Project.FullName}'; Description = $_ }} }} | " +
                                   $"Start-ClaudeTask -Image {Image} -Isolation None -ThrottleLimit 2");
            var results = r.Output.Select(o => (ClaudeTaskResult)o.BaseObject).ToList();
            Assert.Equal(2, results.Count);
            var user = results.Single(x => x.Output.Contains("ended="));
            var owner = results.Single(x => x != user);
            Assert.NotEqual("0", Value(user.Output, "ended"));
            Assert.Contains(Connections(user.TaskId), c => !c.Allowed && c.Kind == "api" && c.Reason.Contains($"task {owner.TaskId}'s, which has ended"));
            Assert.DoesNotContain("claude-task-" + owner.TaskId, _hosts.ApiRequests());
        }
    }

    [Fact]
    public void ANetworkHolderServesTheNextTaskOnlyWithNothingOfThePreviousOneLeft()
    {
        // The first task leaves a listener in its network, in the background, and ends.
        var first = Probe("(while true; do nc -l -p 9999 </dev/null >/dev/null 2>&1; done) & sleep 1; echo x | nc -w 2 127.0.0.1 9999; echo own=$?", "-Verbose");
        var second = Probe("echo x | nc -w 2 127.0.0.1 9999; echo leftover=$?", "-Verbose");
        string Holder(PsResult r) => Regex.Match(string.Join("\n", r.Verbose), "shares the network of (claude-holder-\\S+)").Groups[1].Value;
        Log(first.Single<ClaudeTaskResult>().Output + second.Single<ClaudeTaskResult>().Output);
        Assert.Equal("0", Value(first.Single<ClaudeTaskResult>().Output, "own"));
        // The same holder, handed back once the first container was gone: the listener went with it.
        Assert.NotEqual("", Holder(first));
        Assert.Equal(Holder(first), Holder(second));
        Assert.NotEqual("0", Value(second.Single<ClaudeTaskResult>().Output, "leftover"));
    }

    [Fact]
    public void TheGatewayIsListedAndTrackedAndGoesWithTheModule()
    {
        using (var running = Session.Start(StartTask("run sleep 3", "-Isolation None")))
        using (var other = new PsSession())
        {
            Eventually.True(() => DockerCli.GatewayNames().Count == 1 && DockerCli.NamesWithLabel("io.claude-orchestrator.task-id").Count == 1, TimeSpan.FromSeconds(30), "the gateway and the task run");
            var listed = other.Invoke("Get-ClaudeContainer -All").ThrowIfFailed().Output.Select(o => (ClaudeContainer)o.BaseObject).ToList();
            Assert.Contains(listed, c => c.Role == EgressGateway.GatewayRole && c.Kind == ContainerKinds.Container && c.IsTracked);
            // The task's container shares the network of a holder made ahead (more wait for the next tasks).
            Assert.Contains(listed, c => c.Role == NetworkHolders.HolderRole && c.Kind == ContainerKinds.Container);
            var task = DockerCli.NamesWithLabel("io.claude-orchestrator.task-id").Single();
            Assert.StartsWith("container:", DockerCli.Inspect(task, "{{.HostConfig.NetworkMode}}"));
            Assert.Contains(listed, c => c.Kind == ContainerKinds.Network && c.Name.StartsWith("claude-egress-") && c.IsTracked);
            // A live session's network is not an orphan.
            Assert.DoesNotContain(other.Invoke("Get-ClaudeContainer -Orphaned").ThrowIfFailed().Output.Select(o => (ClaudeContainer)o.BaseObject), c => c.Kind == ContainerKinds.Network);
            running.Wait().ThrowIfFailed();
        }

        // Idle, it waits for the next task, still this session's; a second task uses the same one.
        var gateway = Assert.Single(DockerCli.GatewayNames());
        Session.Invoke(StartTask("succeed", "-Isolation None")).ThrowIfFailed();
        Assert.Equal(new[] { gateway }, DockerCli.GatewayNames());
        Session.Invoke("Remove-Module ClaudeOrchestrator").ThrowIfFailed();
        Assert.Empty(DockerCli.EgressNames());
        Assert.Empty(DockerCli.ManagedNetworks());
    }

    [Fact]
    public void TheGatewayImagesOfOtherBuildsGoUnlessAContainerUsesOne()
    {
        // Two images as other builds of the module would have left them, one still used by a (created) container.
        var suffix = Guid.NewGuid().ToString("N").Substring(0, 8);
        var unused = GatewayImage.Repository + ":unused" + suffix;
        var used = GatewayImage.Repository + ":used" + suffix;
        var user = "co-test-gateway-user-" + suffix;
        foreach (var name in new[] { unused, used })
        {
            var content = Path.Combine(Path.GetTempPath(), "co-image-" + Guid.NewGuid());
            Directory.CreateDirectory(content);
            File.WriteAllText(Path.Combine(content, "build"), name);
            DockerCli.ImportFolder(content, name);
            Directory.Delete(content, true);
        }

        try
        {
            DockerCli.Run("create", "--name", user, used, "/build").EnsureSuccess();
            EgressGateways.StopIdleAsync().Wait(TimeSpan.FromSeconds(30));
            GatewayImage.Forget(DockerConnection.Current());
            var r = Probe("echo loaded", "-Verbose");
            Assert.Contains(r.Verbose, v => v.Contains($"Removed the egress gateway image of another build of the module, {unused}"));
            var left = DockerCli.Run("images", GatewayImage.Repository, "--format", "{{.Repository}}:{{.Tag}}").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.DoesNotContain(unused, left);
            Assert.Contains(used, left);
            Assert.Single(left, t => t != used);
        }
        finally
        {
            DockerCli.Run("rm", "-f", user);
            DockerCli.Run("rmi", unused, used);
        }
    }

    [Fact]
    public void OpenEgressOnANamedNetworkReachesAnyHostAndStillKeepsTheKeyOut()
    {
        var script = $"env; timeout 10 wget -q -O - http://{_hosts.Address}/; echo direct=$?; timeout 10 wget -q -O - --header \"x-api-key: $ANTHROPIC_API_KEY\" $ANTHROPIC_BASE_URL/v1/messages; rc=$?; echo; echo api=$rc";
        var r = Probe(script, $"-Network {_hosts.Network}");
        var result = r.Single<ClaudeTaskResult>();
        Log(result.Output);
        Assert.Contains(r.Warnings, w => w.Contains("open egress"));
        Assert.Equal(ClaudeTaskEgress.Open, result.Egress);
        Assert.Equal("0", Value(result.Output, "direct"));
        Assert.Equal("0", Value(result.Output, "api"));
        Assert.DoesNotContain(Key, result.Output);
        Assert.Contains("x-api-key: " + Key, _hosts.ApiRequests());
    }

    [Fact]
    public void AfterASigkillTheGatewayEndsItselfAndTheSweepTakesItsNetwork()
    {
        // The whole process group of a session, killed while its task runs through the gateway.
        using (var host = HostProcess.StartWhenWritten($"-Path '{Project.FullName}' -Description 'write-then-sleep left.txt x 600' -Image {Image} -Isolation None", "left.txt",
                   new Dictionary<string, string> { [EgressGateway.OutsideNetworkVariable] = _hosts.Network }))
        {
            var gateway = Assert.Single(DockerCli.GatewayNames());
            var network = Assert.Single(DockerCli.ManagedNetworks());
            host.SignalGroup(9);
            host.WaitForExit(TimeSpan.FromSeconds(30));

            // Its stdin closed with the session: the gateway ends and the engine removes it; the task's watcher ends the task.
            DockerCli.WaitGone(gateway, TimeSpan.FromSeconds(30));
            Eventually.True(() => DockerCli.NamesWithLabel("io.claude-orchestrator.task-id").Count == 0, TimeSpan.FromSeconds(30), "the task's container ends itself");
            Assert.Equal(new[] { network }, DockerCli.ManagedNetworks());

            var orphans = Session.Invoke("Get-ClaudeContainer -Orphaned").ThrowIfFailed().Output.Select(o => (ClaudeContainer)o.BaseObject).ToList();
            Assert.Contains(orphans, c => c.Kind == ContainerKinds.Network && c.Name == network && !c.IsTracked);
            Session.Invoke("Remove-ClaudeContainer -Orphaned -Confirm:$false").ThrowIfFailed();
            Assert.Empty(DockerCli.ManagedNetworks());
        }
    }

    [Fact]
    public void ABadAllowHostIsRefusedBeforeAnythingExists()
    {
        var before = Session.Invoke("Get-ClaudeTask").Output.Count;
        var r = Session.Invoke(StartTask("succeed", "-AllowHost '10.0.0.0/8'"));
        Assert.Empty(r.Output);
        Assert.StartsWith("AllowHostInvalid,", r.FirstError.FullyQualifiedErrorId);
        Assert.Equal(System.Management.Automation.ErrorCategory.InvalidArgument, r.FirstError.CategoryInfo.Category);
        Assert.Contains("address range", r.FirstError.Exception.Message);
        Assert.Equal(before, Session.Invoke("Get-ClaudeTask").Output.Count);
        Assert.Empty(DockerCli.GatewayNames());
    }
}
