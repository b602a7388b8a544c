using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace ClaudeOrchestrator.Engine.Endpoints
{
    // The engine's API as the module uses it: one narrow interface per part, with exactly the
    // calls the module makes (Docker.DotNet's models, its errors). Everything above reaches the
    // engine through these, so the rules built on them (a confirmed removal, a listing with a
    // part missing, a sweep) are tested against a fake engine without one.

    /// <summary>Containers: a task's own, a probe's, a workspace's holder.</summary>
    internal interface IContainerApi
    {
        Task<IList<ContainerListResponse>> ListContainersAsync(ContainersListParameters parameters, CancellationToken cancel);
        Task<CreateContainerResponse> CreateContainerAsync(CreateContainerParameters parameters, CancellationToken cancel);
        Task<ContainerInspectResponse> InspectContainerAsync(string id, CancellationToken cancel);
        Task<bool> StartContainerAsync(string id, ContainerStartParameters parameters, CancellationToken cancel);
        Task<MultiplexedStream> AttachContainerAsync(string id, ContainerAttachParameters parameters, CancellationToken cancel);
        Task<ContainerWaitResponse> WaitContainerAsync(string id, CancellationToken cancel);
        Task<MultiplexedStream> GetContainerLogsAsync(string id, ContainerLogsParameters parameters, CancellationToken cancel);
        Task RemoveContainerAsync(string id, ContainerRemoveParameters parameters, CancellationToken cancel);
        Task<ContainerArchiveResponse> GetArchiveFromContainerAsync(string id, ContainerPathStatParameters parameters, bool statOnly, CancellationToken cancel);
        Task ExtractArchiveToContainerAsync(string id, CopyToContainerParameters parameters, Stream stream, CancellationToken cancel);
    }

    /// <summary>Volumes: a workspace copied to an engine elsewhere.</summary>
    internal interface IVolumeApi
    {
        Task<VolumesListResponse> ListAsync(VolumesListParameters parameters, CancellationToken cancel);
        Task<VolumeResponse> CreateAsync(VolumesCreateParameters parameters, CancellationToken cancel);
        Task RemoveAsync(string name, bool? force, CancellationToken cancel);
    }

    /// <summary>A swarm's services, their tasks and nodes, and the configs that carry a workspace.</summary>
    internal interface ISwarmApi
    {
        Task<IList<SwarmService>> ListServicesAsync(ServiceListParameters parameters, CancellationToken cancel);
        Task<ServiceCreateResponse> CreateServiceAsync(ServiceCreateParameters parameters, CancellationToken cancel);
        Task<SwarmService> InspectServiceAsync(string id, CancellationToken cancel);
        Task<ServiceUpdateResponse> UpdateServiceAsync(string id, ServiceUpdateParameters parameters, CancellationToken cancel);
        Task RemoveServiceAsync(string id, CancellationToken cancel);
        Task<MultiplexedStream> GetServiceLogsAsync(string id, bool tty, ServiceLogsParameters parameters, CancellationToken cancel);
        Task<IList<TaskResponse>> ListTasksAsync(TasksListParameters parameters, CancellationToken cancel);
        Task<IList<NodeListResponse>> ListNodesAsync(CancellationToken cancel);
        Task<NodeListResponse> InspectNodeAsync(string id, CancellationToken cancel);
        Task<IList<SwarmConfig>> ListConfigsAsync(CancellationToken cancel);
        Task<SwarmCreateConfigResponse> CreateConfigAsync(SwarmCreateConfigParameters body, CancellationToken cancel);
        Task RemoveConfigAsync(string id, CancellationToken cancel);
    }

    /// <summary>Images, for the doctor and the completers.</summary>
    internal interface IImageApi
    {
        /// <summary>Every local image's repository:tag names.</summary>
        Task<IReadOnlyList<string>> ListTagsAsync(CancellationToken cancel);
        Task<ImageInspectResponse> InspectImageAsync(string name, CancellationToken cancel);

        /// <summary>Makes repo:tag from a root filesystem archive (the engine's import), as the egress gateway's image is made.</summary>
        Task ImportAsync(string repository, string tag, Stream archive, CancellationToken cancel);

        /// <summary>Removes a tag (and the image with its last tag); never forced, so an image a container uses stays.</summary>
        Task UntagAsync(string name, CancellationToken cancel);
    }

    /// <summary>Networks: the session's internal network that the egress gateway serves.</summary>
    internal interface INetworkApi
    {
        Task<IList<NetworkResponse>> ListNetworksAsync(NetworksListParameters parameters, CancellationToken cancel);
        Task<NetworksCreateResponse> CreateNetworkAsync(NetworksCreateParameters parameters, CancellationToken cancel);
        Task ConnectNetworkAsync(string network, NetworkConnectParameters parameters, CancellationToken cancel);
        Task<NetworkResponse> InspectNetworkAsync(string network, CancellationToken cancel);
        Task DeleteNetworkAsync(string network, CancellationToken cancel);
    }

    /// <summary>The engine itself: whether it answers, what it is, its events.</summary>
    internal interface ISystemApi
    {
        Task PingAsync(CancellationToken cancel);
        Task<VersionResponse> GetVersionAsync(CancellationToken cancel);
        Task<SystemInfoResponse> GetSystemInfoAsync(CancellationToken cancel);
        Task MonitorEventsAsync(ContainerEventsParameters parameters, IProgress<Message> progress, CancellationToken cancel);
    }

    /// <summary>One engine's API, part by part.</summary>
    internal sealed class EngineApi
    {
        public EngineApi(IContainerApi containers, IVolumeApi volumes, ISwarmApi swarm, IImageApi images, ISystemApi daemon, Uri endpoint, INetworkApi networks = null)
        {
            Networks = networks;
            Containers = containers;
            Volumes = volumes;
            Swarm = swarm;
            Images = images;
            Daemon = daemon;
            Endpoint = endpoint;
        }

        public IContainerApi Containers { get; }
        public IVolumeApi Volumes { get; }
        public ISwarmApi Swarm { get; }
        public IImageApi Images { get; }
        public ISystemApi Daemon { get; }
        public INetworkApi Networks { get; }

        /// <summary>Where the client connects (a local tunnel's socket for ssh://); null when unknown.</summary>
        public Uri Endpoint { get; }

        /// <summary>A Docker.DotNet client's API (Docker and Podman alike).</summary>
        public static EngineApi Of(DockerClient client)
        {
            var api = new DockerEngineApi(client);
            return new EngineApi(api, api, api, api, api, client.Options.Endpoint, api);
        }
    }

    /// <summary>Each call passed to Docker.DotNet as it is.</summary>
    internal sealed class DockerEngineApi : IContainerApi, IVolumeApi, ISwarmApi, IImageApi, ISystemApi, INetworkApi
    {
        private readonly DockerClient _client;

        public DockerEngineApi(DockerClient client) => _client = client;

        public Task<IList<ContainerListResponse>> ListContainersAsync(ContainersListParameters parameters, CancellationToken cancel) => _client.Containers.ListContainersAsync(parameters, cancel);
        public Task<CreateContainerResponse> CreateContainerAsync(CreateContainerParameters parameters, CancellationToken cancel) => _client.Containers.CreateContainerAsync(parameters, cancel);
        public Task<ContainerInspectResponse> InspectContainerAsync(string id, CancellationToken cancel) => _client.Containers.InspectContainerAsync(id, cancel);
        public Task<bool> StartContainerAsync(string id, ContainerStartParameters parameters, CancellationToken cancel) => _client.Containers.StartContainerAsync(id, parameters, cancel);
        public Task<MultiplexedStream> AttachContainerAsync(string id, ContainerAttachParameters parameters, CancellationToken cancel) => _client.Containers.AttachContainerAsync(id, parameters, cancel);
        public Task<ContainerWaitResponse> WaitContainerAsync(string id, CancellationToken cancel) => _client.Containers.WaitContainerAsync(id, cancel);
        public Task<MultiplexedStream> GetContainerLogsAsync(string id, ContainerLogsParameters parameters, CancellationToken cancel) => _client.Containers.GetContainerLogsAsync(id, parameters, cancel);
        public Task RemoveContainerAsync(string id, ContainerRemoveParameters parameters, CancellationToken cancel) => _client.Containers.RemoveContainerAsync(id, parameters, cancel);
        public Task<ContainerArchiveResponse> GetArchiveFromContainerAsync(string id, ContainerPathStatParameters parameters, bool statOnly, CancellationToken cancel) => _client.Containers.GetArchiveFromContainerAsync(id, parameters, statOnly, cancel);
        public Task ExtractArchiveToContainerAsync(string id, CopyToContainerParameters parameters, Stream stream, CancellationToken cancel) => _client.Containers.ExtractArchiveToContainerAsync(id, parameters, stream, cancel);

        public Task<VolumesListResponse> ListAsync(VolumesListParameters parameters, CancellationToken cancel) => _client.Volumes.ListAsync(parameters, cancel);
        public Task<VolumeResponse> CreateAsync(VolumesCreateParameters parameters, CancellationToken cancel) => _client.Volumes.CreateAsync(parameters, cancel);
        public Task RemoveAsync(string name, bool? force, CancellationToken cancel) => _client.Volumes.RemoveAsync(name, force, cancel);

        public Task<IList<SwarmService>> ListServicesAsync(ServiceListParameters parameters, CancellationToken cancel) => _client.Swarm.ListServicesAsync(parameters, cancel);
        public Task<ServiceCreateResponse> CreateServiceAsync(ServiceCreateParameters parameters, CancellationToken cancel) => _client.Swarm.CreateServiceAsync(parameters, cancel);
        public Task<SwarmService> InspectServiceAsync(string id, CancellationToken cancel) => _client.Swarm.InspectServiceAsync(id, cancel);
        public Task<ServiceUpdateResponse> UpdateServiceAsync(string id, ServiceUpdateParameters parameters, CancellationToken cancel) => _client.Swarm.UpdateServiceAsync(id, parameters, cancel);
        public Task RemoveServiceAsync(string id, CancellationToken cancel) => _client.Swarm.RemoveServiceAsync(id, cancel);
        public Task<MultiplexedStream> GetServiceLogsAsync(string id, bool tty, ServiceLogsParameters parameters, CancellationToken cancel) => _client.Swarm.GetServiceLogsAsync(id, tty, parameters, cancel);
        public Task<IList<TaskResponse>> ListTasksAsync(TasksListParameters parameters, CancellationToken cancel) => _client.Tasks.ListAsync(parameters, cancel);
        public Task<IList<NodeListResponse>> ListNodesAsync(CancellationToken cancel) => _client.Swarm.ListNodesAsync(cancel);
        public Task<NodeListResponse> InspectNodeAsync(string id, CancellationToken cancel) => _client.Swarm.InspectNodeAsync(id, cancel);
        public Task<IList<SwarmConfig>> ListConfigsAsync(CancellationToken cancel) => _client.Configs.ListConfigsAsync(cancel);
        public Task<SwarmCreateConfigResponse> CreateConfigAsync(SwarmCreateConfigParameters body, CancellationToken cancel) => _client.Configs.CreateConfigAsync(body, cancel);
        public Task RemoveConfigAsync(string id, CancellationToken cancel) => _client.Configs.RemoveConfigAsync(id, cancel);

        public async Task<IReadOnlyList<string>> ListTagsAsync(CancellationToken cancel) =>
            (await _client.Images.ListImagesAsync(new ImagesListParameters(), cancel).ConfigureAwait(false))
            .SelectMany(i => i.RepoTags ?? new List<string>()).Where(t => t != "<none>:<none>").ToList();
        public Task<ImageInspectResponse> InspectImageAsync(string name, CancellationToken cancel) => _client.Images.InspectImageAsync(name, cancel);
        public Task UntagAsync(string name, CancellationToken cancel) =>
            _client.Images.DeleteImageAsync(name, new ImageDeleteParameters { Force = false, NoPrune = false }, cancel);

        public Task ImportAsync(string repository, string tag, Stream archive, CancellationToken cancel) =>
            // The tag goes in the repository name: Podman's import reads no separate tag.
            _client.Images.CreateImageAsync(new ImagesCreateParameters { FromSrc = "-", Repo = repository + ":" + tag }, archive, null, null, new Progress<JSONMessage>(), cancel);

        public Task<IList<NetworkResponse>> ListNetworksAsync(NetworksListParameters parameters, CancellationToken cancel) => _client.Networks.ListNetworksAsync(parameters, cancel);
        public Task<NetworksCreateResponse> CreateNetworkAsync(NetworksCreateParameters parameters, CancellationToken cancel) => _client.Networks.CreateNetworkAsync(parameters, cancel);
        public Task ConnectNetworkAsync(string network, NetworkConnectParameters parameters, CancellationToken cancel) => _client.Networks.ConnectNetworkAsync(network, parameters, cancel);
        public Task<NetworkResponse> InspectNetworkAsync(string network, CancellationToken cancel) => _client.Networks.InspectNetworkAsync(network, cancel);
        public Task DeleteNetworkAsync(string network, CancellationToken cancel) => _client.Networks.DeleteNetworkAsync(network, cancel);

        public Task PingAsync(CancellationToken cancel) => _client.System.PingAsync(cancel);
        public Task<VersionResponse> GetVersionAsync(CancellationToken cancel) => _client.System.GetVersionAsync(cancel);
        public Task<SystemInfoResponse> GetSystemInfoAsync(CancellationToken cancel) => _client.System.GetSystemInfoAsync(cancel);
        public Task MonitorEventsAsync(ContainerEventsParameters parameters, IProgress<Message> progress, CancellationToken cancel) => _client.System.MonitorEventsAsync(parameters, progress, cancel);
    }
}
