using System;
using System.IO;
using System.Management.Automation;
using System.Net.Http;
using System.Net.Sockets;
using Docker.DotNet;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Endpoints
{
    /// <summary>The engine's failures in the module's words: unreachable, refused, TLS, permission.</summary>
    internal sealed partial class DockerConnection
    {
        /// <summary>Turns a transport failure into the error users see; API errors pass through.</summary>
        public Exception Translate(Exception e)
        {
            // The TCP transport reports a refused connection wrapped once more.
            if (e is AggregateException aggregate && aggregate.InnerExceptions.Count == 1)
            {
                e = aggregate.InnerExceptions[0];
            }

            if (e is DockerApiException api && api.StatusCode == System.Net.HttpStatusCode.BadRequest &&
                (api.ResponseBody ?? string.Empty).IndexOf("HTTP request to an HTTPS server", StringComparison.OrdinalIgnoreCase) >= 0)
            {
                _reached = false;
                return new OrchestratorException(ErrorIds.EngineUnreachable, ErrorCategory.ConnectionError,
                    $"Cannot reach the Docker engine at {Endpoint}: it takes TLS only. Set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the directory with ca.pem, cert.pem and key.pem.",
                    Endpoint, e);
            }

            if (e is OrchestratorException || e is DockerApiException || e is OperationCanceledException)
            {
                return e;
            }

            var socket = FindSocketException(e);
            if (socket != null && socket.SocketErrorCode == SocketError.AccessDenied)
            {
                _reached = false;
                return new OrchestratorException(ErrorIds.EnginePermissionDenied, ErrorCategory.PermissionDenied,
                    $"Permission denied connecting to the Docker engine at {Endpoint}. " +
                    "Add your user to the 'docker' group (then log in again) or point DOCKER_HOST at an engine you may use.",
                    Endpoint, e);
            }

            var tls = Inner<System.Security.Authentication.AuthenticationException>(e);
            if (tls != null)
            {
                // The TLS handshake failed: say why (the certificate's chain, its name, a missing client certificate).
                _reached = false;
                return new OrchestratorException(ErrorIds.EngineUnreachable, ErrorCategory.ConnectionError,
                    $"Cannot reach the Docker engine at {Endpoint}: the TLS handshake failed ({tls.GetBaseException().Message}). " +
                    "Check DOCKER_TLS_VERIFY and DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) against the engine's certificates.",
                    Endpoint, e);
            }

            if (e is HttpRequestException || e is IOException || e is SocketException || e is TimeoutException)
            {
                _reached = false;
                return Unreachable(DescribeReason(e, socket), e);
            }

            return e;
        }

        private static T Inner<T>(Exception e) where T : Exception
        {
            for (; e != null; e = e.InnerException)
            {
                if (e is T found)
                {
                    return found;
                }
            }

            return null;
        }

        private OrchestratorException Unreachable(string reason, Exception inner) =>
            new OrchestratorException(ErrorIds.EngineUnreachable, ErrorCategory.ConnectionError,
                $"Cannot reach the Docker engine at {Endpoint}: {reason}. Is the Docker daemon running?",
                Endpoint, inner);

        private string DescribeReason(Exception e, SocketException socket)
        {
            if (Endpoint.StartsWith("unix://", StringComparison.OrdinalIgnoreCase))
            {
                var path = new Uri(Endpoint).LocalPath;
                if (!File.Exists(path))
                {
                    return "the socket " + path + " does not exist";
                }
            }

            return socket != null ? socket.Message : e.Message;
        }

        private static SocketException FindSocketException(Exception e)
        {
            for (var current = e; current != null; current = current.InnerException)
            {
                if (current is SocketException socket)
                {
                    return socket;
                }
            }

            return null;
        }
    }
}
