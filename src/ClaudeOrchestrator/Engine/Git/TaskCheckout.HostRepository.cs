using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Git
{
    /// <summary>The host repository a checkout's git commands run in (host.git): made once, kept whole, its stale locks of a dead session removed.</summary>
    internal sealed partial class TaskCheckout
    {
        /// <summary>The module's own bare repository for saving, borrowing the checkout's and the repository's objects.</summary>
        private void MakeHostRepository(string objectFormat)
        {
            var host = HostRepository;
            if (!System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux))
            {
                // git init probes the file system (case, symbolic links, unicode forms) where it may differ.
                var init = new List<string> { "init", "-q", "--bare" };
                if (objectFormat != null && objectFormat != "sha1")
                {
                    init.Add("--object-format=" + objectFormat);
                }

                init.Add(HostRepositoryName);
                GitCli.Check(TaskDirectory, ErrorIds.IsolationFailed, init.ToArray());
            }
            else
            {
                WriteBareRepository(host, objectFormat);
            }

            HaltPoint.Reached(HaltPoint.Steps.HostRepositoryStarted);
            File.WriteAllText(Path.Combine(host, "objects", "info", "alternates"),
                Path.Combine(CheckoutDirectory, ".git", "objects") + "\n" + ObjectsDirectory + "\n");
            CopyShallow(Path.Combine(host, "shallow"));
            // Written last: a host.git without it was cut short while being made.
            File.WriteAllText(Path.Combine(host, HostReadyName), BaseCommit + "\n");
        }

        private const string HostReadyName = "claude-orchestrator-ready";

        /// <summary>
        /// A bare repository as git init makes it on Linux, less the samples: written as files,
        /// since it is the module's own and a process is time on every task's start. HEAD last.
        /// </summary>
        private static void WriteBareRepository(string host, string objectFormat)
        {
            var sha1 = objectFormat == null || objectFormat == "sha1";
            Directory.CreateDirectory(Path.Combine(host, "objects", "info"));
            Directory.CreateDirectory(Path.Combine(host, "objects", "pack"));
            Directory.CreateDirectory(Path.Combine(host, "refs", "heads"));
            Directory.CreateDirectory(Path.Combine(host, "refs", "tags"));
            File.WriteAllText(Path.Combine(host, "config"),
                "[core]\n\trepositoryformatversion = " + (sha1 ? "0" : "1") + "\n\tfilemode = true\n\tbare = true\n" +
                (sha1 ? string.Empty : "[extensions]\n\tobjectformat = " + objectFormat + "\n"));
            File.WriteAllText(Path.Combine(host, "HEAD"), "ref: refs/heads/main\n");
        }

        /// <summary>
        /// host.git as saving needs it: one cut short while being made (a kill, a full disk) is
        /// made again. It holds nothing of its own but commits of a save, which reach the branch
        /// by the push, so remaking it loses nothing.
        /// </summary>
        private void EnsureHostRepository()
        {
            var host = HostRepository;
            if (File.Exists(Path.Combine(host, HostReadyName)) && File.Exists(Path.Combine(host, "HEAD")))
            {
                return;
            }

            Files.DeleteTree(host);
            MakeHostRepository(ObjectFormatOf(CommonDirectory));
        }

        private static string ObjectFormatOf(string gitDirectory)
        {
            var format = GitCli.Run(gitDirectory, "--git-dir=" + gitDirectory, "rev-parse", "--show-object-format");
            return format.Ok && format.Line.Length > 0 ? format.Line : "sha1";
        }

        /// <summary>
        /// For a sweep, whose task's session is provably dead: the locks that session's git left
        /// where only the module's own git runs (the save's index, host.git), and the task
        /// branch's own ref lock in the user's repository once it is older than any git command
        /// holds one. Nothing else of the user's repository is touched.
        /// </summary>
        internal void RemoveStaleLocks()
        {
            foreach (var file in new[] { Path.Combine(TaskDirectory, HostIndexName + ".lock") }
                         .Concat(Directory.Exists(HostRepository) ? Directory.EnumerateFiles(HostRepository, "*.lock", SearchOption.AllDirectories) : Enumerable.Empty<string>()))
            {
                Files.TryDelete(file);
            }

            var branchLock = Path.Combine(CommonDirectory, "refs", "heads", Branch.Replace('/', Path.DirectorySeparatorChar) + ".lock");
            if (File.Exists(branchLock) && DateTime.UtcNow - File.GetLastWriteTimeUtc(branchLock) > StaleRefLock)
            {
                Files.TryDelete(branchLock);
            }
        }

        // git holds a ref lock for the moment of one update; an old one was left by a killed process.
        private static readonly TimeSpan StaleRefLock = TimeSpan.FromSeconds(10);

        /// <summary>
        /// The base commit and every object of its tree as one pack (pack and index files, in
        /// the task directory), for a checkout that travels to another machine without the
        /// repository's object store behind it. The caller deletes the files.
        /// </summary>
        internal IReadOnlyList<string> PackBaseTree()
        {
            var directory = Path.Combine(TaskDirectory, "ship-pack");
            Files.DeleteTree(directory);
            Directory.CreateDirectory(directory);
            var objects = GitCli.Check(CheckoutDirectory, ErrorIds.IsolationFailed, Hardened("rev-list", "--objects", "--no-object-names", "-n", "1", BaseCommit));
            var packed = GitCli.Run(CheckoutDirectory, Hardened("pack-objects", "-q", Path.Combine(directory, "pack")), null, objects + "\n");
            if (!packed.Ok)
            {
                throw new OrchestratorException(ErrorIds.IsolationFailed, ErrorCategory.WriteError, "git pack-objects failed: " + GitCli.FirstLines(packed.Stderr));
            }

            return Directory.GetFiles(directory, "pack-*");
        }

        /// <summary>
        /// After the checkout came back from another machine: its alternates and shallow files
        /// are this machine's again (the travelling copy named neither the same way).
        /// </summary>
        internal void RestoreHostFiles()
        {
            var dotGit = Path.Combine(CheckoutDirectory, ".git");
            if (!IsPlainDirectory(dotGit))
            {
                return;
            }

            Directory.CreateDirectory(Path.Combine(dotGit, "objects", "info"));
            File.WriteAllText(Path.Combine(dotGit, "objects", "info", "alternates"), AlternatesEntry + "\n");
            var shallow = Path.Combine(dotGit, "shallow");
            if (File.Exists(shallow) || Directory.Exists(shallow))
            {
                NativeUnix.Unlink(shallow);
            }

            CopyShallow(shallow);
        }

        private void CopyShallow(string target)
        {
            var shallow = Path.Combine(CommonDirectory, "shallow");
            if (File.Exists(shallow))
            {
                File.Copy(shallow, target, true);
            }
        }

        private static string[] HostArgs(string hostRepository, string workTree, params string[] command)
        {
            var args = new List<string> { "--git-dir=" + hostRepository };
            if (workTree != null)
            {
                args.Add("--work-tree=" + workTree);
            }

            args.AddRange(Hardened(command));
            return args.ToArray();
        }

        private static string[] Hardened(params string[] command) => GitCli.Hardened.Concat(command).ToArray();
    }
}
