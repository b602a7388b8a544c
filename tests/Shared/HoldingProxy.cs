using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace ClaudeOrchestrator.Testing;

/// <summary>
/// A byte-for-byte proxy in front of the Docker engine's unix socket that holds back the first
/// request whose request line matches a pattern (for example a container's start) until
/// <see cref="Release"/>. A session pointed at it (DOCKER_HOST) stops exactly before that
/// request reaches the engine, which is how tests put a session at a precise moment of a task's
/// start sequence, and kill it or change the engine's state there. Request lines are looked for within each chunk the client writes: HTTP clients write a
/// request's head in one piece.
/// </summary>
public sealed class HoldingProxy : IDisposable
{
    private readonly Socket _listener;
    private readonly string _target;
    private readonly Regex _hold;
    private readonly DirectoryInfo _dir;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _sockets = new();
    private readonly TaskCompletionSource<Match> _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _holding;
    private volatile bool _dropEveryMatch;
    private (Socket Client, Socket Server) _heldConnection;
    private readonly System.Net.IPEndPoint _tcpTarget;
    private volatile string _failResponse;
    private volatile int _cutAfter = -1;
    private int _failures;

    /// <param name="hold">Matched against each request line, e.g. <c>^POST /[^ ]*containers/([0-9a-f]+)/start</c>.</param>
    /// <param name="target">The engine's socket, or tcp://address:port; default: the one DOCKER_HOST names, else Docker's.</param>
    public HoldingProxy(string hold, string target = null)
    {
        var host = Environment.GetEnvironmentVariable("DOCKER_HOST");
        _target = target ?? (host != null && host.StartsWith("unix://", StringComparison.Ordinal) ? host["unix://".Length..] : "/var/run/docker.sock");
        if (_target.StartsWith("tcp://", StringComparison.Ordinal))
        {
            var address = new Uri(_target);
            _tcpTarget = new System.Net.IPEndPoint(System.Net.IPAddress.Parse(address.Host), address.Port);
        }

        _hold = new Regex(hold, RegexOptions.Multiline);
        _dir = Directory.CreateTempSubdirectory("co-proxy-");
        SocketPath = Path.Combine(_dir.FullName, "engine.sock");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _listener.Listen(64);
        _ = AcceptAsync();
    }

    public string SocketPath { get; }

    /// <summary>DOCKER_HOST for a session that should go through the proxy.</summary>
    public string Host => "unix://" + SocketPath;

    /// <summary>Completes with the held request line's match once a request was held.</summary>
    public Task<Match> Held => _held.Task;

    /// <summary>Lets the held request, and everything after it on its connection, through.</summary>
    public void Release() => _released.TrySetResult();

    /// <summary>Closes the held request's connection instead: the client sees the engine's connection drop.</summary>
    public void DropHeld()
    {
        _heldConnection.Client?.Dispose();
        _heldConnection.Server?.Dispose();
    }

    /// <summary>
    /// From now on answers every matching request itself with <paramref name="status"/> and a
    /// JSON body carrying <paramref name="message"/>, as a sick engine does, and closes that
    /// connection; the engine never sees the request. Nothing is held.
    /// </summary>
    public void FailEveryMatch(int status, string message)
    {
        var body = "{\"message\":\"" + message.Replace("\"", "\\\"") + "\"}";
        _failResponse = $"HTTP/1.1 {status} Failed\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";
        Interlocked.Exchange(ref _holding, 1);
    }

    /// <summary>
    /// From now on lets every matching request through, and cuts the engine's answer to it after
    /// <paramref name="bytes"/> bytes by closing the connection, as a network that fails
    /// half-way would. Nothing is held.
    /// </summary>
    public void CutEveryMatchingResponse(int bytes)
    {
        _cutAfter = bytes;
        Interlocked.Exchange(ref _holding, 1);
    }

    /// <summary>Back to forwarding everything unchanged.</summary>
    public void Heal()
    {
        _failResponse = null;
        _cutAfter = -1;
    }

    /// <summary>How many requests were answered with a failure or cut so far.</summary>
    public int Failures => Volatile.Read(ref _failures);

    /// <summary>Drops the held request's connection and, from now on, every later matching request's: the engine never gets one.</summary>
    public void DropEveryMatch()
    {
        _dropEveryMatch = true;
        DropHeld();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            var server = _tcpTarget != null
                ? new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
                : new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await server.ConnectAsync(_tcpTarget != null ? _tcpTarget : new UnixDomainSocketEndPoint(_target));
            }
            catch (SocketException)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }

            lock (_sockets)
            {
                _sockets.Add(client);
                _sockets.Add(server);
            }

            var connection = new Connection();
            _ = PumpAsync(client, server, inspect: true, connection);
            _ = PumpAsync(server, client, inspect: false, connection);
        }
    }

    /// <summary>What the two pumps of one connection share: the answer to cut, once a matching request went through.</summary>
    private sealed class Connection
    {
        public volatile int CutAt = -1;
        public long Sent;
    }

    private async Task PumpAsync(Socket from, Socket to, bool inspect, Connection connection)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                if (inspect && (_failResponse != null || _cutAfter >= 0) && _hold.IsMatch(Encoding.Latin1.GetString(buffer, 0, read)))
                {
                    var fail = _failResponse;
                    if (fail != null)
                    {
                        Interlocked.Increment(ref _failures);
                        await from.SendAsync(Encoding.UTF8.GetBytes(fail), SocketFlags.None, _stop.Token);
                        from.Shutdown(SocketShutdown.Both);
                        from.Dispose();
                        to.Dispose();
                        return;
                    }

                    Interlocked.Increment(ref _failures);
                    Interlocked.Exchange(ref connection.Sent, 0);
                    connection.CutAt = _cutAfter;
                }

                if (!inspect && connection.CutAt >= 0)
                {
                    var allowed = (int)Math.Max(0, Math.Min(read, connection.CutAt - Interlocked.Read(ref connection.Sent)));
                    if (allowed < read)
                    {
                        await to.SendAsync(buffer.AsMemory(0, allowed), SocketFlags.None, _stop.Token);
                        from.Dispose();
                        to.Dispose();
                        return;
                    }

                    Interlocked.Add(ref connection.Sent, read);
                }

                if (inspect && _dropEveryMatch && _hold.IsMatch(Encoding.Latin1.GetString(buffer, 0, read)))
                {
                    from.Dispose();
                    to.Dispose();
                    return;
                }

                if (inspect && Volatile.Read(ref _holding) == 0)
                {
                    var match = _hold.Match(Encoding.Latin1.GetString(buffer, 0, read));
                    if (match.Success && Interlocked.Exchange(ref _holding, 1) == 0)
                    {
                        // Forward what came before the held request, then nothing until released.
                        await to.SendAsync(buffer.AsMemory(0, match.Index), SocketFlags.None, _stop.Token);
                        _heldConnection = (from, to);
                        _held.TrySetResult(match);
                        await _released.Task.WaitAsync(_stop.Token);
                        await to.SendAsync(buffer.AsMemory(match.Index, read - match.Index), SocketFlags.None, _stop.Token);
                        continue;
                    }
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception)
        {
            // Either side went away (a killed session, the proxy disposed): nothing to forward.
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        lock (_sockets)
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }
        }

        _dir.Delete(recursive: true);
    }
}
