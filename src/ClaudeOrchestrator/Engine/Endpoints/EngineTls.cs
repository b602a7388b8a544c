using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Net.Http;
using System.Net.Security;
using System.Reflection;
using System.Security.Cryptography.X509Certificates;
using Docker.DotNet.Handler.Abstractions;
using Microsoft.Net.Http.Client;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Endpoints
{
    /// <summary>
    /// TLS to an engine reached over TCP, configured as the docker CLI reads it: DOCKER_TLS_VERIFY
    /// (any value: TLS, and the engine's certificate must be signed by ca.pem and name the host),
    /// DOCKER_TLS (TLS without checking the engine), DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem;
    /// default ~/.docker). The client certificate is this machine's key to the engine: it is
    /// read here and never written anywhere.
    /// </summary>
    internal sealed class EngineTls : IAuthProvider
    {
        private readonly X509Certificate2 _client;
        private readonly X509Certificate2 _authority;
        private readonly bool _verify;

        private EngineTls(X509Certificate2 client, X509Certificate2 authority, bool verify)
        {
            _client = client;
            _authority = authority;
            _verify = verify;
        }

        public bool TlsEnabled => true;

        /// <summary>The TLS settings the environment asks for; null when it asks for none.</summary>
        public static EngineTls FromEnvironment()
        {
            var verify = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOCKER_TLS_VERIFY"));
            var tls = verify || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOCKER_TLS"));
            if (!tls)
            {
                return null;
            }

            var directory = Environment.GetEnvironmentVariable("DOCKER_CERT_PATH");
            if (string.IsNullOrEmpty(directory))
            {
                directory = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".docker");
            }

            return Load(directory, verify);
        }

        /// <summary>What tells one TLS configuration of an endpoint from another ("" without TLS), for the connection cache.</summary>
        public static string Identity(Uri endpoint)
        {
            if (endpoint == null || !(endpoint.Scheme == "tcp" || endpoint.Scheme == "https" || endpoint.Scheme == "http"))
            {
                return string.Empty;
            }

            var verify = Environment.GetEnvironmentVariable("DOCKER_TLS_VERIFY");
            var tls = Environment.GetEnvironmentVariable("DOCKER_TLS");
            return string.IsNullOrEmpty(verify) && string.IsNullOrEmpty(tls)
                ? string.Empty
                : "|tls:" + (string.IsNullOrEmpty(verify) ? "unverified" : "verified") + ":" + Environment.GetEnvironmentVariable("DOCKER_CERT_PATH");
        }

        internal static EngineTls Load(string directory, bool verify)
        {
            var ca = Path.Combine(directory, "ca.pem");
            var cert = Path.Combine(directory, "cert.pem");
            var key = Path.Combine(directory, "key.pem");
            try
            {
                var authority = verify ? new X509Certificate2(PemBody(File.ReadAllText(ca), "CERTIFICATE")) : null;
                var client = File.Exists(cert) && File.Exists(key) ? ClientCertificate(cert, key) : null;
                return new EngineTls(client, authority, verify);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is FormatException ||
                                      e is System.Security.Cryptography.CryptographicException || e is TargetInvocationException)
            {
                throw new OrchestratorException(ErrorIds.EngineNotFound, ErrorCategory.SecurityError,
                    $"The TLS files in {directory} (DOCKER_CERT_PATH: ca.pem, cert.pem, key.pem) cannot be used: {(e is TargetInvocationException t ? t.InnerException?.Message : e.Message)}",
                    directory, e);
            }
        }

        /// <summary>
        /// cert.pem with key.pem. PowerShell 7 (.NET 5 and later) reads PEM keys; Windows
        /// PowerShell's .NET Framework has no reader for them, which is said plainly.
        /// </summary>
        private static X509Certificate2 ClientCertificate(string cert, string key)
        {
            var fromPem = typeof(X509Certificate2).GetMethod("CreateFromPemFile", BindingFlags.Public | BindingFlags.Static, null, new[] { typeof(string), typeof(string) }, null);
            if (fromPem == null)
            {
                throw new IOException("this PowerShell cannot read PEM keys; use PowerShell 7 for an engine that wants a client certificate");
            }

            var ephemeral = (X509Certificate2)fromPem.Invoke(null, new object[] { cert, key });
            // An ephemeral key cannot sign a TLS handshake on Windows; a PKCS#12 round trip makes it a real one.
            return new X509Certificate2(ephemeral.Export(X509ContentType.Pkcs12));
        }

        private static byte[] PemBody(string pem, string label)
        {
            var begin = "-----BEGIN " + label + "-----";
            var start = pem.IndexOf(begin, StringComparison.Ordinal);
            var end = pem.IndexOf("-----END " + label + "-----", StringComparison.Ordinal);
            if (start < 0 || end < start)
            {
                throw new FormatException("no " + label + " in the PEM file");
            }

            return Convert.FromBase64String(new string(pem.Substring(start + begin.Length, end - start - begin.Length).Where(c => !char.IsWhiteSpace(c)).ToArray()));
        }

        public HttpMessageHandler ConfigureHandler(HttpMessageHandler handler)
        {
            switch (handler)
            {
                case ManagedHandler managed:
                    if (_client != null)
                    {
                        managed.ClientCertificates = new X509CertificateCollection { _client };
                    }

                    managed.ServerCertificateValidationCallback = Validate;
                    break;
                case HttpClientHandler client:
                    if (_client != null)
                    {
                        client.ClientCertificateOptions = ClientCertificateOption.Manual;
                        client.ClientCertificates.Add(_client);
                    }

                    client.ServerCertificateCustomValidationCallback = (request, certificate, chain, errors) => Validate(request, certificate, chain, errors);
                    break;
                default:
                    // SocketsHttpHandler (the native transport, .NET 6 and later), by name: netstandard2.0 has no SslOptions type.
                    var options = handler.GetType().GetProperty("SslOptions")?.GetValue(handler);
                    if (options != null)
                    {
                        if (_client != null)
                        {
                            options.GetType().GetProperty("ClientCertificates")?.SetValue(options, new X509CertificateCollection { _client });
                        }

                        options.GetType().GetProperty("RemoteCertificateValidationCallback")?.SetValue(options, new RemoteCertificateValidationCallback(Validate));
                    }

                    break;
            }

            return handler;
        }

        /// <summary>The engine's certificate names the host and chains to ca.pem (DOCKER_TLS_VERIFY), or anything (DOCKER_TLS).</summary>
        private bool Validate(object sender, X509Certificate certificate, X509Chain chain, SslPolicyErrors errors)
        {
            if (!_verify)
            {
                return true;
            }

            if (certificate == null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
            {
                return false;
            }

            using (var own = new X509Chain())
            {
                own.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                own.ChainPolicy.VerificationFlags = X509VerificationFlags.AllowUnknownCertificateAuthority;
                own.ChainPolicy.ExtraStore.Add(_authority);
                if (!own.Build(new X509Certificate2(certificate)))
                {
                    return false;
                }

                var root = own.ChainElements[own.ChainElements.Count - 1].Certificate;
                return root.RawData.SequenceEqual(_authority.RawData);
            }
        }
    }
}
