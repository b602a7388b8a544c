using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Text;
using System.Threading;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Git
{
    /// <summary>The outcome of one git command.</summary>
    internal sealed class GitOutput
    {
        public GitOutput(int exitCode, string stdout, string stderr)
        {
            ExitCode = exitCode;
            Stdout = stdout;
            Stderr = stderr;
        }

        public int ExitCode { get; }
        public string Stdout { get; }
        public string Stderr { get; }
        public bool Ok => ExitCode == 0;
        public string Line => Stdout.Trim();
    }

    /// <summary>
    /// Runs the host's git. Every call gets a clean environment: inherited GIT_DIR, GIT_INDEX_FILE
    /// or GIT_WORK_TREE would silently aim a command at another repository, and a prompt for
    /// credentials would hang a task.
    /// </summary>
    internal static class GitCli
    {
        private const int LockRetries = 6;

        // Hard-wired for every command the module runs in a checkout the agent could have written:
        // none of these may execute anything the agent chose.
        internal static readonly string[] Hardened =
        {
            "-c", "core.fsmonitor=false", "-c", "core.hooksPath=" + (NativeUnix.IsUnix ? "/dev/null" : "NUL"),
            "-c", "core.untrackedCache=false", "-c", "commit.gpgSign=false", "-c", "core.autocrlf=false",
            "-c", "diff.external=", "-c", "core.pager=cat",
        };

        /// <summary>The git executable on PATH now (PATH may change within a session), or null.</summary>
        public static string Path => Find();

        public static string Require()
        {
            return Path ?? throw new OrchestratorException(ErrorIds.GitNotFound, ErrorCategory.NotInstalled,
                "git is not on PATH. A task in a git repository runs on a branch of its own, which needs git on this machine; install git, or run the task in place with -Isolation None.");
        }

        /// <summary>Runs git in <paramref name="directory"/>; retries while another git process holds a lock this command needs.</summary>
        public static GitOutput Run(string directory, IEnumerable<string> arguments, IDictionary<string, string> environment = null, string input = null)
        {
            var args = arguments.ToList();
            for (var attempt = 0; ; attempt++)
            {
                var output = RunOnce(directory, args, environment, input);
                if (output.Ok || attempt >= LockRetries || !IsLockContention(output.Stderr))
                {
                    return output;
                }

                Thread.Sleep(25 << attempt);
            }
        }

        public static GitOutput Run(string directory, params string[] arguments) => Run(directory, arguments, null);

        /// <summary>Runs git and returns its trimmed stdout, or throws naming the command and git's own words.</summary>
        public static string Check(string directory, string errorId, params string[] arguments) =>
            Check(directory, errorId, arguments, null);

        public static string Check(string directory, string errorId, IEnumerable<string> arguments, IDictionary<string, string> environment)
        {
            var args = arguments.ToList();
            var output = Run(directory, args, environment);
            if (!output.Ok)
            {
                throw new OrchestratorException(errorId, ErrorCategory.InvalidOperation,
                    $"git {Describe(args)} failed in {directory}: {FirstLines(output.Stderr)}", directory);
            }

            return output.Line;
        }

        internal static bool IsLockContention(string stderr) =>
            stderr.IndexOf(".lock", StringComparison.Ordinal) >= 0 &&
            (stderr.IndexOf("File exists", StringComparison.OrdinalIgnoreCase) >= 0 ||
             stderr.IndexOf("Unable to create", StringComparison.OrdinalIgnoreCase) >= 0 ||
             stderr.IndexOf("cannot lock", StringComparison.OrdinalIgnoreCase) >= 0);

        internal static string FirstLines(string text)
        {
            var lines = (text ?? string.Empty).Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).Take(3);
            var joined = string.Join(" ", lines);
            return joined.Length == 0 ? "(no message)" : joined;
        }

        // Options and subcommand only: paths and messages stay out of error text.
        private static string Describe(IList<string> args) =>
            string.Join(" ", args.Where(a => a.StartsWith("-", StringComparison.Ordinal) || !a.Contains("/")).Take(6));

        private static GitOutput RunOnce(string directory, IList<string> args, IDictionary<string, string> environment, string input)
        {
            var info = new ProcessStartInfo(Require())
            {
                WorkingDirectory = directory,
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                CreateNoWindow = true,
                StandardOutputEncoding = Encoding.UTF8,
                StandardErrorEncoding = Encoding.UTF8,
            };
            info.Arguments = string.Join(" ", args.Select(Quote));
            foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("GIT_", StringComparison.OrdinalIgnoreCase)).ToList())
            {
                info.Environment.Remove(name);
            }

            info.Environment["GIT_TERMINAL_PROMPT"] = "0";
            // git status refreshes and rewrites the index when it can; the user's index is not ours to touch.
            info.Environment["GIT_OPTIONAL_LOCKS"] = "0";
            info.Environment["LC_ALL"] = "C";
            if (environment != null)
            {
                foreach (var pair in environment)
                {
                    info.Environment[pair.Key] = pair.Value;
                }
            }

            using (var process = Process.Start(info))
            {
                var stdout = process.StandardOutput.ReadToEndAsync();
                var stderr = process.StandardError.ReadToEndAsync();
                HaltPoint.GitStarted(CommandOf(args), process);
                if (input != null)
                {
                    process.StandardInput.Write(input);
                }

                process.StandardInput.Close();
                process.WaitForExit();
                return new GitOutput(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
            }
        }

        /// <summary>The git command in <paramref name="args"/> (after any -c pairs and --options): "read-tree", "push".</summary>
        private static string CommandOf(IList<string> args)
        {
            for (var i = 0; i < args.Count; i++)
            {
                if (args[i] == "-c" || args[i] == "-C")
                {
                    i++;
                }
                else if (!args[i].StartsWith("-", StringComparison.Ordinal))
                {
                    return args[i];
                }
            }

            return null;
        }

        /// <summary>Windows command-line quoting (what ProcessStartInfo.Arguments parses back on every platform).</summary>
        internal static string Quote(string argument)
        {
            if (argument.Length > 0 && argument.IndexOfAny(new[] { ' ', '\t', '"', '\n' }) < 0)
            {
                return argument;
            }

            var quoted = new StringBuilder("\"");
            var backslashes = 0;
            foreach (var c in argument)
            {
                if (c == '\\')
                {
                    backslashes++;
                    continue;
                }

                if (c == '"')
                {
                    quoted.Append('\\', backslashes * 2 + 1);
                }
                else
                {
                    quoted.Append('\\', backslashes);
                }

                backslashes = 0;
                quoted.Append(c);
            }

            quoted.Append('\\', backslashes * 2);
            return quoted.Append('"').ToString();
        }

        private static string Find()
        {
            var names = NativeUnix.IsUnix ? new[] { "git" } : new[] { "git.exe", "git.cmd" };
            foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(System.IO.Path.PathSeparator))
            {
                if (directory.Length == 0)
                {
                    continue;
                }

                foreach (var name in names)
                {
                    var candidate = System.IO.Path.Combine(directory, name);
                    if (File.Exists(candidate))
                    {
                        return candidate;
                    }
                }
            }

            return null;
        }
    }
}
