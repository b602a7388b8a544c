namespace ClaudeOrchestrator.Testing;

/// <summary>Unprivileged users for rootless engines: created with subordinate ids and a runtime directory when missing.</summary>
public static class TestUsers
{
    /// <summary>Makes sure <paramref name="user"/> exists with subordinate uids and gids; returns its home.</summary>
    public static string Ensure(string user, int uid)
    {
        if (DockerCli.Exec("id", "-u", user).ExitCode != 0)
        {
            DockerCli.Exec("useradd", "--create-home", "--uid", uid.ToString(), user).EnsureSuccess();
        }

        foreach (var file in new[] { "/etc/subuid", "/etc/subgid" })
        {
            if (!File.Exists(file) || !File.ReadAllLines(file).Any(l => l.StartsWith(user + ":", StringComparison.Ordinal)))
            {
                File.AppendAllText(file, $"{user}:{200000 + (uid % 100) * 65536}:65536\n");
            }
        }

        return DockerCli.Exec("sh", "-c", $"getent passwd {user} | cut -d: -f6").EnsureSuccess().Stdout.Trim();
    }

    /// <summary>The user's $XDG_RUNTIME_DIR (/run/user/uid), created and owned by the user.</summary>
    public static string RuntimeDirectory(string user, int uid)
    {
        var runtime = $"/run/user/{uid}";
        Directory.CreateDirectory(runtime);
        DockerCli.Exec("chown", $"{user}:", runtime).EnsureSuccess();
        DockerCli.Exec("chmod", "700", runtime).EnsureSuccess();
        return runtime;
    }
}
