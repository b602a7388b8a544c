using System.Net;
using System.Net.Sockets;

namespace ClaudeOrchestrator.Testing;

/// <summary>
/// The Docker engine API spoken directly over its unix socket: precise polling for tests and
/// benchmarks, and the "raw API" anchor that the module's own removals are compared with.
/// </summary>
public sealed class EngineApi : IDisposable
{
    private readonly HttpClient _http;

    private readonly string _socketPath;

    public EngineApi(string socketPath = "/var/run/docker.sock")
    {
        _socketPath = socketPath;
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 64,
            ConnectCallback = (_, cancel) => ConnectAsync(cancel),
        };
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://docker/") };
    }

    private async ValueTask<Stream> ConnectAsync(CancellationToken cancel)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(_socketPath), cancel);
        return new NetworkStream(socket, ownsSocket: true);
    }

    public async Task<bool> ExistsAsync(string nameOrId)
    {
        using var response = await _http.GetAsync($"containers/{nameOrId}/json");
        return response.StatusCode != HttpStatusCode.NotFound;
    }

    public async Task ForceRemoveAsync(string nameOrId)
    {
        using var response = await _http.DeleteAsync($"containers/{nameOrId}?force=true");
        if (!response.IsSuccessStatusCode && response.StatusCode != HttpStatusCode.NotFound)
        {
            throw new InvalidOperationException($"DELETE {nameOrId}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>Creates (and optionally starts) a container; returns its id.</summary>
    public async Task<string> CreateAsync(string name, string image, string[] cmd, IDictionary<string, string> labels, bool start)
    {
        var body = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["Image"] = image,
            ["Cmd"] = cmd,
            ["Labels"] = labels,
            ["HostConfig"] = new Dictionary<string, object> { ["Init"] = true },
        });
        return await CreateFromAsync(name, body, start);
    }

    /// <summary>
    /// A create body for a container configured exactly as <paramref name="nameOrId"/> is (its
    /// Config with its HostConfig), with <paramref name="labels"/> instead of its own.
    /// </summary>
    public async Task<string> CreateBodyLikeAsync(string nameOrId, IDictionary<string, string> labels)
    {
        var inspect = System.Text.Json.Nodes.JsonNode.Parse(await _http.GetStringAsync($"containers/{nameOrId}/json"))!;
        var body = inspect["Config"]!.DeepClone().AsObject();
        body.Remove("Hostname");
        body["Labels"] = System.Text.Json.JsonSerializer.SerializeToNode(labels);
        body["HostConfig"] = inspect["HostConfig"]!.DeepClone();
        return body.ToJsonString();
    }

    /// <summary>Creates a container from a create body such as <see cref="CreateBodyLikeAsync"/> gives, and (unless told not to) starts it; returns its id.</summary>
    public async Task<string> CreateFromAsync(string name, string body, bool start = true)
    {
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        using var created = await _http.PostAsync($"containers/create?name={name}", content);
        var text = await created.Content.ReadAsStringAsync();
        if (!created.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"create {name}: {(int)created.StatusCode} {text}");
        }

        var id = System.Text.Json.JsonDocument.Parse(text).RootElement.GetProperty("Id").GetString()!;
        if (start)
        {
            using var started = await _http.PostAsync($"containers/{id}/start", null);
            if (!started.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"start {name}: {(int)started.StatusCode}");
            }
        }

        return id;
    }

    /// <summary>
    /// Attaches to stdin, stdout and stderr as the engine's hijacked stream and writes
    /// <paramref name="first"/> on stdin; the caller keeps the returned stream open as long as
    /// the attach should last.
    /// </summary>
    public async Task<Stream> AttachAsync(string id, byte[] first)
    {
        var stream = await ConnectAsync(CancellationToken.None);
        var request = $"POST /containers/{id}/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n";
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(request));
        // The response head ends with an empty line; the multiplexed stream follows.
        var tail = 0u;
        var one = new byte[1];
        while (tail != 0x0D0A0D0A)
        {
            if (await stream.ReadAsync(one) == 0)
            {
                throw new InvalidOperationException($"attach {id}: the engine closed the connection");
            }

            tail = (tail << 8) | one[0];
        }

        await stream.WriteAsync(first);
        return stream;
    }

    /// <summary>Runs <paramref name="work"/> for each item with at most <paramref name="parallel"/> at once.</summary>
    public static async Task ForEachAsync<T>(IEnumerable<T> items, int parallel, Func<T, Task> work)
    {
        using var slots = new SemaphoreSlim(parallel);
        await Task.WhenAll(items.Select(async item =>
        {
            await slots.WaitAsync();
            try
            {
                await work(item);
            }
            finally
            {
                slots.Release();
            }
        }));
    }

    /// <summary>Id and state of every container carrying <paramref name="label"/> (a label filter such as "key=value").</summary>
    public async Task<IReadOnlyList<(string Id, string State)>> ListByLabelAsync(string label)
    {
        var filters = Uri.EscapeDataString(System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string[]> { ["label"] = new[] { label } }));
        using var doc = System.Text.Json.JsonDocument.Parse(await _http.GetStringAsync($"containers/json?all=true&filters={filters}"));
        return doc.RootElement.EnumerateArray()
            .Select(c => (c.GetProperty("Id").GetString(), c.GetProperty("State").GetString()))
            .ToList();
    }

    /// <summary>Polls every millisecond or so until the container is gone; returns how long that took.</summary>
    public async Task<TimeSpan?> WaitGoneAsync(string nameOrId, TimeSpan limit)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (watch.Elapsed < limit)
        {
            if (!await ExistsAsync(nameOrId))
            {
                return watch.Elapsed;
            }

            await Task.Delay(2);
        }

        return null;
    }

    public void Dispose() => _http.Dispose();
}
