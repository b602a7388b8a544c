using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using ClaudeOrchestrator.Engine.Egress;

namespace ClaudeOrchestrator.Gateway
{
    /// <summary>One task the gateway serves: its address on the session's network, its token, what it may reach.</summary>
    internal sealed class Admission
    {
        public string TaskId { get; set; }

        public IPAddress Address { get; set; }

        public byte[] Token { get; set; }

        public IReadOnlyList<AllowedHost> Allowed { get; set; }

        /// <summary>What the model API route puts on the task's requests; null when its session had none.</summary>
        public Credential Credential { get; set; }

        public bool Ended { get; set; }
    }

    /// <summary>The caller's credential for the model API, as a header, and where the API is.</summary>
    internal sealed class Credential
    {
        public string Header { get; set; }

        public string Value { get; set; }

        public Uri Upstream { get; set; }

        /// <summary>From an admission's fields; null when there is no credential.</summary>
        public static Credential From(string header, string value, string upstream)
        {
            if (string.IsNullOrEmpty(header) || string.IsNullOrEmpty(value))
            {
                return null;
            }

            var uri = new Uri(upstream);
            if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            {
                throw new ArgumentException("the model API's URL must be http or https");
            }

            return new Credential { Header = header, Value = value, Upstream = uri };
        }
    }

    /// <summary>
    /// The tasks admitted and ended. A task is known by the address it connects from (the
    /// engine gives each container its own, and the agent has no capability to forge one) and,
    /// on the model API route, by its token too; an ended task's token is refused as such.
    /// </summary>
    internal sealed class Admissions
    {
        private readonly object gate = new object();
        private readonly Dictionary<string, Admission> byTask = new Dictionary<string, Admission>(StringComparer.Ordinal);
        private readonly List<IPAddress> engineHost = new List<IPAddress>();

        public void Admit(string taskId, IPAddress address, string token, string allowList, Credential credential)
        {
            var allowed = allowList.Split(new[] { ',' }, StringSplitOptions.RemoveEmptyEntries).Select(AllowedHost.Parse).ToList();
            lock (gate)
            {
                // An address is one live task's: a container that ended gave it back to the engine.
                foreach (var other in byTask.Values.Where(a => !a.Ended && a.Address.Equals(address)))
                {
                    other.Ended = true;
                }

                byTask[taskId] = new Admission { TaskId = taskId, Address = address, Token = Encoding.UTF8.GetBytes(token), Allowed = allowed, Credential = credential };
            }
        }

        public void End(string taskId)
        {
            lock (gate)
            {
                if (byTask.TryGetValue(taskId, out var admission))
                {
                    admission.Ended = true;
                }
            }
        }

        public void DenyAddress(IPAddress address)
        {
            lock (gate)
            {
                engineHost.Add(address);
            }
        }

        public bool IsEngineHost(IPAddress address)
        {
            lock (gate)
            {
                return engineHost.Any(a => AddressRules.Same(a, address));
            }
        }

        /// <summary>The live task connecting from <paramref name="address"/>, or null.</summary>
        public Admission ByAddress(IPAddress address)
        {
            lock (gate)
            {
                return byTask.Values.FirstOrDefault(a => !a.Ended && AddressRules.Same(a.Address, address));
            }
        }

        /// <summary>The task whose token this is, live or ended, or null; every token is compared in full, in constant time.</summary>
        public Admission ByToken(string token)
        {
            if (string.IsNullOrEmpty(token))
            {
                return null;
            }

            var given = Encoding.UTF8.GetBytes(token);
            Admission found = null;
            lock (gate)
            {
                foreach (var admission in byTask.Values)
                {
                    if (admission.Token.Length == given.Length && CryptographicOperations.FixedTimeEquals(admission.Token, given))
                    {
                        found = admission;
                    }
                }
            }

            return found;
        }
    }
}
