using System;
using System.Collections.Generic;
using System.Linq;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Projects;
using ClaudeOrchestrator.Engine.Records;

namespace ClaudeOrchestrator.Engine.Planning
{
    /// <summary>
    /// What the planner reads from the machine besides the repository: profiles, task records,
    /// environment variables, engine names. Narrow on purpose, so the planning rules are tested
    /// with records and profiles made in memory.
    /// </summary>
    internal interface IPlanSources
    {
        /// <summary>The profile of that name, or null when there is none; an unusable one is returned with its problem.</summary>
        ClaudeProject FindProfile(string name, string currentDirectory, Action<string> note);

        /// <summary>The directory a project name stands for when it has no profile.</summary>
        string ProjectDirectoryFor(string name);

        /// <summary>A task's record, or null.</summary>
        ClaudeTask LoadTask(string taskId);

        IReadOnlyList<ClaudeTask> AllTasks();

        /// <summary>Where the records are, for the words of a refusal.</summary>
        string TasksRoot { get; }

        string GetEnvironmentVariable(string name);

        /// <summary>Refuses an engine name that names nothing (no context, no endpoint), without contacting any engine.</summary>
        void CheckEngine(string engine);
    }

    /// <summary>The machine itself: the profiles directory, the task store, the process environment, the docker contexts.</summary>
    internal sealed class MachinePlanSources : IPlanSources
    {
        public static readonly MachinePlanSources Instance = new MachinePlanSources();

        public ClaudeProject FindProfile(string name, string currentDirectory, Action<string> note)
        {
            var file = ProjectProfiles.FindFile(name);
            if (file == null)
            {
                return null;
            }

            note($"Project '{name}': profile {file}.");
            return ProjectProfiles.Load(file, currentDirectory, note);
        }

        public string ProjectDirectoryFor(string name) => ProjectLocator.PathForName(name);

        public ClaudeTask LoadTask(string taskId) => TaskStore.Load(taskId);

        public IReadOnlyList<ClaudeTask> AllTasks() => TaskStore.All().ToList();

        public string TasksRoot => TaskStore.Root;

        public string GetEnvironmentVariable(string name) => Environment.GetEnvironmentVariable(name);

        public void CheckEngine(string engine) => DockerConnection.For(engine);
    }
}
