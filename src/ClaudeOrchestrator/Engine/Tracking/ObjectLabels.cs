using System.Collections.Generic;
using System.Globalization;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;
using ClaudeOrchestrator.Engine.Records;

namespace ClaudeOrchestrator.Engine.Tracking
{
    /// <summary>What every one of the module's objects says in its labels (project, task, owner).</summary>
    internal static class ObjectLabels
    {
        /// <summary>A listed object's labels as a <see cref="ClaudeContainer"/>, on the engine it was listed on.</summary>
        public static ClaudeContainer Read(IDictionary<string, string> labels, DockerConnection connection) => new ClaudeContainer
        {
            Engine = connection.Endpoint,
            Project = Label(labels, ContainerLabels.Project),
            ProjectPath = Label(labels, ContainerLabels.ProjectPath),
            TaskId = Label(labels, ContainerLabels.TaskId),
            Role = Label(labels, ContainerLabels.Role),
            SessionId = Label(labels, ContainerLabels.SessionId),
            OwnerPid = int.TryParse(Label(labels, ContainerLabels.OwnerPid), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid) ? pid : (int?)null,
            OwnerHost = Label(labels, ContainerLabels.OwnerHost),
            OwnerStartTime = OwnerLiveness.ParseStart(Label(labels, ContainerLabels.OwnerStart)),
        };

        public static string Label(IDictionary<string, string> labels, string key) =>
            labels != null && labels.TryGetValue(key, out var value) ? value : null;

        /// <summary>A volume or config goes with its task: tracked while that task runs in this session.</summary>
        public static bool IsOfActiveTask(ClaudeContainer item) =>
            item.SessionId == SessionIdentity.SessionId && item.TaskId != null && ActiveTasks.IsActive(item.TaskId);
    }
}
