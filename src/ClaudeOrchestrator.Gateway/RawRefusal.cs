using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.NetworkInformation;
using System.Runtime.InteropServices;
using System.Threading;
using ClaudeOrchestrator.Engine.Egress;

namespace ClaudeOrchestrator.Gateway
{
    /// <summary>
    /// The tasks' router, which routes nothing. On a network where the engine's host has no
    /// address, the tasks' default route points at an address nobody holds; the gateway answers
    /// for it, so every packet a task sends to an address of its own choosing (raw TCP, UDP,
    /// ICMP, past the proxy) arrives here, where the kernel drops it (forwarding is off) and
    /// this class records it and answers "administratively prohibited", so the attempt fails at
    /// once instead of hanging. Only the frames it needs reach this process: a socket filter
    /// keeps ARP and IPv4 not addressed to the gateway, and nothing it sends itself.
    /// </summary>
    internal sealed class RawRefusal
    {
        private const int AfPacket = 17;
        private const int SockRaw = 3;
        private const ushort EthPAll = 0x0003;
        private const int SolSocket = 1;
        private const int SoAttachFilter = 26;
        private const byte PacketOutgoing = 4;
        private const int SnapLength = 128;
        private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(2);

        private readonly Admissions admissions;
        private readonly Output output;
        private readonly Dictionary<string, DateTime> lastRecorded = new Dictionary<string, DateTime>(StringComparer.Ordinal);
        private IPAddress router;
        private byte[] routerBytes;
        private byte[] ownAddress;
        private byte[] ownMac;
        private int fd = -1;

        public RawRefusal(Admissions admissions, Output output)
        {
            this.admissions = admissions;
            this.output = output;
        }

        /// <summary>
        /// Answers for <paramref name="routerAddress"/> on the interface that holds <paramref name="address"/>;
        /// returns that interface's name, or throws with the reason it cannot.
        /// </summary>
        public string Start(IPAddress routerAddress, IPAddress address)
        {
            // A gateway that forwarded would be the tasks' way out: refuse to be their router unless it cannot.
            var forwarding = File.ReadAllText("/proc/sys/net/ipv4/ip_forward").Trim();
            if (forwarding != "0")
            {
                throw new InvalidOperationException("forwarding is on in the gateway's network namespace (net.ipv4.ip_forward=" + forwarding + ")");
            }

            var nic = NetworkInterface.GetAllNetworkInterfaces()
                .FirstOrDefault(n => n.GetIPProperties().UnicastAddresses.Any(u => u.Address.Equals(address)));
            if (nic == null)
            {
                throw new InvalidOperationException("no interface holds " + address);
            }

            router = routerAddress;
            routerBytes = routerAddress.GetAddressBytes();
            ownAddress = address.GetAddressBytes();
            ownMac = nic.GetPhysicalAddress().GetAddressBytes();
            var index = nic.GetIPProperties().GetIPv4Properties().Index;

            fd = Native.socket(AfPacket, SockRaw, Native.HostToNetwork(EthPAll));
            if (fd < 0)
            {
                throw new InvalidOperationException("no packet socket (errno " + Marshal.GetLastPInvokeError() + ")");
            }

            AttachFilter();
            var bind = new byte[20];
            BitConverter.GetBytes((ushort)AfPacket).CopyTo(bind, 0);
            BitConverter.GetBytes(Native.HostToNetwork(EthPAll)).CopyTo(bind, 2);
            BitConverter.GetBytes(index).CopyTo(bind, 4);
            if (Native.bind(fd, bind, bind.Length) != 0)
            {
                throw new InvalidOperationException("cannot bind the packet socket (errno " + Marshal.GetLastPInvokeError() + ")");
            }

            new Thread(Receive) { IsBackground = true, Name = "raw-refusal" }.Start();
            return nic.Name;
        }

        /// <summary>
        /// A classic BPF program: incoming ARP, and incoming IPv4 whose destination is not the
        /// gateway's own address (the proxy's, API's and name server's traffic never reaches user space).
        /// </summary>
        private void AttachFilter()
        {
            uint own = (uint)(ownAddress[0] << 24 | ownAddress[1] << 16 | ownAddress[2] << 8 | ownAddress[3]);
            var program = new[]
            {
                Op(0x20, 0, 0, 0xfffff004), // ld  pkttype (ancillary)
                Op(0x15, 7, 0, PacketOutgoing), // jeq outgoing -> drop
                Op(0x28, 0, 0, 12),         // ldh [12] ethertype
                Op(0x15, 4, 0, 0x0806),     // jeq ARP -> accept
                Op(0x15, 0, 4, 0x0800),     // jne IPv4 -> drop
                Op(0x20, 0, 0, 30),         // ld  [30] destination address
                Op(0x15, 2, 0, own),        // jeq own -> drop
                Op(0x05, 0, 0, 0),          // ja  accept
                Op(0x06, 0, 0, SnapLength), // accept: ret snap
                Op(0x06, 0, 0, 0),          // drop: ret 0
            };

            // A jump counts from the next instruction: index 8 accepts, index 9 drops.
            var code = program.SelectMany(b => b).ToArray();
            var handle = GCHandle.Alloc(code, GCHandleType.Pinned);
            try
            {
                var fprog = new byte[16];
                BitConverter.GetBytes((ushort)program.Length).CopyTo(fprog, 0);
                BitConverter.GetBytes(handle.AddrOfPinnedObject().ToInt64()).CopyTo(fprog, 8);
                if (Native.setsockopt(fd, SolSocket, SoAttachFilter, fprog, fprog.Length) != 0)
                {
                    throw new InvalidOperationException("cannot filter the packet socket (errno " + Marshal.GetLastPInvokeError() + ")");
                }
            }
            finally
            {
                handle.Free();
            }
        }

        private static byte[] Op(ushort code, byte jt, byte jf, uint k)
        {
            var op = new byte[8];
            BitConverter.GetBytes(code).CopyTo(op, 0);
            op[2] = jt;
            op[3] = jf;
            BitConverter.GetBytes(k).CopyTo(op, 4);
            return op;
        }

        private void Receive()
        {
            var frame = new byte[SnapLength + 64];
            while (true)
            {
                var length = Native.recv(fd, frame, frame.Length, 0);
                if (length < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == 4)
                    {
                        continue; // EINTR
                    }

                    output.Send(GatewayProtocol.Line(GatewayProtocol.Problem, "the packet socket failed (errno " + errno + ")"));
                    return;
                }

                try
                {
                    Handle(frame, (int)length);
                }
                catch (Exception)
                {
                    // One odd frame is its own.
                }
            }
        }

        private void Handle(byte[] frame, int length)
        {
            if (length < 42)
            {
                return;
            }

            var type = frame[12] << 8 | frame[13];
            if (type == 0x0806)
            {
                AnswerArp(frame);
            }
            else if (type == 0x0800 && (frame[14] >> 4) == 4)
            {
                Refuse(frame, length);
            }
        }

        /// <summary>"Who has the router's address?" from a task: this interface does.</summary>
        private void AnswerArp(byte[] frame)
        {
            // Ethernet, IPv4, a request, for the router's address.
            if (frame[14] != 0 || frame[15] != 1 || frame[16] != 8 || frame[17] != 0 || frame[20] != 0 || frame[21] != 1 ||
                !Same(frame, 38, routerBytes))
            {
                return;
            }

            var reply = new byte[42];
            Array.Copy(frame, 6, reply, 0, 6);      // to the asker
            ownMac.CopyTo(reply, 6);
            reply[12] = 0x08; reply[13] = 0x06;
            Array.Copy(frame, 14, reply, 14, 6);    // hardware and protocol types and sizes
            reply[20] = 0; reply[21] = 2;           // a reply
            ownMac.CopyTo(reply, 22);
            routerBytes.CopyTo(reply, 28);
            Array.Copy(frame, 22, reply, 32, 10);   // the asker's hardware and protocol addresses
            Native.send(fd, reply, reply.Length, 0);
        }

        /// <summary>A packet to an address a task chose: recorded (once per destination in a short while) and answered as prohibited.</summary>
        private void Refuse(byte[] frame, int length)
        {
            var header = (frame[14] & 0x0f) * 4;
            var protocol = frame[23];
            var source = new IPAddress(new[] { frame[26], frame[27], frame[28], frame[29] });
            var destination = new IPAddress(new[] { frame[30], frame[31], frame[32], frame[33] });
            if (!Same(frame, 0, ownMac) || frame[30] >= 224 || IPAddress.Broadcast.Equals(destination) || header < 20 || 14 + header > length)
            {
                return; // only what a task sent to its router; multicast and broadcast go nowhere anyway
            }

            var fragmentOffset = (frame[20] & 0x1f) << 8 | frame[21];
            string kind;
            var port = 0;
            var start = 14 + header;
            switch (protocol)
            {
                case 6:
                    // Only the opening of a connection: one record and one answer per attempt.
                    if (fragmentOffset != 0 || start + 14 > length || (frame[start + 13] & 0x12) != 0x02)
                    {
                        return;
                    }

                    kind = "tcp";
                    port = frame[start + 2] << 8 | frame[start + 3];
                    break;
                case 17:
                    if (fragmentOffset != 0 || start + 4 > length)
                    {
                        return;
                    }

                    kind = "udp";
                    port = frame[start + 2] << 8 | frame[start + 3];
                    break;
                case 1:
                    // Not an error about an error: only what a task starts (an echo request, say).
                    if (start + 1 > length || frame[start] == 3 || frame[start] == 11 || frame[start] == 0)
                    {
                        return;
                    }

                    kind = "icmp";
                    break;
                default:
                    kind = "ip" + protocol;
                    break;
            }

            Prohibit(frame, length, header);
            var admission = admissions.ByAddress(source);
            if (admission == null)
            {
                return;
            }

            var now = DateTime.UtcNow;
            var key = admission.TaskId + " " + kind + " " + destination + " " + port;
            lock (lastRecorded)
            {
                if (lastRecorded.TryGetValue(key, out var last) && now - last < Quiet)
                {
                    return;
                }

                lastRecorded[key] = now;
                if (lastRecorded.Count > 4096)
                {
                    foreach (var old in lastRecorded.Where(p => now - p.Value >= Quiet).Select(p => p.Key).ToList())
                    {
                        lastRecorded.Remove(old);
                    }
                }
            }

            output.Record(new ClaudeTaskConnection
            {
                TaskId = admission.TaskId,
                Time = now,
                Kind = kind,
                Host = destination.ToString(),
                Port = port,
                Allowed = false,
                Reason = $"a packet straight to an address ({(kind == "tcp" || kind == "udp" ? kind.ToUpperInvariant() : kind)}) is refused: the only way out is the proxy",
            });
        }

        /// <summary>ICMP "destination unreachable, communication administratively prohibited", from the router's address, back to the sender.</summary>
        private void Prohibit(byte[] frame, int length, int header)
        {
            var quoted = Math.Min(length - 14, header + 8);
            var reply = new byte[14 + 20 + 8 + quoted];
            Array.Copy(frame, 6, reply, 0, 6);
            ownMac.CopyTo(reply, 6);
            reply[12] = 0x08; reply[13] = 0x00;
            var ip = 14;
            reply[ip] = 0x45;
            var total = 20 + 8 + quoted;
            reply[ip + 2] = (byte)(total >> 8); reply[ip + 3] = (byte)total;
            reply[ip + 8] = 64;
            reply[ip + 9] = 1;
            routerBytes.CopyTo(reply, ip + 12);
            Array.Copy(frame, 26, reply, ip + 16, 4);
            var sum = Checksum(reply, ip, 20);
            reply[ip + 10] = (byte)(sum >> 8); reply[ip + 11] = (byte)sum;
            var icmp = ip + 20;
            reply[icmp] = 3;
            reply[icmp + 1] = 13;
            Array.Copy(frame, 14, reply, icmp + 8, quoted);
            sum = Checksum(reply, icmp, 8 + quoted);
            reply[icmp + 2] = (byte)(sum >> 8); reply[icmp + 3] = (byte)sum;
            Native.send(fd, reply, reply.Length, 0);
        }

        private static ushort Checksum(byte[] data, int offset, int count)
        {
            uint sum = 0;
            for (var i = 0; i < count; i += 2)
            {
                sum += (uint)(data[offset + i] << 8 | (i + 1 < count ? data[offset + i + 1] : 0));
            }

            while ((sum >> 16) != 0)
            {
                sum = (sum & 0xffff) + (sum >> 16);
            }

            return (ushort)~sum;
        }

        private static bool Same(byte[] frame, int offset, byte[] address)
        {
            for (var i = 0; i < address.Length; i++)
            {
                if (frame[offset + i] != address[i])
                {
                    return false;
                }
            }

            return true;
        }

        private static class Native
        {
            [DllImport("libc", SetLastError = true)]
            public static extern int socket(int domain, int type, int protocol);

            [DllImport("libc", SetLastError = true)]
            public static extern int bind(int fd, byte[] address, int length);

            [DllImport("libc", SetLastError = true)]
            public static extern int setsockopt(int fd, int level, int name, byte[] value, int length);

            [DllImport("libc", SetLastError = true)]
            public static extern long recv(int fd, byte[] buffer, long length, int flags);

            [DllImport("libc", SetLastError = true)]
            public static extern long send(int fd, byte[] buffer, long length, int flags);

            public static ushort HostToNetwork(ushort value) => (ushort)(value << 8 | value >> 8);
        }
    }
}
