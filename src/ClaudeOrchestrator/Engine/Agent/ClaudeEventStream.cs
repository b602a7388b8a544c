using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Agent
{
    /// <summary>
    /// Reads Claude Code's <c>--output-format stream-json --verbose</c> output, one JSON event per
    /// line, into readable lines for the console and into <see cref="AgentActivity"/>. The fields
    /// relied on (README, "What the module reads from the agent"):
    ///   system/init     session_id, model, claude_code_version
    ///   system/api_retry  error_status, error, attempt, max_retries, retry_delay_ms
    ///   assistant       message.id, message.model, message.usage, message.content[] (text, tool_use name/input), error
    ///   user            message.content[] tool_result is_error/content
    ///   result          subtype, is_error, num_turns, total_cost_usd, usage, result, errors[],
    ///                   api_error_status, api_error_type, session_id, modelUsage
    /// A line that is not such an event (another agent, a log line) is passed through as it is.
    /// </summary>
    internal sealed class ClaudeEventStream
    {
        private const string Workspace = ContainerPaths.Workspace + "/";
        private const int MaxToolDetail = 120;

        public ClaudeEventStream(AgentActivity activity)
        {
            Activity = activity;
        }

        public AgentActivity Activity { get; }

        /// <summary>The lines to show for <paramref name="line"/>; null when it is not an event (show it as it is).</summary>
        public IReadOnlyList<string> Render(string line)
        {
            if (string.IsNullOrEmpty(line) || line[0] != '{')
            {
                return null;
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line);
            }
            catch (JsonException)
            {
                return null;
            }

            using (document)
            {
                var root = document.RootElement;
                var type = String(root, "type");
                if (root.ValueKind != JsonValueKind.Object || type == null)
                {
                    return null;
                }

                var lines = new List<string>();
                switch (type)
                {
                    case "system":
                        System(root, lines);
                        break;
                    case "assistant":
                        Assistant(root, lines);
                        break;
                    case "user":
                        User(root, lines);
                        break;
                    case "result":
                        Result(root, lines);
                        break;
                    default:
                        // stream_event, rate_limit_event, hooks...: the transcript has them.
                        Activity.Saw(String(root, "session_id"));
                        break;
                }

                return lines;
            }
        }

        private void System(JsonElement root, List<string> lines)
        {
            var subtype = String(root, "subtype");
            if (subtype == "init")
            {
                var session = String(root, "session_id");
                var model = String(root, "model");
                var version = String(root, "claude_code_version");
                Activity.Started(session, model);
                lines.Add($"Claude Code {version ?? "?"} · {model ?? "default model"} · session {session}");
            }
            else if (subtype == "api_retry")
            {
                Activity.Saw(String(root, "session_id"));
                lines.Add(string.Format(CultureInfo.InvariantCulture, "API error {0} ({1}): retry {2} of {3} in {4:0.#} s",
                    Number(root, "error_status")?.ToString(CultureInfo.InvariantCulture) ?? "?", String(root, "error") ?? "unknown",
                    Number(root, "attempt"), Number(root, "max_retries"), (Number(root, "retry_delay_ms") ?? 0) / 1000.0));
            }
            else
            {
                Activity.Saw(String(root, "session_id"));
            }
        }

        private void Assistant(JsonElement root, List<string> lines)
        {
            Activity.Saw(String(root, "session_id"));
            if (!root.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            string tool = null;
            if (message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array)
            {
                foreach (var block in content.EnumerateArray())
                {
                    var blockType = String(block, "type");
                    if (blockType == "text")
                    {
                        lines.AddRange(SplitLines(String(block, "text")));
                    }
                    else if (blockType == "tool_use")
                    {
                        var name = String(block, "name") ?? "tool";
                        var detail = block.TryGetProperty("input", out var input) ? ToolDetail(name, input) : null;
                        var edited = EditedFile(name, input);
                        if (edited != null)
                        {
                            Activity.Edited(edited);
                        }

                        tool = detail == null ? name : name + " " + detail;
                        lines.Add("-> " + name + (detail == null ? string.Empty : (name == "Bash" ? ": " : " ") + detail));
                    }
                }
            }

            var error = String(root, "error");
            if (error != null && root.TryGetProperty("is_api_error_message", out var apiError) && apiError.ValueKind == JsonValueKind.True)
            {
                Activity.Error(KindOf(Number(root, "api_error_status"), String(root, "api_error_type"), error, null), FirstText(content));
            }

            Activity.AssistantMessage(String(message, "id"), String(message, "model"), UsageOf(message), tool);
        }

        private void User(JsonElement root, List<string> lines)
        {
            Activity.Saw(String(root, "session_id"));
            if (!root.TryGetProperty("message", out var message) || !message.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array)
            {
                return;
            }

            foreach (var block in content.EnumerateArray())
            {
                if (String(block, "type") != "tool_result")
                {
                    continue;
                }

                Activity.ToolFinished();
                if (block.TryGetProperty("is_error", out var isError) && isError.ValueKind == JsonValueKind.True)
                {
                    var text = block.TryGetProperty("content", out var result) ? TextOf(result) : null;
                    lines.Add("   tool error: " + Shorten(SplitLines(text).FirstOrDefault() ?? "(no message)", 300));
                }
            }
        }

        private void Result(JsonElement root, List<string> lines)
        {
            var subtype = String(root, "subtype");
            var isError = root.TryGetProperty("is_error", out var flag) && flag.ValueKind == JsonValueKind.True;
            var turns = (int?)Number(root, "num_turns");
            var cost = Double(root, "total_cost_usd");
            var usage = root.TryGetProperty("usage", out var u) ? UsageFrom(u) : null;
            var text = String(root, "result");
            string model = null;
            if (root.TryGetProperty("modelUsage", out var models) && models.ValueKind == JsonValueKind.Object)
            {
                model = models.EnumerateObject().Select(p => p.Name).FirstOrDefault();
            }

            Activity.Result(String(root, "session_id"), turns, cost, usage, text, model);
            if (isError || (subtype != null && subtype.StartsWith("error", StringComparison.Ordinal)))
            {
                var errors = root.TryGetProperty("errors", out var list) && list.ValueKind == JsonValueKind.Array
                    ? string.Join("; ", list.EnumerateArray().Select(TextOf).Where(e => !string.IsNullOrEmpty(e)))
                    : null;
                var why = !string.IsNullOrEmpty(errors) ? errors : text ?? subtype;
                Activity.Error(KindOf(Number(root, "api_error_status"), String(root, "api_error_type"), null, subtype), why);
                lines.Add("Agent error: " + why);
            }
            else
            {
                Activity.ClearError();
            }

            var tokens = Activity.Tokens;
            lines.Add(string.Format(CultureInfo.InvariantCulture, "{0} turn(s), {1}, {2:N0} tokens in ({3:N0} cached), {4:N0} out",
                Activity.Turns, cost.HasValue ? "$" + cost.Value.ToString("0.0000", CultureInfo.InvariantCulture) : "cost unknown",
                tokens.Input + tokens.CacheRead + tokens.CacheCreation, tokens.CacheRead, tokens.Output));
        }

        /// <summary>Claude Code's words for an API failure, mapped to the module's kinds.</summary>
        internal static ClaudeAgentErrorKind KindOf(long? status, string apiType, string error, string subtype)
        {
            if (subtype == "error_max_turns")
            {
                return ClaudeAgentErrorKind.MaxTurnsReached;
            }

            if (subtype == "error_max_budget_usd")
            {
                return ClaudeAgentErrorKind.BudgetExceeded;
            }

            if (status == 401 || status == 403 || apiType == "authentication_error" || apiType == "permission_error" || error == "authentication_failed")
            {
                return ClaudeAgentErrorKind.AuthenticationFailed;
            }

            if (status == 429 || apiType == "rate_limit_error" || error == "rate_limit")
            {
                return ClaudeAgentErrorKind.RateLimited;
            }

            if (status == 529 || apiType == "overloaded_error" || error == "overloaded")
            {
                return ClaudeAgentErrorKind.Overloaded;
            }

            return ClaudeAgentErrorKind.Other;
        }

        /// <summary>The one argument that says what a tool call does, shortened and relative to the workspace.</summary>
        /// <summary>The file an editing tool writes, from its input; null for any other tool.</summary>
        internal static string EditedFile(string tool, JsonElement input)
        {
            if (input.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            switch (tool)
            {
                case "Write":
                case "Edit":
                case "MultiEdit":
                    return String(input, "file_path");
                case "NotebookEdit":
                    return String(input, "notebook_path");
                default:
                    return null;
            }
        }

        internal static string ToolDetail(string tool, JsonElement input)
        {
            if (input.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            string[] keys;
            switch (tool)
            {
                case "Bash":
                    keys = new[] { "command" };
                    break;
                case "Read":
                case "Write":
                case "Edit":
                case "MultiEdit":
                case "NotebookEdit":
                    keys = new[] { "file_path", "notebook_path", "path" };
                    break;
                case "Grep":
                case "Glob":
                    keys = new[] { "pattern" };
                    break;
                case "WebFetch":
                    keys = new[] { "url" };
                    break;
                case "WebSearch":
                    keys = new[] { "query" };
                    break;
                case "Task":
                    keys = new[] { "description", "prompt" };
                    break;
                default:
                    keys = new[] { "file_path", "path", "command", "description", "pattern", "url", "query" };
                    break;
            }

            foreach (var key in keys)
            {
                var value = String(input, key);
                if (!string.IsNullOrEmpty(value))
                {
                    if (value.StartsWith(Workspace, StringComparison.Ordinal))
                    {
                        value = value.Substring(Workspace.Length);
                    }

                    return Shorten(SplitLines(value).FirstOrDefault() ?? value, MaxToolDetail);
                }
            }

            return null;
        }

        private static AgentActivity.Usage UsageOf(JsonElement message) =>
            message.TryGetProperty("usage", out var usage) ? UsageFrom(usage) : null;

        private static AgentActivity.Usage UsageFrom(JsonElement usage)
        {
            if (usage.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            return new AgentActivity.Usage
            {
                Input = Number(usage, "input_tokens") ?? 0,
                Output = Number(usage, "output_tokens") ?? 0,
                CacheRead = Number(usage, "cache_read_input_tokens") ?? 0,
                CacheCreation = Number(usage, "cache_creation_input_tokens") ?? 0,
            };
        }

        private static string FirstText(JsonElement content)
        {
            if (content.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            return content.EnumerateArray().Where(b => String(b, "type") == "text").Select(b => String(b, "text")).FirstOrDefault();
        }

        /// <summary>A tool result's content: a string, or text blocks.</summary>
        private static string TextOf(JsonElement value)
        {
            switch (value.ValueKind)
            {
                case JsonValueKind.String:
                    return value.GetString();
                case JsonValueKind.Array:
                    return string.Join("\n", value.EnumerateArray().Select(b => b.ValueKind == JsonValueKind.String ? b.GetString() : String(b, "text")).Where(t => t != null));
                default:
                    return null;
            }
        }

        private static IEnumerable<string> SplitLines(string text) =>
            string.IsNullOrEmpty(text) ? Enumerable.Empty<string>() : text.TrimEnd('\n').Split('\n').Select(l => l.TrimEnd('\r'));

        private static string Shorten(string text, int max) => text.Length <= max ? text : text.Substring(0, max - 3) + "...";

        private static string String(JsonElement element, string name) =>
            element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
                ? value.GetString()
                : null;

        private static long? Number(JsonElement element, string name) =>
            element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number)
                ? number
                : (long?)null;

        private static double? Double(JsonElement element, string name) =>
            element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number
                ? value.GetDouble()
                : (double?)null;
    }
}
