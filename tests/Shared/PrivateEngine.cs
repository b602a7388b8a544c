using System.Diagnostics;

namespace ClaudeOrchestrator.Testing;

/// <summary>
/// A second Docker engine of the test's own (own socket, data and exec roots, own bridge), so a
/// test can stop and start an engine mid-task without disturbing the one everything else uses.
/// Needs root, like dockerd itself.
/// </summary>
public sealed class PrivateEngine : IDisposable
{
    // Its own bridge: "--bridge none" would make dockerd delete the shared docker0 on start.
    private const string Bridge = "coe-br0";
    private const string BridgeAddress = "172.31.254.1/24";

    private readonly DirectoryInfo _root;
    private Process _daemon;

    /// <param name="listenOnTcp">Also listen on a loopback TCP port, as a remote engine would be reached.</param>
    public PrivateEngine(bool listenOnTcp = false)
    {
        if (listenOnTcp)
        {
            var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            probe.Start();
            TcpHost = "tcp://127.0.0.1:" + ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
        }

        // Short paths: the socket and containerd's socket under exec-root must fit sun_path.
        _root = Directory.CreateDirectory(Path.Combine("/tmp", "coe-" + Guid.NewGuid().ToString("N")[..8]));
        DockerCli.Exec("ip", "link", "del", Bridge);
        DockerCli.Exec("ip", "link", "add", Bridge, "type", "bridge").EnsureSuccess();
        DockerCli.Exec("ip", "addr", "add", BridgeAddress, "dev", Bridge).EnsureSuccess();
        DockerCli.Exec("ip", "link", "set", Bridge, "up").EnsureSuccess();
        Start();
    }

    public string Host => "unix://" + Path.Combine(_root.FullName, "d.sock");

    /// <summary>Where this engine keeps images and containers (its DockerRootDir).</summary>
    public string DataRoot => Path.Combine(_root.FullName, "data");

    /// <summary>tcp://127.0.0.1:port when asked for, else null.</summary>
    public string TcpHost { get; }

    /// <summary>The docker CLI against this engine.</summary>
    public DockerCli.Result Cli(params string[] args) => DockerCli.RunOn(Host, args);

    /// <summary>Copies an image from the default engine: this one has no registry to pull from either.</summary>
    public void Load(string image) =>
        DockerCli.Exec("sh", "-c", $"docker save {image} | docker -H {Host} load").EnsureSuccess();

    public void Start()
    {
        var start = new ProcessStartInfo("dockerd");
        foreach (var arg in new[]
        {
            "--host", Host,
            "--data-root", DataRoot,
            "--exec-root", Path.Combine(_root.FullName, "x"),
            "--pidfile", Path.Combine(_root.FullName, "d.pid"),
            "--bridge", Bridge, "--iptables=false", "--ip-masq=false",
            // Containers that ignore SIGTERM must not stretch every stop to the default 15 s.
            "--shutdown-timeout", "2",
        })
        {
            start.ArgumentList.Add(arg);
        }

        if (TcpHost != null)
        {
            start.ArgumentList.Add("--host");
            start.ArgumentList.Add(TcpHost);
        }

        _daemon = DaemonProcess.StartAndWait(start, () => Cli("version", "--format", "{{.Server.Version}}").ExitCode == 0, "The private dockerd");
    }

    /// <summary>Stops the engine the way a service manager does (SIGTERM) and waits for it to exit.</summary>
    public void Stop()
    {
        DaemonProcess.Stop(_daemon);
        _daemon = null;
    }

    public void Dispose()
    {
        if (_daemon != null)
        {
            foreach (var id in Cli("ps", "-aq").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                Cli("rm", "-f", id);
            }
        }

        Stop();
        DockerCli.Exec("ip", "link", "del", Bridge);
        // Mounts under the data root are gone with the daemon; what is left is plain files.
        DockerCli.Exec("rm", "-rf", _root.FullName);
    }
}
