using System.Collections.Concurrent;
using Docker.DotNet;
using Docker.DotNet.Models;
using ClaudeOrchestrator.Engine.Endpoints;

namespace ClaudeOrchestrator.Tests.Infrastructure;

/// <summary>
/// An engine in memory, for unit tests of the rules built on the engine's API: each call the
/// module makes is a delegate a test sets (unset ones fail the test by throwing), and every call
/// is counted by name. Never a stand-in for a real engine in an engine test.
/// </summary>
internal sealed class FakeEngine : IContainerApi, IVolumeApi, ISwarmApi, IImageApi, ISystemApi
{
    private readonly ConcurrentDictionary<string, int> _calls = new();

    public FakeEngine(bool swarmManager = false)
    {
        Connection = DockerConnection.Over(new EngineApi(this, this, this, this, this, new Uri("unix:///fake/engine.sock")), "unix:///fake/engine.sock",
            EngineFacts.Given(EngineKind.Docker, swarmManager));
    }

    public DockerConnection Connection { get; }

    /// <summary>How often the module called <paramref name="method"/>.</summary>
    public int Calls(string method) => _calls.GetValueOrDefault(method);

    /// <summary>The calls in the order they were made, by name and argument (an id, a name).</summary>
    public ConcurrentQueue<string> Log { get; } = new();

    private T Call<T>(string method, Func<T> answer, string argument = null)
    {
        _calls.AddOrUpdate(method, 1, (_, n) => n + 1);
        Log.Enqueue(argument == null ? method : method + " " + argument);
        if (answer == null)
        {
            throw new NotSupportedException($"The fake engine was not told how to answer {method}.");
        }

        return answer();
    }

    public static DockerApiException ApiError(System.Net.HttpStatusCode status, string message) => new(status, "{\"message\":\"" + message + "\"}");

    public static DockerContainerNotFoundException NoSuchContainer(string id) => new(System.Net.HttpStatusCode.NotFound, "{\"message\":\"No such container: " + id + "\"}");

    // Containers
    public Func<ContainersListParameters, Task<IList<ContainerListResponse>>> OnListContainers { get; set; }
    public Func<string, CancellationToken, Task> OnRemoveContainer { get; set; }
    public Func<string, Task<ContainerInspectResponse>> OnInspectContainer { get; set; }

    public Task<IList<ContainerListResponse>> ListContainersAsync(ContainersListParameters parameters, CancellationToken cancel) => Call<Task<IList<ContainerListResponse>>>(nameof(ListContainersAsync), OnListContainers == null ? null : () => OnListContainers(parameters));
    public Task<CreateContainerResponse> CreateContainerAsync(CreateContainerParameters parameters, CancellationToken cancel) => Call<Task<CreateContainerResponse>>(nameof(CreateContainerAsync), null);
    public Task<ContainerInspectResponse> InspectContainerAsync(string id, CancellationToken cancel) => Call<Task<ContainerInspectResponse>>(nameof(InspectContainerAsync), OnInspectContainer == null ? null : () => OnInspectContainer(id), id);
    public Task<bool> StartContainerAsync(string id, ContainerStartParameters parameters, CancellationToken cancel) => Call<Task<bool>>(nameof(StartContainerAsync), null, id);
    public Task<MultiplexedStream> AttachContainerAsync(string id, ContainerAttachParameters parameters, CancellationToken cancel) => Call<Task<MultiplexedStream>>(nameof(AttachContainerAsync), null, id);
    public Task<ContainerWaitResponse> WaitContainerAsync(string id, CancellationToken cancel) => Call<Task<ContainerWaitResponse>>(nameof(WaitContainerAsync), null, id);
    public Task<MultiplexedStream> GetContainerLogsAsync(string id, ContainerLogsParameters parameters, CancellationToken cancel) => Call<Task<MultiplexedStream>>(nameof(GetContainerLogsAsync), null, id);
    public Task RemoveContainerAsync(string id, ContainerRemoveParameters parameters, CancellationToken cancel) => Call<Task>(nameof(RemoveContainerAsync), OnRemoveContainer == null ? null : () => OnRemoveContainer(id, cancel), id);
    public Task<ContainerArchiveResponse> GetArchiveFromContainerAsync(string id, ContainerPathStatParameters parameters, bool statOnly, CancellationToken cancel) => Call<Task<ContainerArchiveResponse>>(nameof(GetArchiveFromContainerAsync), null, id);
    public Task ExtractArchiveToContainerAsync(string id, CopyToContainerParameters parameters, Stream stream, CancellationToken cancel) => Call<Task>(nameof(ExtractArchiveToContainerAsync), null, id);

    // Volumes
    public Func<Task<VolumesListResponse>> OnListVolumes { get; set; }

    public Task<VolumesListResponse> ListAsync(VolumesListParameters parameters, CancellationToken cancel) => Call(nameof(IVolumeApi) + ".List", OnListVolumes);
    public Task<VolumeResponse> CreateAsync(VolumesCreateParameters parameters, CancellationToken cancel) => Call<Task<VolumeResponse>>(nameof(IVolumeApi) + ".Create", null);
    public Task RemoveAsync(string name, bool? force, CancellationToken cancel) => Call<Task>(nameof(IVolumeApi) + ".Remove", null, name);

    // Swarm
    public Func<Task<IList<SwarmService>>> OnListServices { get; set; }
    public Func<Task<IList<TaskResponse>>> OnListTasks { get; set; }
    public Func<Task<IList<NodeListResponse>>> OnListNodes { get; set; }
    public Func<Task<IList<SwarmConfig>>> OnListConfigs { get; set; }
    public Func<string, Task> OnRemoveService { get; set; }
    public Func<string, Task<SwarmService>> OnInspectService { get; set; }
    public Func<string, Task> OnRemoveConfig { get; set; }

    public Task<IList<SwarmService>> ListServicesAsync(ServiceListParameters parameters, CancellationToken cancel) => Call(nameof(ListServicesAsync), OnListServices);
    public Task<ServiceCreateResponse> CreateServiceAsync(ServiceCreateParameters parameters, CancellationToken cancel) => Call<Task<ServiceCreateResponse>>(nameof(CreateServiceAsync), null);
    public Task<SwarmService> InspectServiceAsync(string id, CancellationToken cancel) => Call<Task<SwarmService>>(nameof(InspectServiceAsync), OnInspectService == null ? null : () => OnInspectService(id), id);
    public Task<ServiceUpdateResponse> UpdateServiceAsync(string id, ServiceUpdateParameters parameters, CancellationToken cancel) => Call<Task<ServiceUpdateResponse>>(nameof(UpdateServiceAsync), null, id);
    public Task RemoveServiceAsync(string id, CancellationToken cancel) => Call<Task>(nameof(RemoveServiceAsync), OnRemoveService == null ? null : () => OnRemoveService(id), id);
    public Task<MultiplexedStream> GetServiceLogsAsync(string id, bool tty, ServiceLogsParameters parameters, CancellationToken cancel) => Call<Task<MultiplexedStream>>(nameof(GetServiceLogsAsync), null, id);
    public Task<IList<TaskResponse>> ListTasksAsync(TasksListParameters parameters, CancellationToken cancel) => Call(nameof(ListTasksAsync), OnListTasks);
    public Task<IList<NodeListResponse>> ListNodesAsync(CancellationToken cancel) => Call(nameof(ListNodesAsync), OnListNodes);
    public Task<NodeListResponse> InspectNodeAsync(string id, CancellationToken cancel) => Call<Task<NodeListResponse>>(nameof(InspectNodeAsync), null, id);
    public Task<IList<SwarmConfig>> ListConfigsAsync(CancellationToken cancel) => Call(nameof(ListConfigsAsync), OnListConfigs);
    public Task<SwarmCreateConfigResponse> CreateConfigAsync(SwarmCreateConfigParameters body, CancellationToken cancel) => Call<Task<SwarmCreateConfigResponse>>(nameof(CreateConfigAsync), null);
    public Task RemoveConfigAsync(string id, CancellationToken cancel) => Call<Task>(nameof(RemoveConfigAsync), OnRemoveConfig == null ? null : () => OnRemoveConfig(id), id);

    // Images
    public Task<IReadOnlyList<string>> ListTagsAsync(CancellationToken cancel) => Call<Task<IReadOnlyList<string>>>(nameof(ListTagsAsync), null);
    public Task<ImageInspectResponse> InspectImageAsync(string name, CancellationToken cancel) => Call<Task<ImageInspectResponse>>(nameof(InspectImageAsync), null, name);
    public Task ImportAsync(string repository, string tag, Stream archive, CancellationToken cancel) => Call<Task>(nameof(ImportAsync), null, repository + ":" + tag);
    public Task UntagAsync(string name, CancellationToken cancel) => Call<Task>(nameof(UntagAsync), null, name);

    // The engine itself
    public Func<CancellationToken, Task> OnPing { get; set; } = _ => Task.CompletedTask;

    public Task PingAsync(CancellationToken cancel) => Call(nameof(PingAsync), () => OnPing(cancel));
    public Task<VersionResponse> GetVersionAsync(CancellationToken cancel) => Call<Task<VersionResponse>>(nameof(GetVersionAsync), null);
    public Task<SystemInfoResponse> GetSystemInfoAsync(CancellationToken cancel) => Call<Task<SystemInfoResponse>>(nameof(GetSystemInfoAsync), null);
    public Task MonitorEventsAsync(ContainerEventsParameters parameters, IProgress<Message> progress, CancellationToken cancel) => Call<Task>(nameof(MonitorEventsAsync), null);
}
