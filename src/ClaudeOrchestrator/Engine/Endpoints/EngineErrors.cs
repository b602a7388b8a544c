using System;
using System.Management.Automation;
using Docker.DotNet;
using Docker.DotNet.Models;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Endpoints
{
    /// <summary>What an engine's refusals mean, in the words a user can act on.</summary>
    internal static class EngineErrors
    {
        internal static string ApiMessage(DockerApiException e)
        {
            var body = e.ResponseBody;
            if (string.IsNullOrWhiteSpace(body))
            {
                return e.StatusCode.ToString();
            }

            try
            {
                using (var doc = System.Text.Json.JsonDocument.Parse(body))
                {
                    if (doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object &&
                        doc.RootElement.TryGetProperty("message", out var message))
                    {
                        return message.GetString();
                    }
                }
            }
            catch (System.Text.Json.JsonException)
            {
            }

            return body.Trim();
        }

        /// <summary>A create refused because the image is not there (not a missing volume or network).</summary>
        internal static bool IsImageMissing(DockerImageNotFoundException e) => ApiMessage(e).IndexOf("image", StringComparison.OrdinalIgnoreCase) >= 0;

        internal static OrchestratorException ImageMissing(string image, DockerConnection connection) =>
            new OrchestratorException(ErrorIds.ImageNotFound, ErrorCategory.ObjectNotFound,
                $"The image '{image}' is not present on the Docker engine at {connection.Endpoint}. " +
                "Build it from the module's docker/ folder (docker build -t claude-orchestrator-agent docker/), " +
                "or name an existing image with -Image or $env:CLAUDE_ORCHESTRATOR_IMAGE.",
                image);

        /// <summary>Podman: "container-init binary not found on the host"; Docker: "exec: \"docker-init\": executable file not found".</summary>
        internal static bool InitMissing(string reason) =>
            reason != null &&
            (reason.IndexOf("container-init binary not found", StringComparison.OrdinalIgnoreCase) >= 0 ||
             reason.IndexOf("docker-init", StringComparison.OrdinalIgnoreCase) >= 0 && reason.IndexOf("not found", StringComparison.OrdinalIgnoreCase) >= 0);

        /// <summary>What to install when <see cref="InitMissing"/>: for the engine's kind, or for both when it is not known.</summary>
        internal static string InitMissingFix(EngineKind? kind)
        {
            const string podman = "catatonit on the engine's host (apt install catatonit, dnf install catatonit) or set init_path in containers.conf";
            const string docker = "docker-init (it ships with the docker package) or set init-path in daemon.json";
            switch (kind)
            {
                case EngineKind.Podman:
                    return "Install " + podman + ".";
                case EngineKind.Docker:
                    return "Install " + docker + ".";
                default:
                    return "Podman: install " + podman + "; Docker: install " + docker + ".";
            }
        }

        /// <summary>
        /// The one start failure the image's author can fix: no shell for the watcher. Any other
        /// reason (a missing network, a device, a runtime error) is the engine's own to explain.
        /// </summary>
        internal static string StartHint(string reason) =>
            reason != null && reason.IndexOf(ContainerPaths.Shell, StringComparison.Ordinal) >= 0 &&
            (reason.IndexOf("no such file", StringComparison.OrdinalIgnoreCase) >= 0 ||
             reason.IndexOf("not found", StringComparison.OrdinalIgnoreCase) >= 0)
                ? $" ({ContainerPaths.ShellNeeded})"
                : string.Empty;
    }
}
