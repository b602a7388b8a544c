using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Sockets;

namespace ClaudeOrchestrator.Engine.Egress
{
    /// <summary>
    /// One entry of a task's allow-list (-AllowHost, a profile's docker.allow_hosts): an exact
    /// host name, a "*." wildcard over the names below a domain, or one single address, with an
    /// optional port (without one: 443 and 80). The module checks entries before anything
    /// exists; the egress gateway, which compiles this same file, matches connections with it.
    /// </summary>
    internal sealed class AllowedHost
    {
        public static readonly IReadOnlyList<int> DefaultPorts = new[] { 443, 80 };

        private AllowedHost(string name, bool wildcard, IPAddress address, int? port)
        {
            Name = name;
            Wildcard = wildcard;
            Address = address;
            Port = port;
        }

        /// <summary>The host name in lower case (for a wildcard, the domain after "*."); null for an address.</summary>
        public string Name { get; }

        public bool Wildcard { get; }

        /// <summary>The single address the entry names; null for a name.</summary>
        public IPAddress Address { get; }

        /// <summary>The one port allowed; null for the default ports.</summary>
        public int? Port { get; }

        /// <summary>Parses an entry, or says in <paramref name="problem"/> why it is not one.</summary>
        public static bool TryParse(string text, out AllowedHost entry, out string problem)
        {
            entry = null;
            problem = null;
            var value = (text ?? string.Empty).Trim();
            if (value.Length == 0)
            {
                problem = "it is empty";
                return false;
            }

            if (value.IndexOf("://", StringComparison.Ordinal) >= 0)
            {
                problem = "it has a scheme; give the host name alone, e.g. github.com";
                return false;
            }

            if (value.IndexOf('/') >= 0)
            {
                problem = "it has a path or an address range; give one host name or one address";
                return false;
            }

            if (value.Any(c => char.IsWhiteSpace(c) || c == '@' || c == '?' || c == '#' || c == ',' || c == ';'))
            {
                problem = "it holds characters no host name has";
                return false;
            }

            var host = value;
            int? port = null;
            if (value.StartsWith("[", StringComparison.Ordinal))
            {
                // [v6-address] or [v6-address]:port
                var close = value.IndexOf(']');
                if (close < 0)
                {
                    problem = "its [address] is not closed";
                    return false;
                }

                host = value.Substring(1, close - 1);
                var rest = value.Substring(close + 1);
                if (rest.Length > 0)
                {
                    if (!rest.StartsWith(":", StringComparison.Ordinal) || !TryPort(rest.Substring(1), out var p))
                    {
                        problem = "its port is not a number from 1 to 65535";
                        return false;
                    }

                    port = p;
                }
            }
            else if (value.Count(c => c == ':') == 1)
            {
                var colon = value.IndexOf(':');
                host = value.Substring(0, colon);
                if (!TryPort(value.Substring(colon + 1), out var p))
                {
                    problem = "its port is not a number from 1 to 65535";
                    return false;
                }

                port = p;
            }

            if (LooksLikeAddress(host))
            {
                if (!IPAddress.TryParse(host, out var address) || (address.AddressFamily == AddressFamily.InterNetwork && host.Count(c => c == '.') != 3))
                {
                    problem = "it is not a valid address";
                    return false;
                }

                var never = AddressRules.NeverAllowed(address);
                if (never != null)
                {
                    problem = never;
                    return false;
                }

                entry = new AllowedHost(null, false, address, port);
                return true;
            }

            var wildcard = false;
            var name = host.ToLowerInvariant().TrimEnd('.');
            if (name.StartsWith("*.", StringComparison.Ordinal))
            {
                wildcard = true;
                name = name.Substring(2);
            }

            if (name.IndexOf('*') >= 0 || name.Length == 0)
            {
                problem = "a wildcard is allowed only as a leading '*.' before a domain, e.g. *.npmjs.org";
                return false;
            }

            var labels = name.Split('.');
            if (name.Length > 253 || labels.Any(l => l.Length == 0 || l.Length > 63 || l.StartsWith("-", StringComparison.Ordinal) || l.EndsWith("-", StringComparison.Ordinal) ||
                                                     l.Any(c => !(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '-' && c != '_')))
            {
                problem = "it is not a valid host name";
                return false;
            }

            if (wildcard && labels.Length < 2)
            {
                problem = $"'*.{name}' would allow a whole top-level domain; name the domain below it, e.g. *.example.{name}";
                return false;
            }

            entry = new AllowedHost(name, wildcard, null, port);
            return true;
        }

        /// <summary>Parses an entry or throws a <see cref="FormatException"/> that says why not.</summary>
        public static AllowedHost Parse(string text)
        {
            if (!TryParse(text, out var entry, out var problem))
            {
                throw new FormatException($"'{text}' is not an allowed-host entry: {problem}.");
            }

            return entry;
        }

        /// <summary>Whether a connection to <paramref name="host"/> (a name or an address literal) on <paramref name="port"/> is what this entry allows.</summary>
        public bool Matches(string host, int port)
        {
            if (Port.HasValue ? Port.Value != port : !DefaultPorts.Contains(port))
            {
                return false;
            }

            var target = (host ?? string.Empty).Trim().TrimStart('[').TrimEnd(']').ToLowerInvariant().TrimEnd('.');
            if (Address != null)
            {
                return IPAddress.TryParse(target, out var address) && AddressRules.Same(address, Address);
            }

            return Wildcard
                ? target.EndsWith("." + Name, StringComparison.Ordinal)
                : string.Equals(target, Name, StringComparison.Ordinal);
        }

        /// <summary>The canonical text: what the gateway is given and what records show.</summary>
        public override string ToString()
        {
            var host = Address != null
                ? (Address.AddressFamily == AddressFamily.InterNetworkV6 ? "[" + Address + "]" : Address.ToString())
                : (Wildcard ? "*." : string.Empty) + Name;
            return Port.HasValue ? host + ":" + Port.Value.ToString(CultureInfo.InvariantCulture) : host;
        }

        private static bool LooksLikeAddress(string host) =>
            host.IndexOf(':') >= 0 || (host.Length > 0 && host.All(c => (c >= '0' && c <= '9') || c == '.'));

        private static bool TryPort(string text, out int port) =>
            int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port >= 1 && port <= 65535;
    }

    /// <summary>
    /// Which addresses a connection may reach when an allowed name resolves to them. A name is
    /// never followed into the gateway itself, the engine's host, a private network or a
    /// cloud's metadata service: a name anyone can point anywhere must not open those.
    /// </summary>
    internal static class AddressRules
    {
        /// <summary>Why an address is never allowed, even named on its own (loopback, link-local, unspecified, multicast); null when it may be.</summary>
        public static string NeverAllowed(IPAddress address)
        {
            address = Unmapped(address);
            if (IPAddress.IsLoopback(address))
            {
                return "it is a loopback address (the gateway itself)";
            }

            var bytes = address.GetAddressBytes();
            if (address.AddressFamily == AddressFamily.InterNetwork)
            {
                if (bytes[0] == 169 && bytes[1] == 254)
                {
                    return "it is a link-local address (where cloud metadata services answer)";
                }

                if (bytes[0] == 0 || bytes[0] >= 224)
                {
                    return "it is not a unicast address";
                }
            }
            else
            {
                if (address.IsIPv6LinkLocal)
                {
                    return "it is a link-local address";
                }

                if (address.Equals(IPAddress.IPv6None) || address.IsIPv6Multicast)
                {
                    return "it is not a unicast address";
                }
            }

            return null;
        }

        /// <summary>Why a name may not lead to this address (everything never allowed, and private, shared and unique-local networks); null when it may.</summary>
        public static string RefusedForName(IPAddress address)
        {
            var never = NeverAllowed(address);
            if (never != null)
            {
                return never;
            }

            address = Unmapped(address);
            var b = address.GetAddressBytes();
            if (address.AddressFamily == AddressFamily.InterNetwork)
            {
                if (b[0] == 10 || (b[0] == 172 && b[1] >= 16 && b[1] <= 31) || (b[0] == 192 && b[1] == 168))
                {
                    return "it is a private address";
                }

                if (b[0] == 100 && b[1] >= 64 && b[1] <= 127)
                {
                    return "it is a shared (carrier-grade NAT) address";
                }
            }
            else if ((b[0] & 0xfe) == 0xfc || address.IsIPv6SiteLocal)
            {
                return "it is a private (unique-local) address";
            }

            return null;
        }

        public static bool Same(IPAddress left, IPAddress right) => Unmapped(left).Equals(Unmapped(right));

        private static IPAddress Unmapped(IPAddress address) =>
            address.AddressFamily == AddressFamily.InterNetworkV6 && address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }
}
