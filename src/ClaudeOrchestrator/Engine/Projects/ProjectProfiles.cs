using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;
using ClaudeOrchestrator.Engine.Agent;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Egress;
using ClaudeOrchestrator.Engine.Sandboxing;

namespace ClaudeOrchestrator.Engine.Projects
{
    /// <summary>
    /// Per-project profiles, one YAML file per project in the profiles directory, in the format
    /// of the seed tool (name, local_path, docker.image/memory/cpus/network_mode) plus optional
    /// environment (names to pass through) and timeout. Reading never throws for a bad profile:
    /// the profile comes back with Problem set, naming the file and the field.
    /// </summary>
    internal static class ProjectProfiles
    {
        public const string Extension = ".yaml";
        private const string AlternateExtension = ".yml";

        private static readonly Regex VariableName = new Regex(@"^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant);
        private static readonly Regex NetworkName = new Regex(@"^[A-Za-z0-9][A-Za-z0-9_.-]*$", RegexOptions.CultureInvariant);
        private static readonly string[] TopLevelFields = { "name", "local_path", "docker", "environment", "timeout", "isolation", "checkout", "branch_prefix", "agent" };
        private static readonly string[] AgentFields = { "model", "max_turns", "max_budget_usd", "max_total_budget_usd", "allowed_tools", "disallowed_tools", "append_system_prompt" };
        private static readonly string[] DockerFields = { "image", "memory", "cpus", "network_mode", "allow_hosts", "engine", "selinux_relabel", "workspace", "swarm", "placement" };

        public static string Directory => ModulePaths.ProfilesDirectory;

        /// <summary>The profile file for <paramref name="name"/> (.yaml, else .yml), or null when there is none.</summary>
        public static string FindFile(string name)
        {
            ProjectLocator.CheckName(name);
            return new[] { Extension, AlternateExtension }
                .Select(ext => Path.Combine(Directory, name + ext))
                .FirstOrDefault(File.Exists);
        }

        public static string PathFor(string name) => Path.Combine(Directory, ProjectLocator.CheckName(name) + Extension);

        public static IEnumerable<string> AllFiles()
        {
            if (!System.IO.Directory.Exists(Directory))
            {
                return Enumerable.Empty<string>();
            }

            return System.IO.Directory.EnumerateFiles(Directory)
                .Where(f => f.EndsWith(Extension, StringComparison.OrdinalIgnoreCase) || f.EndsWith(AlternateExtension, StringComparison.OrdinalIgnoreCase))
                .OrderBy(f => f, StringComparer.OrdinalIgnoreCase);
        }

        /// <param name="currentDirectory">What local_path "cwd" means: the caller's current location.</param>
        /// <param name="note">Receives remarks such as ignored fields.</param>
        public static ClaudeProject Load(string file, string currentDirectory, Action<string> note)
        {
            var project = new ClaudeProject { Name = Path.GetFileNameWithoutExtension(file), ProfileFile = file };
            try
            {
                Read(project, file, currentDirectory, note ?? (_ => { }));
            }
            catch (ProfileProblem e)
            {
                project.Problem = $"{file}: {e.Message}";
            }
            catch (Exception e)
            {
                // YamlDotNet reports some malformed documents as InvalidOperationException: any
                // failure to read the file makes the profile unusable, never the listing.
                project.Problem = $"{file}: not readable as YAML: {e.Message}";
            }

            return project;
        }

        public static string Serialize(ClaudeProject project)
        {
            var docker = new YamlMappingNode();
            AddIf(docker, "image", project.Image);
            AddIf(docker, "memory", project.Memory);
            AddIf(docker, "cpus", project.Cpus?.ToString(CultureInfo.InvariantCulture));
            AddIf(docker, "network_mode", project.Network);
            if (project.AllowHosts != null && project.AllowHosts.Length > 0)
            {
                docker.Add("allow_hosts", new YamlSequenceNode(project.AllowHosts.Select(h => new YamlScalarNode(h))));
            }
            AddIf(docker, "engine", project.Engine);
            AddIf(docker, "selinux_relabel", project.SELinuxRelabel?.ToString().ToLowerInvariant());
            AddIf(docker, "workspace", project.Workspace?.ToString().ToLowerInvariant());
            AddIf(docker, "swarm", project.Swarm?.ToString().ToLowerInvariant());
            if (project.Placement != null && project.Placement.Length > 0)
            {
                docker.Add("placement", new YamlSequenceNode(project.Placement.Select(c => new YamlScalarNode(c))));
            }

            var root = new YamlMappingNode
            {
                { "name", project.Name },
                { "local_path", project.Path },
            };
            if (docker.Children.Count > 0)
            {
                root.Add("docker", docker);
            }

            if (project.Environment.Length > 0)
            {
                root.Add("environment", new YamlSequenceNode(project.Environment.Select(n => new YamlScalarNode(n))));
            }

            if (project.Isolation.HasValue)
            {
                root.Add("isolation", project.Isolation.Value.ToString().ToLowerInvariant());
            }

            AddIf(root, "checkout", project.Checkout?.ToString().ToLowerInvariant());

            AddIf(root, "branch_prefix", project.BranchPrefix);
            if (project.Timeout.HasValue)
            {
                root.Add("timeout", ((long)project.Timeout.Value.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s");
            }

            using (var text = new StringWriter(CultureInfo.InvariantCulture))
            {
                new YamlStream(new YamlDocument(root)).Save(text, assignAnchors: false);
                // YamlStream ends documents with "...": valid, but not what people write by hand.
                return text.ToString().Replace("\r\n", "\n").TrimEnd().TrimEnd('.').TrimEnd() + "\n";
            }
        }

        private static void Read(ClaudeProject project, string file, string currentDirectory, Action<string> note)
        {
            var yaml = new YamlStream();
            using (var reader = new StreamReader(file))
            {
                yaml.Load(reader);
            }

            if (yaml.Documents.Count == 0 || !(yaml.Documents[0].RootNode is YamlMappingNode root))
            {
                throw new ProfileProblem("the profile is empty or not a mapping of fields.");
            }

            NoteUnknown(root, TopLevelFields, string.Empty, file, note);
            var declaredName = Scalar(root, "name");
            if (declaredName != null && !string.Equals(declaredName, project.Name, StringComparison.Ordinal))
            {
                note($"{file}: name '{declaredName}' differs from the file name; the project is '{project.Name}', as its file is named.");
            }

            project.Path = ResolvePath(Scalar(root, "local_path") ?? throw new ProfileProblem("field 'local_path' is missing."), currentDirectory);

            if (Child(root, "docker") is YamlNode dockerNode)
            {
                var docker = dockerNode as YamlMappingNode ?? throw new ProfileProblem("field 'docker' must be a mapping (image, memory, cpus, network_mode, allow_hosts, engine, selinux_relabel, workspace, swarm, placement).");
                NoteUnknown(docker, DockerFields, "docker.", file, note);
                project.Image = Scalar(docker, "image", "docker.image");
                project.Memory = Scalar(docker, "memory", "docker.memory");
                Checked("docker.memory", project.Memory, Sandbox.ParseMemory);
                project.Cpus = ParseCpus(Scalar(docker, "cpus", "docker.cpus"));
                project.Network = ParseNetwork(Scalar(docker, "network_mode", "docker.network_mode"));
                project.AllowHosts = AllowHosts(Child(docker, "allow_hosts"));
                project.Engine = Scalar(docker, "engine", "docker.engine");
                var relabel = Scalar(docker, "selinux_relabel", "docker.selinux_relabel");
                if (relabel != null)
                {
                    project.SELinuxRelabel = bool.TryParse(relabel, out var yes) ? yes
                        : throw new ProfileProblem($"field 'docker.selinux_relabel': '{relabel}' must be true or false.");
                }

                var workspace = Scalar(docker, "workspace", "docker.workspace");
                if (workspace != null)
                {
                    project.Workspace = Enum.TryParse<WorkspaceTransfer>(workspace, true, out var transfer) && Enum.IsDefined(typeof(WorkspaceTransfer), transfer)
                        ? transfer
                        : throw new ProfileProblem($"field 'docker.workspace': '{workspace}' must be auto, mount or copy.");
                }

                var swarm = Scalar(docker, "swarm", "docker.swarm");
                if (swarm != null)
                {
                    project.Swarm = bool.TryParse(swarm, out var yes) ? yes
                        : throw new ProfileProblem($"field 'docker.swarm': '{swarm}' must be true or false.");
                }

                project.Placement = Placement(Child(docker, "placement"));
            }

            project.Environment = ParseEnvironment(Child(root, "environment"));
            var isolation = Scalar(root, "isolation");
            if (isolation != null)
            {
                if (!Enum.TryParse<ClaudeTaskIsolation>(isolation, true, out var mode) || !Enum.IsDefined(typeof(ClaudeTaskIsolation), mode))
                {
                    throw new ProfileProblem($"field 'isolation': '{isolation}' must be branch or none.");
                }

                project.Isolation = mode;
            }

            var checkout = Scalar(root, "checkout");
            if (checkout != null)
            {
                project.Checkout = Enum.TryParse<CheckoutMethod>(checkout, true, out var method) && Enum.IsDefined(typeof(CheckoutMethod), method)
                    ? method
                    : throw new ProfileProblem($"field 'checkout': '{checkout}' must be auto, overlay or full.");
            }

            project.BranchPrefix = Scalar(root, "branch_prefix");
            if (Child(root, "agent") is YamlNode agentNode)
            {
                var agent = agentNode as YamlMappingNode ?? throw new ProfileProblem("field 'agent' must be a mapping (" + string.Join(", ", AgentFields) + ").");
                NoteUnknown(agent, AgentFields, "agent.", file, note);
                project.Model = Scalar(agent, "model", "agent.model");
                project.MaxTurns = Checked("agent.max_turns", Scalar(agent, "max_turns", "agent.max_turns"), ClaudeCliOptions.ParseMaxTurns);
                project.MaxBudgetUsd = Checked("agent.max_budget_usd", Scalar(agent, "max_budget_usd", "agent.max_budget_usd"), ClaudeCliOptions.ParseBudget);
                project.MaxTotalBudgetUsd = Checked("agent.max_total_budget_usd", Scalar(agent, "max_total_budget_usd", "agent.max_total_budget_usd"), ClaudeCliOptions.ParseBudget);
                project.AllowedTools = Tools(agent, "allowed_tools");
                project.DisallowedTools = Tools(agent, "disallowed_tools");
                project.AppendSystemPrompt = Scalar(agent, "append_system_prompt", "agent.append_system_prompt");
            }

            var timeout = Scalar(root, "timeout");
            if (timeout != null)
            {
                project.Timeout = Checked("timeout", timeout, Durations.Parse);
                if (project.Timeout <= TimeSpan.Zero)
                {
                    throw new ProfileProblem($"field 'timeout': '{timeout}' must be positive.");
                }
            }
        }

        private static string ResolvePath(string text, string currentDirectory)
        {
            string path;
            if (string.Equals(text, "cwd", StringComparison.OrdinalIgnoreCase) || text == ".")
            {
                path = currentDirectory;
            }
            else if (text == "~" || text.StartsWith("~/", StringComparison.Ordinal) || text.StartsWith("~\\", StringComparison.Ordinal))
            {
                path = Path.Combine(ModulePaths.Home, text.Substring(Math.Min(2, text.Length)));
            }
            else if (Path.IsPathRooted(text))
            {
                path = text;
            }
            else
            {
                throw new ProfileProblem($"field 'local_path': '{text}' must be absolute, start with ~, or be cwd.");
            }

            path = Path.GetFullPath(path);
            if (!System.IO.Directory.Exists(path))
            {
                throw new ProfileProblem($"field 'local_path': the directory '{path}' does not exist.");
            }

            return path;
        }

        private static double? ParseCpus(string text)
        {
            if (text == null)
            {
                return null;
            }

            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var cpus) || cpus <= 0 || cpus > 1024)
            {
                throw new ProfileProblem($"field 'docker.cpus': '{text}' is not a CPU count between 0.01 and 1024.");
            }

            return cpus;
        }

        private static string ParseNetwork(string text)
        {
            if (text == null)
            {
                return null;
            }

            if (!NetworkName.IsMatch(text) && !text.StartsWith("container:", StringComparison.OrdinalIgnoreCase))
            {
                throw new ProfileProblem($"field 'docker.network_mode': '{text}' is not a network mode; use bridge, none, or the name of a network.");
            }

            try
            {
                return Sandbox.CheckNetwork(text);
            }
            catch (OrchestratorException e)
            {
                throw new ProfileProblem("field 'docker.network_mode': " + e.Message);
            }
        }

        /// <summary>docker.placement: swarm constraints as the CLI's --constraint takes them ("node.role==worker"), a list or one value.</summary>
        private static string[] Placement(YamlNode node)
        {
            if (node == null)
            {
                return null;
            }

            var items = node is YamlSequenceNode sequence ? sequence.Children.Select(n => (n as YamlScalarNode)?.Value).ToArray()
                : node is YamlScalarNode scalar ? new[] { scalar.Value }
                : throw new ProfileProblem("field 'docker.placement' must be a list of constraints such as node.role==worker.");
            foreach (var item in items)
            {
                if (item == null || (item.IndexOf("==", StringComparison.Ordinal) < 1 && item.IndexOf("!=", StringComparison.Ordinal) < 1))
                {
                    throw new ProfileProblem($"field 'docker.placement': '{item}' is not a constraint; write it as the CLI's --constraint takes it, e.g. node.role==worker or node.labels.agents!=false.");
                }
            }

            return items.Select(i => i.Trim()).ToArray();
        }

        private static string[] ParseEnvironment(YamlNode node)
        {
            if (node == null)
            {
                return Array.Empty<string>();
            }

            var names = (node as YamlSequenceNode)?.Children.Select(n => (n as YamlScalarNode)?.Value).ToArray()
                        ?? throw new ProfileProblem("field 'environment' must be a list of variable names.");
            foreach (var name in names.Where(n => n == null || !VariableName.IsMatch(n)))
            {
                throw new ProfileProblem($"field 'environment': '{name}' is not an environment variable name.");
            }

            return names;
        }

        private static T Checked<T>(string field, string text, Func<string, T> parse)
        {
            if (text == null)
            {
                return default;
            }

            try
            {
                return parse(text);
            }
            catch (Exception e) when (e is FormatException || e is OverflowException)
            {
                throw new ProfileProblem($"field '{field}': {e.Message}");
            }
        }

        private static YamlNode Child(YamlMappingNode map, string key) =>
            map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

        /// <summary>A tool list: a sequence of names, or one comma-separated value.</summary>
        private static string[] AllowHosts(YamlNode node)
        {
            if (node == null)
            {
                return null;
            }

            var items = node is YamlSequenceNode sequence
                ? sequence.Children.Select(n => (n as YamlScalarNode)?.Value ?? throw new ProfileProblem("field 'docker.allow_hosts' must be a list of host names."))
                : node is YamlScalarNode scalar ? scalar.Value.Split(',') : throw new ProfileProblem("field 'docker.allow_hosts' must be a list of host names.");
            var hosts = items.Select(h => h?.Trim()).Where(h => !string.IsNullOrEmpty(h)).ToArray();
            foreach (var host in hosts)
            {
                if (!AllowedHost.TryParse(host, out _, out var problem))
                {
                    throw new ProfileProblem($"field 'docker.allow_hosts': '{host}' is not an allowed-host entry: {problem}.");
                }
            }

            return hosts;
        }

        private static string[] Tools(YamlMappingNode agent, string key)
        {
            var node = Child(agent, key);
            if (node == null)
            {
                return null;
            }

            var items = node is YamlSequenceNode sequence
                ? sequence.Children.OfType<YamlScalarNode>().Select(n => n.Value)
                : node is YamlScalarNode scalar ? scalar.Value.Split(',') : throw new ProfileProblem($"field 'agent.{key}' must be a list of tool names.");
            return items.Select(t => t?.Trim()).Where(t => !string.IsNullOrEmpty(t)).ToArray();
        }

        private static string Scalar(YamlMappingNode map, string key, string field = null)
        {
            var node = Child(map, key);
            if (node == null)
            {
                return null;
            }

            var scalar = node as YamlScalarNode ?? throw new ProfileProblem($"field '{field ?? key}' must be a single value.");
            return string.IsNullOrWhiteSpace(scalar.Value) ? null : scalar.Value.Trim();
        }

        private static void NoteUnknown(YamlMappingNode map, string[] known, string prefix, string file, Action<string> note)
        {
            foreach (var key in map.Children.Keys.OfType<YamlScalarNode>().Select(k => k.Value).Where(k => !known.Contains(k)))
            {
                note($"{file}: field '{prefix}{key}' is not used by ClaudeOrchestrator and is ignored.");
            }
        }

        private static void AddIf(YamlMappingNode map, string key, string value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                map.Add(key, value);
            }
        }

        /// <summary>What is wrong with a profile; becomes ClaudeProject.Problem.</summary>
        private sealed class ProfileProblem : Exception
        {
            public ProfileProblem(string message) : base(message)
            {
            }
        }
    }
}
