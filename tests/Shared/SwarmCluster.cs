using System.Diagnostics;

namespace ClaudeOrchestrator.Testing;

/// <summary>
/// A Docker Swarm on this machine: a manager and workers, each a private dockerd in a network
/// namespace of its own (own data and exec roots, own host name through a UTS namespace), all
/// joined over a bridge that lives in one more namespace, so the host's firewall never sees
/// their traffic. The host reaches the bridge through a veth of its own, and the module under
/// test talks to the manager over TCP. No route leads out: a node's pull of a local image fails
/// at once and it uses the image loaded into it.
/// </summary>
public sealed class SwarmCluster : IDisposable
{
    private readonly string _id = Guid.NewGuid().ToString("N")[..5];
    private readonly DirectoryInfo _root;
    private readonly List<Node> _nodes = new();
    private readonly string _fabric;
    private readonly string _hostLink;
    private readonly string _subnet;

    public SwarmCluster(int workers)
    {
        _root = Directory.CreateDirectory(Path.Combine("/tmp", "coe-sw" + _id));
        _fabric = "coe-swf-" + _id;
        _hostLink = "coe-sh" + _id;
        _subnet = $"10.253.{Random.Shared.Next(1, 250)}";
        try
        {
            Run("ip", "netns", "add", _fabric);
            InFabric("ip", "link", "set", "lo", "up");
            InFabric("ip", "link", "add", "br0", "type", "bridge");
            InFabric("ip", "link", "set", "br0", "up");
            Run("ip", "link", "add", _hostLink, "type", "veth", "peer", "name", "hp" + _id);
            Run("ip", "link", "set", "hp" + _id, "netns", _fabric);
            InFabric("ip", "link", "set", "hp" + _id, "master", "br0", "up");
            Run("ip", "addr", "add", _subnet + ".1/24", "dev", _hostLink);
            Run("ip", "link", "set", _hostLink, "up");
            for (var i = 0; i <= workers; i++)
            {
                _nodes.Add(AddNode(i));
            }

            Manager.Cli("swarm", "init", "--advertise-addr", Manager.Address, "--listen-addr", Manager.Address + ":2377").EnsureSuccess();
            var token = Manager.Cli("swarm", "join-token", "-q", "worker").EnsureSuccess().Stdout.Trim();
            foreach (var worker in Workers)
            {
                worker.Cli("swarm", "join", "--token", token, "--advertise-addr", worker.Address, Manager.Address + ":2377").EnsureSuccess();
            }

            var ready = Eventually.Last(() => Manager.Cli("node", "ls", "--format", "{{.Status}}").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(s => s == "Ready"),
                n => n >= _nodes.Count, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(200));
            if (ready < _nodes.Count)
            {
                throw new InvalidOperationException("The swarm's nodes did not all become ready: " + Manager.Cli("node", "ls").Stdout);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public Node Manager => _nodes[0];

    public IEnumerable<Node> Workers => _nodes.Skip(1);

    public IReadOnlyList<Node> Nodes => _nodes;

    /// <summary>tcp://manager:2375, as -Engine names it.</summary>
    public string Endpoint => $"tcp://{Manager.Address}:2375";

    /// <summary>Copies an image from the default engine into every node (no registry).</summary>
    public void Load(string image)
    {
        var archive = Path.Combine(_root.FullName, "image.tar");
        DockerCli.Run("save", "-o", archive, image).EnsureSuccess();
        foreach (var node in _nodes)
        {
            node.Cli("load", "-i", archive).EnsureSuccess();
        }

        File.Delete(archive);
    }

    /// <summary>The module's services on the swarm (of one project, when given).</summary>
    public IReadOnlyList<string> Services(string projectPath = null) =>
        Manager.Cli("service", "ls", "-q", "--filter", "label=io.claude-orchestrator.managed=true", "--filter", "label=io.claude-orchestrator.project-path" + (projectPath == null ? "" : "=" + projectPath)).EnsureSuccess().Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();

    /// <summary>The module's configs on the swarm (of one project, when given).</summary>
    public IReadOnlyList<string> Configs(string projectPath = null) =>
        Manager.Cli("config", "ls", "-q", "--filter", "label=io.claude-orchestrator.managed=true", "--filter", "label=io.claude-orchestrator.project-path" + (projectPath == null ? "" : "=" + projectPath)).EnsureSuccess().Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();

    /// <summary>Containers of the module's services on every node that answers, as "node: name".</summary>
    public IReadOnlyList<string> TaskContainers() =>
        _nodes.Where(n => n.Running).SelectMany(n => n.Cli("ps", "-a", "--format", "{{.Names}}", "--filter", "label=io.claude-orchestrator.service").Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(c => n.Name + ": " + c)).ToList();

    private Node AddNode(int index)
    {
        var name = $"coe-node{index}-{_id}";
        var node = new Node(name, "coe-sn" + index + _id, _subnet + "." + (index + 2), Directory.CreateDirectory(Path.Combine(_root.FullName, "n" + index)).FullName);
        Run("ip", "netns", "add", node.Namespace);
        Run("ip", "link", "add", "p" + index + _id, "type", "veth", "peer", "name", "eth0", "netns", node.Namespace);
        Run("ip", "link", "set", "p" + index + _id, "netns", _fabric);
        InFabric("ip", "link", "set", "p" + index + _id, "master", "br0", "up");
        Run("ip", "netns", "exec", node.Namespace, "ip", "addr", "add", node.Address + "/24", "dev", "eth0");
        Run("ip", "netns", "exec", node.Namespace, "ip", "link", "set", "eth0", "up");
        Run("ip", "netns", "exec", node.Namespace, "ip", "link", "set", "lo", "up");
        node.Start();
        return node;
    }

    private void InFabric(params string[] args) => Run(new[] { "ip", "netns", "exec", _fabric }.Concat(args).ToArray());

    private static void Run(params string[] args) => DockerCli.Exec(args[0], args.Skip(1).ToArray()).EnsureSuccess();

    public void Dispose()
    {
        if (_nodes.Count > 0 && Manager.Running)
        {
            foreach (var service in Manager.Cli("service", "ls", "-q").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                Manager.Cli("service", "rm", service);
            }
        }

        foreach (var node in _nodes)
        {
            node.Dispose();
        }

        DockerCli.Exec("ip", "link", "del", _hostLink);
        DockerCli.Exec("ip", "netns", "del", _fabric);
        DockerCli.Exec("rm", "-rf", _root.FullName);
    }

    /// <summary>One node: its dockerd in its own network and UTS namespaces, host name <see cref="Name"/>.</summary>
    public sealed class Node : IDisposable
    {
        private readonly string _root;
        private Process _daemon;

        internal Node(string name, string ns, string address, string root)
        {
            Name = name;
            Namespace = ns;
            Address = address;
            _root = root;
        }

        public string Name { get; }
        public string Namespace { get; }
        public string Address { get; }
        public string Socket => "unix://" + Path.Combine(_root, "d.sock");
        public bool Running => _daemon != null && !_daemon.HasExited;

        public DockerCli.Result Cli(params string[] args) => DockerCli.RunOn(Socket, args);

        public void Start()
        {
            // unshare for a host name of its own (the swarm names nodes by it), nsenter for the
            // network: "ip netns exec" would mount a fresh /sys and hide the cgroups dockerd needs.
            var start = new ProcessStartInfo("unshare");
            foreach (var arg in new[]
                     {
                         "--uts", "sh", "-c", "hostname \"$0\" && exec nsenter --net=/run/netns/\"$1\" dockerd --host \"$2\" --host tcp://\"$3\":2375 " +
                                              "--data-root \"$4\"/data --exec-root \"$4\"/x --pidfile \"$4\"/d.pid --iptables=false --ip-masq=false --shutdown-timeout 2",
                         Name, Namespace, Socket, Address, _root,
                     })
            {
                start.ArgumentList.Add(arg);
            }

            _daemon = DaemonProcess.StartAndWait(start, () => Cli("version", "--format", "{{.Server.Version}}").ExitCode == 0, "The swarm node " + Name);
        }

        /// <summary>Stops the node's engine (SIGTERM, as a service manager does): to the swarm it is down.</summary>
        public void Stop()
        {
            // unshare and sh exec into nsenter and dockerd; the pid file names dockerd for certain.
            DaemonProcess.Stop(_daemon, Running ? int.Parse(File.ReadAllText(Path.Combine(_root, "d.pid")).Trim()) : (int?)null);
            _daemon = null;
        }

        public void Dispose()
        {
            if (Running)
            {
                foreach (var id in Cli("ps", "-aq").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    Cli("rm", "-f", id);
                }
            }

            Stop();
            DockerCli.Exec("ip", "netns", "del", Namespace);
        }
    }
}
