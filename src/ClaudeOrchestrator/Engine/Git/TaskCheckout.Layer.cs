using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Git
{
    /// <summary>
    /// An overlay checkout: the agent's /workspace is the shared base tree of the base commit
    /// (<see cref="BaseTrees"/>) under the task's own writable layer, which the engine mounts as
    /// an overlay. In the task's directory:
    ///
    ///   checkout/         the layer (the overlay's upper directory): what the agent changed, and
    ///                     from the start the task's own .git (HEAD on the task's branch, config,
    ///                     refs, objects/info/alternates as in a full checkout); the base's
    ///                     .git/index shows through from below
    ///   layer-work/       the overlay's work directory
    ///   base-tree         link to the base tree: the task's reference to its base, deleted last
    ///
    /// Saving reads the layer alone: a whiteout (a 0/0 character device) is a deletion, an opaque
    /// directory replaces the base's, every other file is the agent's; the base's files need not
    /// be read.
    /// </summary>
    internal sealed partial class TaskCheckout
    {
        private const string LayerWorkName = "layer-work";

        // Mounted with userxattr, so the mark is readable by the user who owns the layer.
        private static readonly string[] OpaqueAttributes = { "user.overlay.opaque", "trusted.overlay.opaque" };

        /// <summary>True for an overlay checkout: its directory references a base tree.</summary>
        public bool IsLayer => NativeUnix.ReadLink(Path.Combine(TaskDirectory, BaseTrees.ReferenceName)) != null;

        /// <summary>The shared base tree an overlay checkout lies on (the overlay's lower directory).</summary>
        public string BaseTree => NativeUnix.ReadLink(Path.Combine(TaskDirectory, BaseTrees.ReferenceName));

        /// <summary>The overlay's work directory (empty while nothing is mounted).</summary>
        public string LayerWorkDirectory => Path.Combine(TaskDirectory, LayerWorkName);

        private void PopulateLayer(GitRepository repo)
        {
            Directory.CreateDirectory(TaskDirectory);
            NativeUnix.Symlink(ObjectsDirectory, Path.Combine(TaskDirectory, LinkName));

            // The reference first, then the base: a sweep that moved the base aside reads the
            // references again and puts it back (see BaseTrees.SweepUnused).
            NativeUnix.Symlink(Path.Combine(BaseTrees.DirectoryFor(CommonDirectory, BaseCommit), BaseTrees.TreeName), Path.Combine(TaskDirectory, BaseTrees.ReferenceName));
            var tree = BaseTrees.Ensure(CommonDirectory, repo.ObjectFormat, BaseCommit);

            var layer = CheckoutDirectory;
            Directory.CreateDirectory(LayerWorkDirectory);
            MakeTaskRepository(layer, repo.ObjectFormat);

            // Copies of the base's .gitignore files, identical to the agent: saving from the layer
            // then ignores what the repository ignores, as saving a full checkout does.
            foreach (var gitignore in BaseTrees.Gitignores(tree))
            {
                var target = Path.Combine(layer, gitignore);
                Directory.CreateDirectory(Path.GetDirectoryName(target));
                File.Copy(Path.Combine(tree, gitignore), target);
            }

            HaltPoint.Reached(HaltPoint.Steps.CheckoutWritten);
            MakeHostRepository(repo.ObjectFormat);
        }

        /// <summary>
        /// Into the save's index (holding the parent's tree): the layer's deletions and replaced
        /// directories out, then every file of the layer in, as git add would from the merged tree.
        /// </summary>
        private void StageLayer(string host, Dictionary<string, string> environment)
        {
            var layer = CheckoutDirectory;
            var (removed, files) = ReadLayer(layer);
            if (removed.Count > 0)
            {
                var paths = string.Join("\0", removed) + "\0";
                var rm = GitCli.Run(TaskDirectory, HostArgs(host, layer, "--literal-pathspecs", "rm", "--cached", "-r", "-q", "--ignore-unmatch", "--pathspec-from-file=-", "--pathspec-file-nul"), environment, paths);
                if (!rm.Ok)
                {
                    throw new OrchestratorException(ErrorIds.WorkNotSaved, System.Management.Automation.ErrorCategory.WriteError, "git rm --cached failed: " + GitCli.FirstLines(rm.Stderr));
                }
            }

            if (files.Count == 0)
            {
                return;
            }

            // Only the layer's own files are named, so git looks at those index entries alone
            // (naming "." would stat every file of the base); those the repository ignores stay
            // out, as git add -A leaves them (check-ignore reads the layer's copies of the base's
            // .gitignore files, and never reports a tracked file).
            var list = string.Join("\0", files) + "\0";
            var ignored = GitCli.Run(TaskDirectory, HostArgs(host, layer, "check-ignore", "-z", "--stdin"), environment, list);
            if (ignored.ExitCode > 1)
            {
                throw new OrchestratorException(ErrorIds.WorkNotSaved, System.Management.Automation.ErrorCategory.WriteError, "git check-ignore failed: " + GitCli.FirstLines(ignored.Stderr));
            }

            var skip = new HashSet<string>(ignored.Stdout.Split(new[] { '\0' }, StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);
            var added = files.Where(f => !skip.Contains(f)).ToList();
            if (added.Count > 0)
            {
                var add = GitCli.Run(TaskDirectory, HostArgs(host, layer, "--literal-pathspecs", "add", "--ignore-removal", "--ignore-errors", "--pathspec-from-file=-", "--pathspec-file-nul"), environment,
                    string.Join("\0", added) + "\0");
                if (!add.Ok)
                {
                    throw new OrchestratorException(ErrorIds.WorkNotSaved, System.Management.Automation.ErrorCategory.WriteError, "git add failed: " + GitCli.FirstLines(add.Stderr));
                }
            }
        }

        /// <summary>
        /// The base tree's index as the save's starting index: the base commit's tree with its
        /// cache of tree names, as read-tree would write it, for a copy of the file.
        /// </summary>
        private bool CopyBaseIndex(string index)
        {
            var tree = BaseTree;
            var source = tree == null ? null : Path.Combine(tree, ".git", "index");
            if (source == null || !File.Exists(source))
            {
                return false;
            }

            File.Copy(source, index, true);
            return true;
        }

        /// <summary>
        /// What the layer holds, as paths relative to it ('/'-separated): what it removes from
        /// below (whiteouts, and opaque directories, whose content below is hidden: what is in them
        /// now is among the files), and its files and links. The layer's own top-level .git is the
        /// agent's repository, not its work.
        /// </summary>
        internal static (List<string> Removed, List<string> Files) ReadLayer(string layer)
        {
            var removed = new List<string>();
            var files = new List<string>();
            var pending = new Stack<(string Path, string Relative)>();
            pending.Push((layer, string.Empty));
            while (pending.Count > 0)
            {
                var (directory, relative) = pending.Pop();
                foreach (var entry in Directory.EnumerateFileSystemEntries(directory))
                {
                    var name = Path.GetFileName(entry);
                    if (relative.Length == 0 && name == ".git")
                    {
                        continue;
                    }

                    var path = relative.Length == 0 ? name : relative + "/" + name;
                    var type = NativeUnix.TypeOf(entry) ?? throw new IOException($"{entry} cannot be read.");
                    if (type.Type == NativeUnix.TypeCharacterDevice && type.Major == 0 && type.Minor == 0)
                    {
                        removed.Add(path);
                    }
                    else if (type.Type == NativeUnix.TypeDirectory)
                    {
                        if (OpaqueAttributes.Any(a => NativeUnix.Attribute(entry, a) == "y"))
                        {
                            removed.Add(path);
                        }

                        pending.Push((entry, path));
                    }
                    else if (type.Type == NativeUnix.TypeRegular || type.Type == NativeUnix.TypeLink)
                    {
                        files.Add(path);
                    }
                }
            }

            return (removed, files);
        }

    }
}
