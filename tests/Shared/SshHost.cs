using System.Diagnostics;

namespace ClaudeOrchestrator.Testing;

/// <summary>
/// An OpenSSH server in a remote engine's network namespace, taking one key the test makes, so
/// that ssh://root@address/path-of-the-engine's-socket reaches that engine as the docker CLI
/// would reach a build host. <see cref="ClientCommand"/> is the ssh command line with the key
/// and without known-hosts checks (CLAUDE_ORCHESTRATOR_SSH_COMMAND).
/// </summary>
public sealed class SshHost : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("coe-ssh-");
    private readonly Process _sshd;

    public SshHost(RemoteEngine engine)
    {
        Directory.CreateDirectory("/run/sshd");
        var dir = _root.FullName;
        Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", Path.Combine(dir, "host"));
        Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", Path.Combine(dir, "client"));
        File.Copy(Path.Combine(dir, "client.pub"), Path.Combine(dir, "authorized_keys"));
        File.WriteAllText(Path.Combine(dir, "sshd_config"), string.Join("\n",
            $"ListenAddress {engine.Address}", "Port 22", $"HostKey {dir}/host", $"AuthorizedKeysFile {dir}/authorized_keys",
            "PermitRootLogin prohibit-password", "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no",
            "StrictModes no", "AllowStreamLocalForwarding yes", "AllowTcpForwarding yes", $"PidFile {dir}/sshd.pid", "") );
        File.WriteAllText(Path.Combine(dir, "ssh_config"), string.Join("\n",
            "Host *", $"  IdentityFile {dir}/client", "  IdentitiesOnly yes", "  UserKnownHostsFile /dev/null",
            "  StrictHostKeyChecking no", "  LogLevel ERROR", ""));
        Endpoint = $"ssh://root@{engine.Address}{engine.SocketPath}";
        ClientCommand = $"ssh -F {dir}/ssh_config";
        var start = new ProcessStartInfo("nsenter");
        foreach (var arg in new[] { "--net=/run/netns/" + engine.Namespace, "/usr/sbin/sshd", "-D", "-e", "-f", Path.Combine(dir, "sshd_config") })
        {
            start.ArgumentList.Add(arg);
        }

        _sshd = DaemonProcess.StartAndWait(start,
            () => DockerCli.Exec("sh", "-c", $"{ClientCommand} -o BatchMode=yes root@{engine.Address} true").ExitCode == 0, "sshd in the engine's namespace");
    }

    /// <summary>ssh://root@address/path/to/the/engine.sock</summary>
    public string Endpoint { get; }

    /// <summary>The ssh command with this host's client key.</summary>
    public string ClientCommand { get; }

    private static void Run(params string[] args) => DockerCli.Exec(args[0], args.Skip(1).ToArray()).EnsureSuccess();

    public void Dispose()
    {
        if (!_sshd.HasExited)
        {
            _sshd.Kill(entireProcessTree: true);
            _sshd.WaitForExit();
        }

        _root.Delete(true);
    }
}
