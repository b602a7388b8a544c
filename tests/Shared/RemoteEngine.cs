using System.Diagnostics;

namespace ClaudeOrchestrator.Testing;

/// <summary>
/// A Docker engine on "another machine": a private dockerd in a network namespace of its own
/// (veth to the host, its own bridge inside, own data and exec roots), reached over TCP at the
/// namespace's address, which is not a loopback address. It shares this machine's files, so a
/// test can prove a workspace travelled by looking at the container's mounts, not by a failure.
/// Optionally TLS with a CA and server and client certificates the test makes (openssl).
/// Needs root, like dockerd and ip netns.
/// </summary>
public sealed class RemoteEngine : IDisposable
{
    private static int _next;
    private readonly DirectoryInfo _root;
    private readonly string _namespace;
    private readonly string _hostLink;
    private Process _daemon;

    /// <param name="tls">Listen with --tlsverify on port 2376 (client certificates in <see cref="CertificateDirectory"/>).</param>
    public RemoteEngine(bool tls = false)
    {
        var n = Interlocked.Increment(ref _next) + Random.Shared.Next(0, 60) * 4;
        var id = Guid.NewGuid().ToString("N")[..6];
        _namespace = "coe-rem-" + id;
        _hostLink = "coe-rh" + id;
        var subnet = $"10.251.{n % 250}";
        HostAddress = subnet + ".1";
        Address = subnet + ".2";
        _root = Directory.CreateDirectory(Path.Combine("/tmp", "coe-r" + id));
        Tls = tls;
        Endpoint = tls ? $"tcp://{Address}:2376" : $"tcp://{Address}:2375";

        try
        {
            Run("ip", "netns", "add", _namespace);
            Run("ip", "link", "add", _hostLink, "type", "veth", "peer", "name", "eth-r" + id);
            Run("ip", "link", "set", "eth-r" + id, "netns", _namespace);
            Run("ip", "addr", "add", HostAddress + "/30", "dev", _hostLink);
            Run("ip", "link", "set", _hostLink, "up");
            InNamespace("ip", "addr", "add", Address + "/30", "dev", "eth-r" + id);
            InNamespace("ip", "link", "set", "eth-r" + id, "up");
            InNamespace("ip", "link", "set", "lo", "up");
            if (tls)
            {
                MakeCertificates();
            }

            Start();
        }
        catch
        {
            // A constructor that throws is never disposed: nothing of it may stay on the machine.
            Dispose();
            throw;
        }
    }

    /// <summary>The engine's address on the namespace's side of the veth.</summary>
    public string Address { get; }

    public string HostAddress { get; }

    public bool Tls { get; }

    /// <summary>tcp://address:port, as DOCKER_HOST or -Engine names it.</summary>
    public string Endpoint { get; }

    /// <summary>ca.pem, cert.pem and key.pem for a client (DOCKER_CERT_PATH); null without TLS.</summary>
    public string CertificateDirectory => Tls ? Path.Combine(_root.FullName, "client") : null;

    /// <summary>The engine's own unix socket, for the test's docker CLI (the module under test uses TCP).</summary>
    public string Socket => "unix://" + SocketPath;

    public string SocketPath => Path.Combine(_root.FullName, "d.sock");

    /// <summary>The network namespace the engine lives in (/run/netns/name).</summary>
    public string Namespace => _namespace;

    public string DataRoot => Path.Combine(_root.FullName, "data");

    public DockerCli.Result Cli(params string[] args) => DockerCli.RunOn(Socket, args);

    /// <summary>Copies an image from the default engine (no registry here either).</summary>
    public void Load(string image) =>
        DockerCli.Exec("sh", "-c", $"docker save {image} | docker -H {Socket} load").EnsureSuccess();

    public void Start()
    {
        // nsenter, not "ip netns exec": that one mounts a fresh /sys, which hides the cgroup
        // hierarchy dockerd needs.
        var start = new ProcessStartInfo("nsenter");
        var args = new List<string>
        {
            "--net=/run/netns/" + _namespace, "dockerd",
            "--host", Socket,
            "--host", Tls ? $"tcp://{Address}:2376" : $"tcp://{Address}:2375",
            "--data-root", DataRoot,
            "--exec-root", Path.Combine(_root.FullName, "x"),
            "--pidfile", Path.Combine(_root.FullName, "d.pid"),
            "--iptables=false", "--ip-masq=false",
            "--shutdown-timeout", "2",
        };
        if (Tls)
        {
            var server = Path.Combine(_root.FullName, "server");
            args.AddRange(new[]
            {
                "--tlsverify",
                "--tlscacert", Path.Combine(server, "ca.pem"),
                "--tlscert", Path.Combine(server, "cert.pem"),
                "--tlskey", Path.Combine(server, "key.pem"),
            });
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        _daemon = DaemonProcess.StartAndWait(start, () => Cli("version", "--format", "{{.Server.Version}}").ExitCode == 0, "The remote dockerd");
    }

    /// <summary>Stops the engine (SIGTERM to dockerd, as a service manager does).</summary>
    public void Stop()
    {
        // nsenter execs dockerd, but its pid file is the one that names it for certain.
        DaemonProcess.Stop(_daemon, _daemon == null || _daemon.HasExited ? (int?)null : int.Parse(File.ReadAllText(Path.Combine(_root.FullName, "d.pid")).Trim()));
        _daemon = null;
    }

    /// <summary>Names of the labelled volumes on this engine (of one project, when given).</summary>
    public IReadOnlyList<string> Volumes(string projectPath = null) =>
        Cli("volume", "ls", "-q", "--filter", "label=io.claude-orchestrator.managed=true", "--filter", "label=io.claude-orchestrator.project-path" + (projectPath == null ? "" : "=" + projectPath)).EnsureSuccess().Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();

    /// <summary>Names of the labelled containers on this engine, in any state (of one project, when given).</summary>
    public IReadOnlyList<string> Containers(string projectPath = null) =>
        Cli("ps", "-a", "--format", "{{.Names}}", "--filter", "label=io.claude-orchestrator.managed=true", "--filter", "label=io.claude-orchestrator.project-path" + (projectPath == null ? "" : "=" + projectPath)).EnsureSuccess().Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();

    private void MakeCertificates()
    {
        var server = Directory.CreateDirectory(Path.Combine(_root.FullName, "server")).FullName;
        var client = Directory.CreateDirectory(Path.Combine(_root.FullName, "client")).FullName;
        var ca = Path.Combine(server, "ca.pem");
        var caKey = Path.Combine(_root.FullName, "ca-key.pem");
        Run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=coe test CA", "-keyout", caKey, "-out", ca);
        void Issue(string directory, string subject, string extensions)
        {
            var key = Path.Combine(directory, "key.pem");
            var request = Path.Combine(_root.FullName, Path.GetFileName(directory) + ".csr");
            var ext = Path.Combine(_root.FullName, Path.GetFileName(directory) + ".ext");
            File.WriteAllText(ext, extensions + "\n");
            Run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", key, "-out", request);
            Run("openssl", "x509", "-req", "-in", request, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", Path.Combine(directory, "cert.pem"));
        }

        Issue(server, "/CN=" + Address, $"subjectAltName=IP:{Address}\nextendedKeyUsage=serverAuth");
        Issue(client, "/CN=coe test client", "extendedKeyUsage=clientAuth");
        File.Copy(ca, Path.Combine(client, "ca.pem"));
    }

    private void InNamespace(params string[] args) => Run(new[] { "ip", "netns", "exec", _namespace }.Concat(args).ToArray());

    private static void Run(params string[] args) => DockerCli.Exec(args[0], args.Skip(1).ToArray()).EnsureSuccess();

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
        DockerCli.Exec("ip", "link", "del", _hostLink);
        DockerCli.Exec("ip", "netns", "del", _namespace);
        DockerCli.Exec("rm", "-rf", _root.FullName);
    }
}
