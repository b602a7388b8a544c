using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Sandboxing
{
    /// <summary>
    /// What a project directory must not hand the agent: the operating system's directories and
    /// the user's credential stores. An agent can be steered by text in the repository it works
    /// on, so the rule is about what it could reach: a project may be none of these, contain
    /// none of them, and lie inside none of them, except in the subtrees of a system directory
    /// that exist for users' own files (/usr/local/src, /var/tmp, /var/www...).
    /// </summary>
    internal static class ProtectedPaths
    {
        internal const string SystemRule = "SystemDirectory";
        internal const string CredentialRule = "CredentialStore";
        internal const string SharedRootRule = "SharedRoot";

        /// <summary>A protected directory (or file) and the subtrees inside it that stay open to projects.</summary>
        internal sealed class Entry
        {
            public Entry(string rule, string path, string what, bool insideAllowed = false, params string[] openSubtrees)
            {
                Rule = rule;
                Path = path;
                What = what;
                InsideAllowed = insideAllowed;
                OpenSubtrees = openSubtrees;
            }

            public string Rule { get; }
            public string Path { get; }
            public string What { get; }

            /// <summary>
            /// Only being or containing this path is refused: it holds everybody's directories
            /// (/home, /tmp, /mnt), so a project inside it is fine.
            /// </summary>
            public bool InsideAllowed { get; }

            public IReadOnlyList<string> OpenSubtrees { get; }
        }

        // FHS top-level system directories, and the /usr and /var subtrees meant for local files.
        private static readonly string[] UsrOpen = { "/usr/local/src" };
        private static readonly string[] VarOpen = { "/var/tmp", "/var/www", "/var/home", "/var/srv", "/var/folders" };

        private static IEnumerable<Entry> UnixSystem()
        {
            foreach (var dir in new[] { "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/dev", "/etc", "/proc", "/sys", "/run", "/snap", "/nix" })
            {
                yield return new Entry(SystemRule, dir, "the operating system's directory " + dir);
            }

            yield return new Entry(SystemRule, "/usr", "the operating system's directory /usr", false, UsrOpen);
            yield return new Entry(SystemRule, "/var", "the operating system's directory /var", false, VarOpen);

            // macOS: /etc, /var and /tmp are symlinks into /private, and paths are compared resolved.
            foreach (var dir in new[] { "/System", "/Library", "/Applications", "/private/etc" })
            {
                yield return new Entry(SystemRule, dir, "the operating system's directory " + dir);
            }

            yield return new Entry(SystemRule, "/private/var", "the operating system's directory /private/var", false,
                VarOpen.Select(v => "/private" + v).ToArray());

            foreach (var dir in new[] { "/home", "/var/home", "/Users", "/root", "/tmp", "/private/tmp", "/var/tmp", "/private/var/tmp", "/mnt", "/media", "/Volumes", "/opt", "/srv" })
            {
                yield return new Entry(SharedRootRule, dir, $"{dir}, which holds other users' or other programs' directories", insideAllowed: true);
            }
        }

        private static IEnumerable<Entry> WindowsSystem()
        {
            foreach (var folder in new[]
            {
                Environment.SpecialFolder.Windows, Environment.SpecialFolder.ProgramFiles,
                Environment.SpecialFolder.ProgramFilesX86, Environment.SpecialFolder.CommonApplicationData,
            })
            {
                var path = Environment.GetFolderPath(folder);
                if (!string.IsNullOrEmpty(path))
                {
                    yield return new Entry(SystemRule, path, "the operating system's directory " + path);
                }
            }

            var users = Path.GetDirectoryName(ModulePaths.Home);
            if (!string.IsNullOrEmpty(users))
            {
                yield return new Entry(SharedRootRule, users, $"{users}, which holds every user's profile", insideAllowed: true);
            }
        }

        /// <summary>
        /// The user's credential stores: each directory is refused whole, each file refused to any
        /// directory that contains it. Variables that move a store are honoured.
        /// </summary>
        internal static IEnumerable<Entry> CredentialStores(string home, Func<string, string> variable)
        {
            string Home(params string[] parts) => Path.Combine(new[] { home }.Concat(parts).ToArray());
            var config = variable("XDG_CONFIG_HOME");
            config = string.IsNullOrEmpty(config) ? Home(".config") : config;
            var data = variable("XDG_DATA_HOME");
            data = string.IsNullOrEmpty(data) ? Home(".local", "share") : data;

            var stores = new List<(string Path, string What)>
            {
                (Home(".ssh"), "ssh keys"),
                (Home(".gnupg"), "gpg keys"),
                (variable("GNUPGHOME"), "gpg keys"),
                (Home(".aws"), "AWS credentials"),
                (Home(".azure"), "Azure CLI credentials"),
                (variable("AZURE_CONFIG_DIR"), "Azure CLI credentials"),
                (Path.Combine(config, "gcloud"), "Google Cloud credentials"),
                (variable("CLOUDSDK_CONFIG"), "Google Cloud credentials"),
                (Home(".kube"), "Kubernetes credentials"),
                (Home(".docker"), "Docker credentials"),
                (variable("DOCKER_CONFIG"), "Docker credentials"),
                (Path.Combine(config, "containers"), "container registry credentials"),
                (Path.Combine(config, "gh"), "GitHub CLI credentials"),
                (variable("GH_CONFIG_DIR"), "GitHub CLI credentials"),
                (Path.Combine(config, "hub"), "GitHub credentials"),
                (Path.Combine(config, "glab-cli"), "GitLab CLI credentials"),
                (Path.Combine(config, "git", "credentials"), "git credentials"),
                (Home(".git-credentials"), "git credentials"),
                (Home(".netrc"), "netrc credentials"),
                (Home("_netrc"), "netrc credentials"),
                (Home(".npmrc"), "npm credentials"),
                (Home(".yarnrc.yml"), "yarn credentials"),
                (Home(".pypirc"), "PyPI credentials"),
                (Path.Combine(config, "pip"), "pip credentials"),
                (Home(".pip"), "pip credentials"),
                (Home(".nuget", "NuGet"), "NuGet credentials"),
                (Path.Combine(config, "NuGet"), "NuGet credentials"),
                (Home(".cargo", "credentials.toml"), "Cargo credentials"),
                (Home(".cargo", "credentials"), "Cargo credentials"),
                (Home(".gem", "credentials"), "RubyGems credentials"),
                (Home(".m2", "settings.xml"), "Maven credentials"),
                (Home(".gradle", "gradle.properties"), "Gradle credentials"),
                (Home(".terraform.d"), "Terraform credentials"),
                (Home(".vault-token"), "Vault token"),
                (Home(".oci"), "Oracle Cloud credentials"),
                (Home(".config", "doctl"), "DigitalOcean credentials"),
                (Home(".claude"), "Claude Code credentials"),
                (Home(".claude.json"), "Claude Code credentials"),
                (Home(".password-store"), "the pass password store"),
                (variable("PASSWORD_STORE_DIR"), "the pass password store"),
                (Path.Combine(data, "keyrings"), "the desktop keyring"),
                (Path.Combine(data, "kwalletd"), "the KDE wallet"),
                (Path.Combine(config, "op"), "1Password CLI"),
                (Home(".op"), "1Password CLI"),
                (Path.Combine(config, "Bitwarden CLI"), "Bitwarden CLI"),
                (Home(".pki"), "certificate store"),
                (Home("Library", "Keychains"), "the macOS keychain"),
                (Home("AppData", "Roaming", "Microsoft", "Credentials"), "Windows credentials"),
                (Home("AppData", "Local", "Microsoft", "Credentials"), "Windows credentials"),
            };
            stores.AddRange(SplitPathList(variable("KUBECONFIG")).Select(p => (p, "Kubernetes credentials")));
            stores.Add((variable("AWS_SHARED_CREDENTIALS_FILE"), "AWS credentials"));
            stores.Add((variable("AWS_CONFIG_FILE"), "AWS credentials"));
            stores.Add((variable("NETRC"), "netrc credentials"));

            return stores
                .Where(s => !string.IsNullOrEmpty(s.Path))
                .Select(s => new Entry(CredentialRule, s.Path, $"{s.Path} ({s.What})"));
        }

        private static IEnumerable<string> SplitPathList(string list) =>
            string.IsNullOrEmpty(list) ? Enumerable.Empty<string>() : list.Split(Path.PathSeparator).Where(p => p.Length > 0);

        /// <summary>Every entry for this platform and user.</summary>
        public static IReadOnlyList<Entry> For(string home)
        {
            var entries = new List<Entry>(RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? WindowsSystem() : UnixSystem());
            entries.AddRange(CredentialStores(home, Environment.GetEnvironmentVariable));
            return entries;
        }

        /// <summary>How a refused path relates to the protected one; the lower, the more telling.</summary>
        internal enum Relation
        {
            Is,
            LiesInside,
            Contains,
        }

        /// <summary>How <paramref name="path"/> (resolved) breaks <paramref name="entry"/>, and the sentence that says so; null when it does not.</summary>
        public static (Relation Relation, string Why)? Violation(string path, Entry entry, Func<string, string> resolve)
        {
            foreach (var protectedPath in Forms(entry.Path, resolve))
            {
                if (ModulePaths.IsSameOrInside(protectedPath, path))
                {
                    return string.Equals(Trim(protectedPath), Trim(path), ModulePaths.PathComparison)
                        ? (Relation.Is, "it is " + entry.What)
                        : (Relation.Contains, "it contains " + entry.What);
                }

                if (!entry.InsideAllowed && ModulePaths.IsSameOrInside(path, protectedPath) &&
                    !entry.OpenSubtrees.Any(open => ModulePaths.IsSameOrInside(path, open)))
                {
                    return (Relation.LiesInside, "it lies inside " + entry.What);
                }
            }

            return null;
        }

        /// <summary>The path as written and, when it exists through a symlink, as resolved.</summary>
        private static IEnumerable<string> Forms(string path, Func<string, string> resolve)
        {
            yield return path;
            var resolved = File.Exists(path) || Directory.Exists(path) ? resolve(path) : null;
            if (resolved != null && !string.Equals(resolved, path, ModulePaths.PathComparison))
            {
                yield return resolved;
            }
        }

        private static string Trim(string path) => path.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
    }
}
