using System.Diagnostics;
using System.Net;
using Docker.DotNet.Models;
using ClaudeOrchestrator.Engine.Cleanup;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Tracking;
using ClaudeOrchestrator.Tests.Infrastructure;
using Xunit;

namespace ClaudeOrchestrator.Tests;

/// <summary>
/// The rules the module builds on the engine's API, against an engine in memory: a removal is
/// confirmed (a request that hangs, is refused, or races another removal is followed by a look),
/// a listing with a part the engine cannot list still lists the rest, and an orphan is judged
/// only on what was listed. The engine-backed suites prove the same against real engines.
/// </summary>
[Trait(Needs.Trait, Needs.None)]
public sealed class EngineRulesTests
{
    private static readonly RemovalLimits Quick = new() { Request = TimeSpan.FromMilliseconds(200), Answer = TimeSpan.FromMilliseconds(200), Stuck = TimeSpan.FromSeconds(5) };

    private static Task<RemovalOutcome> Remove(FakeEngine engine, string id = "c1", CancellationToken abandon = default) =>
        ContainerRemover.RemoveConfirmedAsync(engine.Connection, id, "claude-" + id, abandon, limits: Quick);

    [Fact]
    public async Task ARemovalTheEngineDoesIsOneRequest()
    {
        var engine = new FakeEngine { OnRemoveContainer = (_, _) => Task.CompletedTask };

        var outcome = await Remove(engine);

        Assert.True(outcome.Removed);
        Assert.True(outcome.WasPresent);
        Assert.Null(outcome.Error);
        Assert.Equal(1, engine.Calls(nameof(FakeEngine.RemoveContainerAsync)));
        Assert.Equal(0, engine.Calls(nameof(FakeEngine.InspectContainerAsync)));
    }

    [Fact]
    public async Task AContainerAlreadyGoneIsRemovedAndSaidNotToHaveBeenThere()
    {
        var engine = new FakeEngine { OnRemoveContainer = (id, _) => throw FakeEngine.NoSuchContainer(id) };

        var outcome = await Remove(engine);

        Assert.True(outcome.Removed);
        Assert.False(outcome.WasPresent);
    }

    [Fact]
    public async Task ARequestThatHangsIsFollowedByALookAndAContainerGoneMeanwhileIsRemoved()
    {
        var engine = new FakeEngine
        {
            OnRemoveContainer = async (_, cancel) => await Task.Delay(Timeout.Infinite, cancel),
            OnInspectContainer = id => throw FakeEngine.NoSuchContainer(id),
        };

        var outcome = await Remove(engine);

        Assert.True(outcome.Removed);
        Assert.True(outcome.WasPresent);
        Assert.Equal(1, engine.Calls(nameof(FakeEngine.RemoveContainerAsync)));
        Assert.Equal(1, engine.Calls(nameof(FakeEngine.PingAsync)));
        // The timer may fire a hair before its period as a stopwatch sees it: half of it proves the wait is counted.
        Assert.True(outcome.Duration >= TimeSpan.FromTicks(Quick.Request.Ticks / 2), $"{outcome.Duration} is the real duration, the request's wait included");
    }

    [Fact]
    public async Task ARefusedRemovalIsAskedAgainThenReportedInTheEnginesWords()
    {
        var engine = new FakeEngine
        {
            OnRemoveContainer = (_, _) => throw FakeEngine.ApiError(HttpStatusCode.InternalServerError, "driver failed to remove root filesystem: device or resource busy"),
            OnInspectContainer = id => Task.FromResult(new ContainerInspectResponse { ID = id }),
        };

        var outcome = await Remove(engine);

        Assert.False(outcome.Removed);
        Assert.Contains("device or resource busy", outcome.Error.Message);
        Assert.Equal(Quick.RefusedAttempts, engine.Calls(nameof(FakeEngine.RemoveContainerAsync)));
    }

    [Fact]
    public async Task AnEngineThatStopsAnsweringEndsTheWaitAndSaysWhoFinishesTheJob()
    {
        var engine = new FakeEngine
        {
            OnRemoveContainer = async (_, cancel) => await Task.Delay(Timeout.Infinite, cancel),
            OnPing = async cancel => await Task.Delay(Timeout.Infinite, cancel),
        };

        var outcome = await Remove(engine);

        Assert.False(outcome.Removed);
        Assert.IsType<TimeoutException>(outcome.Error);
        Assert.Contains("gave no answer", outcome.Error.Message);
        Assert.Contains("watcher removes it", outcome.Error.Message);
        Assert.Equal(0, engine.Calls(nameof(FakeEngine.InspectContainerAsync)));
    }

    [Fact]
    public async Task ARemovalAlreadyUnderWayIsWaitedForNotRepeated()
    {
        var looks = 0;
        var engine = new FakeEngine
        {
            OnRemoveContainer = (_, _) => throw FakeEngine.ApiError(HttpStatusCode.Conflict, "removal of container c1 is already in progress"),
            OnInspectContainer = id => ++looks < 3 ? Task.FromResult(new ContainerInspectResponse { ID = id }) : throw FakeEngine.NoSuchContainer(id),
        };

        var outcome = await Remove(engine);

        Assert.True(outcome.Removed);
        Assert.True(outcome.WasPresent);
        Assert.Equal(1, engine.Calls(nameof(FakeEngine.RemoveContainerAsync)));
        Assert.Equal(3, looks);
    }

    [Fact]
    public async Task AbandoningARemovalEndsItWithoutAFalseSuccess()
    {
        var engine = new FakeEngine
        {
            OnRemoveContainer = async (_, cancel) => await Task.Delay(Timeout.Infinite, cancel),
            OnInspectContainer = id => Task.FromResult(new ContainerInspectResponse { ID = id }),
        };
        using var abandon = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        var outcome = await Remove(engine, abandon: abandon.Token);

        Assert.False(outcome.Removed);
        Assert.NotNull(outcome.Error);
        Assert.Equal(1, engine.Calls(nameof(FakeEngine.RemoveContainerAsync)));
    }

    [Fact]
    public async Task ASwarmServiceIsRemovedThroughTheManagerAndLookedUpThere()
    {
        var engine = new FakeEngine(swarmManager: true)
        {
            OnRemoveService = _ => throw FakeEngine.ApiError(HttpStatusCode.InternalServerError, "rpc error: context deadline exceeded"),
            OnInspectService = _ => throw FakeEngine.ApiError(HttpStatusCode.NotFound, "service not found"),
        };

        var outcome = await ContainerRemover.RemoveConfirmedAsync(engine.Connection, "s1", "claude-s1", default, Engine.Backends.Swarm.ServiceObjects.Instance, Quick);

        Assert.True(outcome.Removed);
        Assert.Equal(new[] { "RemoveServiceAsync s1", "PingAsync", "InspectServiceAsync s1" }, engine.Log);
        Assert.Equal(0, engine.Calls(nameof(FakeEngine.RemoveContainerAsync)));
    }

    /// <summary>Labels of an object of a session of this host whose process is gone.</summary>
    private static Dictionary<string, string> DeadOwnersLabels(string taskId)
    {
        using var gone = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        gone.WaitForExit();
        return new Dictionary<string, string>
        {
            [ContainerLabels.Managed] = "true",
            [ContainerLabels.TaskId] = taskId,
            [ContainerLabels.SessionId] = "a-dead-session",
            [ContainerLabels.OwnerHost] = SessionIdentity.HostName,
            [ContainerLabels.OwnerPid] = gone.Id.ToString(),
        };
    }

    private static FakeEngine SwarmWithOneOfEach(bool servicesListed)
    {
        var engine = new FakeEngine(swarmManager: true)
        {
            OnListContainers = _ => Task.FromResult<IList<ContainerListResponse>>(new List<ContainerListResponse>
            {
                new() { ID = "c-dead", Names = new[] { "/claude-dead" }, State = "exited", Labels = DeadOwnersLabels("t1"), Created = DateTime.UtcNow.AddMinutes(-5) },
            }),
            OnListConfigs = () => Task.FromResult<IList<SwarmConfig>>(new List<SwarmConfig>
            {
                new() { ID = "cfg-dead", Spec = new SwarmConfigSpec { Name = "claude-t2-workspace", Labels = DeadOwnersLabels("t2") }, CreatedAt = DateTime.UtcNow.AddMinutes(-5) },
            }),
        };
        if (servicesListed)
        {
            engine.OnListServices = () => Task.FromResult<IList<SwarmService>>(new List<SwarmService>());
        }
        else
        {
            engine.OnListServices = () => throw FakeEngine.ApiError(HttpStatusCode.ServiceUnavailable, "this node is not a swarm manager right now");
        }

        return engine;
    }

    [Fact]
    public async Task APartTheEngineCannotListIsAProblemWhileTheRestIsListed()
    {
        var engine = SwarmWithOneOfEach(servicesListed: false);

        var listed = await Inventory.ListAsync(engine.Connection, ContainerScope.All, ContainerFilter.None, CancellationToken.None);

        Assert.Equal(new[] { "c-dead", "cfg-dead" }, listed.Select(c => c.Id).OrderBy(i => i));
        var problem = Assert.Single(listed.Problems);
        Assert.Equal(ContainerKinds.Service, problem.Part);
        Assert.Contains("not a swarm manager right now", problem.Error.Message);
    }

    [Fact]
    public async Task AConfigIsNotTakenForAnOrphanWhileItsServicesAreUnknown()
    {
        var unknown = await Inventory.ListAsync(SwarmWithOneOfEach(servicesListed: false).Connection, ContainerScope.Orphaned, ContainerFilter.None, CancellationToken.None);
        var known = await Inventory.ListAsync(SwarmWithOneOfEach(servicesListed: true).Connection, ContainerScope.Orphaned, ContainerFilter.None, CancellationToken.None);

        Assert.Equal(new[] { "c-dead" }, unknown.Select(c => c.Id));
        Assert.Equal(new[] { "c-dead", "cfg-dead" }, known.Select(c => c.Id).OrderBy(i => i));
    }

    [Fact]
    public async Task AnEngineThatCannotListItsContainersListsNothing()
    {
        var engine = new FakeEngine(swarmManager: true)
        {
            OnListContainers = _ => throw new IOException("connection reset by peer"),
            OnListServices = () => Task.FromResult<IList<SwarmService>>(new List<SwarmService>()),
            OnListConfigs = () => Task.FromResult<IList<SwarmConfig>>(new List<SwarmConfig>()),
        };

        var e = await Assert.ThrowsAsync<OrchestratorException>(() => Inventory.ListAsync(engine.Connection, ContainerScope.All, ContainerFilter.None, CancellationToken.None));

        Assert.Equal(ErrorIds.EngineUnreachable, e.ErrorId);
        Assert.Contains("unix:///fake/engine.sock", e.Message);
        Assert.IsType<IOException>(e.InnerException);
    }

    [Fact]
    public async Task AnEngineThatIsNoSwarmManagerIsNeverAskedForServicesOrConfigs()
    {
        var engine = new FakeEngine(swarmManager: false)
        {
            OnListContainers = _ => Task.FromResult<IList<ContainerListResponse>>(new List<ContainerListResponse>()),
        };

        var listed = await Inventory.ListAsync(engine.Connection, ContainerScope.All, ContainerFilter.None, CancellationToken.None);

        Assert.Empty(listed);
        Assert.Equal(new[] { "ListContainersAsync" }, engine.Log);
    }

    [Fact]
    public async Task TheLabelFilterRunsInTheEngine()
    {
        ContainersListParameters asked = null;
        var engine = new FakeEngine
        {
            OnListContainers = p =>
            {
                asked = p;
                return Task.FromResult<IList<ContainerListResponse>>(new List<ContainerListResponse>());
            },
        };

        await Inventory.ListAsync(engine.Connection, ContainerScope.All, new ContainerFilter(new[] { "exited" }, null), CancellationToken.None);

        Assert.True(asked.All);
        Assert.Contains(ContainerLabels.ManagedFilter, asked.Filters["label"].Keys);
        Assert.Equal(new[] { "exited" }, asked.Filters["status"].Keys);
    }
}
