using System.Net;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Egress;
using ClaudeOrchestrator.Engine.Planning;
using ClaudeOrchestrator.Tests.Infrastructure;
using Docker.DotNet.Models;
using Xunit;

namespace ClaudeOrchestrator.Tests;

/// <summary>
/// The egress rules without an engine: what an allow-list entry is, what it matches, which
/// addresses a name may never lead to, what the planner makes of -Network and -AllowHost, and
/// how a task's container is shaped so that no credential enters it.
/// </summary>
[Trait(Needs.Trait, Needs.None)]
public sealed class EgressRulesTests
{
    [Theory]
    [InlineData("github.com", "github.com", null, false)]
    [InlineData("GitHub.COM.", "github.com", null, false)]
    [InlineData("*.npmjs.org", "*.npmjs.org", null, true)]
    [InlineData("example.com:8443", "example.com:8443", 8443, false)]
    [InlineData("10.1.2.3", "10.1.2.3", null, false)]
    [InlineData("10.1.2.3:9000", "10.1.2.3:9000", 9000, false)]
    [InlineData("[2001:db8::1]:443", "[2001:db8::1]:443", 443, false)]
    [InlineData("2001:db8::1", "[2001:db8::1]", null, false)]
    public void EntriesAreNamesWildcardsOrSingleAddressesWithAnOptionalPort(string text, string canonical, int? port, bool wildcard)
    {
        Assert.True(AllowedHost.TryParse(text, out var entry, out var problem), problem);
        Assert.Equal(canonical, entry.ToString());
        Assert.Equal(port, entry.Port);
        Assert.Equal(wildcard, entry.Wildcard);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("*", "wildcard")]
    [InlineData("*.", "wildcard")]
    [InlineData("git*.com", "wildcard")]
    [InlineData("*.com", "top-level")]
    [InlineData("https://github.com", "scheme")]
    [InlineData("github.com/org", "path")]
    [InlineData("10.0.0.0/8", "range")]
    [InlineData("github.com:0", "port")]
    [InlineData("github.com:70000", "port")]
    [InlineData("bad_host..com", "host name")]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("::1", "loopback")]
    [InlineData("169.254.169.254", "link-local")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("0.0.0.0", "unicast")]
    [InlineData("224.0.0.1", "unicast")]
    [InlineData("10.1.2", "valid address")]
    [InlineData("a b", "characters")]
    public void BadEntriesSayWhy(string text, string why)
    {
        Assert.False(AllowedHost.TryParse(text, out _, out var problem));
        Assert.Contains(why, problem);
        var e = Assert.Throws<FormatException>(() => AllowedHost.Parse(text));
        Assert.Contains(why, e.Message);
    }

    [Theory]
    [InlineData("github.com", "github.com", 443, true)]
    [InlineData("github.com", "GITHUB.com", 80, true)]
    [InlineData("github.com", "github.com", 22, false)]
    [InlineData("github.com", "api.github.com", 443, false)]
    [InlineData("github.com", "evilgithub.com", 443, false)]
    [InlineData("*.npmjs.org", "registry.npmjs.org", 443, true)]
    [InlineData("*.npmjs.org", "a.b.npmjs.org", 443, true)]
    [InlineData("*.npmjs.org", "npmjs.org", 443, false)]
    [InlineData("*.npmjs.org", "registry.npmjs.org.evil.com", 443, false)]
    [InlineData("example.com:8443", "example.com", 8443, true)]
    [InlineData("example.com:8443", "example.com", 443, false)]
    [InlineData("10.1.2.3", "10.1.2.3", 443, true)]
    [InlineData("10.1.2.3", "10.1.2.4", 443, false)]
    [InlineData("10.1.2.3", "some.name", 443, false)]
    [InlineData("[2001:db8::1]:443", "[2001:db8::1]", 443, true)]
    public void EntriesMatchHostAndPort(string entry, string host, int port, bool matches) =>
        Assert.Equal(matches, AllowedHost.Parse(entry).Matches(host, port));

    [Theory]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("127.1.2.3", "loopback")]
    [InlineData("169.254.169.254", "link-local")]
    [InlineData("169.254.170.2", "link-local")]
    [InlineData("10.0.0.5", "private")]
    [InlineData("172.16.0.1", "private")]
    [InlineData("172.31.255.1", "private")]
    [InlineData("192.168.1.1", "private")]
    [InlineData("100.64.0.1", "shared")]
    [InlineData("0.0.0.0", "unicast")]
    [InlineData("::1", "loopback")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("fd00:ec2::254", "unique-local")]
    [InlineData("::ffff:169.254.169.254", "link-local")]
    [InlineData("::ffff:10.0.0.1", "private")]
    public void NamesNeverLeadInside(string address, string why) =>
        Assert.Contains(why, AddressRules.RefusedForName(IPAddress.Parse(address)));

    [Theory]
    [InlineData("140.82.112.3")]
    [InlineData("172.32.0.1")]
    [InlineData("2606:4700::1111")]
    public void PublicAddressesAreFineForNames(string address) =>
        Assert.Null(AddressRules.RefusedForName(IPAddress.Parse(address)));

    [Fact]
    public void RecordsRoundTripThroughTheirLine()
    {
        var record = new ClaudeTaskConnection
        {
            TaskId = "k7q2m9xa", Time = new DateTime(2026, 12, 4, 10, 0, 0, DateTimeKind.Utc), Kind = "connect", Host = "github.com", Port = 443,
            Allowed = false, Reason = "github.com:443 is not on\tthe task's allow-list", BytesSent = 12, BytesReceived = 34,
        };
        var back = ConnectionLine.Parse(ConnectionLine.Of(record));
        Assert.NotNull(back);
        Assert.Equal(("k7q2m9xa", "connect", "github.com", 443, false, 12L, 34L), (back!.TaskId, back.Kind, back.Host, back.Port, back.Allowed, back.BytesSent, back.BytesReceived));
        Assert.Equal("github.com:443 is not on the task's allow-list", back.Reason);
        Assert.Equal(record.Time, back.Time.ToUniversalTime());
        Assert.Null(ConnectionLine.Parse("connection\tnot enough"));
    }

    private static (HostConfig Host, List<string> Env) Shape(ClaudeTaskEgress mode, Dictionary<string, string> environment)
    {
        var egress = TaskEgress.For("k7q2m9xa", mode, Array.Empty<AllowedHost>(), environment, null, null);
        var host = new HostConfig { NetworkMode = "none" };
        var env = environment.Select(p => p.Key + "=" + p.Value).ToList();
        egress.Shape(host, env);
        Assert.StartsWith("claude-task-k7q2m9xa-", egress.Token);
        Assert.DoesNotContain(egress.Token, TaskEgress.For("k7q2m9xa", mode, Array.Empty<AllowedHost>(), environment, null, null).Token);
        return (host, env);
    }

    [Theory]
    [InlineData("ANTHROPIC_API_KEY")]
    [InlineData("ANTHROPIC_AUTH_TOKEN")]
    [InlineData("CLAUDE_CODE_OAUTH_TOKEN")]
    public void OfflineTheCredentialIsATokenThatOpensNothing(string variable)
    {
        var (host, env) = Shape(ClaudeTaskEgress.Offline, new Dictionary<string, string> { [variable] = "sk-ant-real-secret", ["ANTHROPIC_BASE_URL"] = "https://proxy.example", ["OTHER"] = "kept" });
        Assert.Equal("none", host.NetworkMode);
        Assert.DoesNotContain(env, e => e.Contains("sk-ant-real-secret") || e.Contains("proxy.example"));
        Assert.Single(env, e => e.StartsWith(variable + "=claude-task-k7q2m9xa-", StringComparison.Ordinal));
        Assert.Contains("OTHER=kept", env);
    }

    [Fact]
    public void WithoutACredentialNoTokenVariableIsMade()
    {
        var (_, env) = Shape(ClaudeTaskEgress.Offline, new Dictionary<string, string> { ["OTHER"] = "kept" });
        Assert.Equal(new[] { "OTHER=kept" }, env);
    }

    [Fact]
    public void TheApiKeyIsTakenFirstAndBecomesTheXApiKeyHeader()
    {
        var egress = TaskEgress.For("t", ClaudeTaskEgress.Gateway, Array.Empty<AllowedHost>(),
            new Dictionary<string, string> { ["CLAUDE_CODE_OAUTH_TOKEN"] = "oauth", ["ANTHROPIC_API_KEY"] = "key" }, null, null);
        Assert.True(egress.NeedsGateway);
        Assert.False(TaskEgress.For("t", ClaudeTaskEgress.Open, Array.Empty<AllowedHost>(), new Dictionary<string, string>(), null, null).NeedsGateway);
        Assert.True(TaskEgress.For("t", ClaudeTaskEgress.Open, Array.Empty<AllowedHost>(), new Dictionary<string, string> { ["ANTHROPIC_AUTH_TOKEN"] = "x" }, null, null).NeedsGateway);
        Assert.False(TaskEgress.For("t", ClaudeTaskEgress.Offline, Array.Empty<AllowedHost>(), new Dictionary<string, string> { ["ANTHROPIC_API_KEY"] = "x" }, null, null).NeedsGateway);
    }

    [Theory]
    [InlineData("claude-orchestrator-gateway:0123456789ab", true)]
    [InlineData("localhost/claude-orchestrator-gateway:0123456789ab", true)]
    [InlineData("claude-orchestrator-gateway:aaaaaaaaaaaa", false)]
    [InlineData("localhost/claude-orchestrator-gateway:aaaaaaaaaaaa", false)]
    [InlineData("claude-orchestrator-gateway-other:0123456789ab", false)]
    [InlineData("example.com/claude-orchestrator-gateway:0123456789ab", false)]
    [InlineData("claude-orchestrator-agent:latest", false)]
    public void OnlyThisModulesGatewayImagesOfOtherBuildsAreRemoved(string listed, bool other)
    {
        Assert.Equal(other, GatewayImage.IsOtherBuild(listed, "claude-orchestrator-gateway:aaaaaaaaaaaa"));
    }
}
