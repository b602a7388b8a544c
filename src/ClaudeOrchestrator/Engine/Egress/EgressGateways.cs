using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ClaudeOrchestrator.Engine.Common;
using ClaudeOrchestrator.Engine.Endpoints;

namespace ClaudeOrchestrator.Engine.Egress
{
    /// <summary>
    /// One gateway per engine for this session, shared by its tasks there. The first task that
    /// needs it starts it; once the last one has ended it stays for <see cref="IdleLinger"/> (the
    /// next task starts at once instead of waiting about a second and a half for a new one) and
    /// then goes, confirmed, with its network; it also goes when the module is removed and when the
    /// process exits, and by itself when the process dies. A gateway found dead is replaced. One
    /// per task would cost a network per task, and an engine's address pools hold a few dozen.
    /// </summary>
    internal static class EgressGateways
    {
        /// <summary>How long an idle gateway waits for the session's next task.</summary>
        public static readonly TimeSpan IdleLinger = TimeSpan.FromSeconds(60);

        private static readonly Dictionary<DockerConnection, Entry> Entries = new Dictionary<DockerConnection, Entry>();
        private static readonly object Gate = new object();

        /// <summary>The session's gateway on the engine, started if need be; hand it back with <see cref="ReleaseAsync"/>.</summary>
        public static async Task<EgressGateway> AcquireAsync(DockerConnection connection, Action<string> verbose, CancellationToken cancel)
        {
            Entry entry;
            lock (Gate)
            {
                if (!Entries.TryGetValue(connection, out entry) || entry.Stopping ||
                    (entry.Starting.IsCompleted && (entry.Starting.Status != TaskStatus.RanToCompletion || !entry.Starting.Result.Alive)))
                {
                    var stale = entry;
                    entry = new Entry { Starting = Task.Run(() => EgressGateway.StartAsync(connection, verbose, CancellationToken.None)) };
                    Entries[connection] = entry;
                    if (stale != null && !stale.Stopping)
                    {
                        // Dead: what is left of it (its network) goes now.
                        stale.Stopping = true;
                        _ = StopAsync(stale);
                    }
                }

                entry.Users++;
                entry.Uses++;
            }

            try
            {
                return await SharedWork.WaitAsync(entry.Starting, cancel).ConfigureAwait(false);
            }
            catch (Exception)
            {
                Release(connection, entry);
                throw;
            }
        }

        /// <summary>Hands back one use of <paramref name="gateway"/>; once no task uses it, it goes after <see cref="IdleLinger"/>.</summary>
        public static void Release(DockerConnection connection, EgressGateway gateway)
        {
            Entry entry;
            lock (Gate)
            {
                if (!Entries.TryGetValue(connection, out entry) || entry.Starting.Status != TaskStatus.RanToCompletion || entry.Starting.Result != gateway)
                {
                    // Replaced while this task ran: the old one was stopped then.
                    return;
                }
            }

            Release(connection, entry);
        }

        /// <summary>Stops the gateways no task uses now (the module is removed; tests end), confirmed gone with their networks.</summary>
        public static Task StopIdleAsync() => StopWhereAsync(e => e.Users == 0);

        /// <summary>Stops every gateway: the process is going away (its tasks are flushed first). Whatever is not stopped ends with its stdin, and the sweep takes its network.</summary>
        public static Task StopAllAsync() => StopWhereAsync(_ => true);

        private static void Release(DockerConnection connection, Entry entry)
        {
            int uses;
            lock (Gate)
            {
                entry.Users--;
                if (entry.Users > 0 || entry.Stopping)
                {
                    return;
                }

                uses = entry.Uses;
            }

            _ = LingerAsync(connection, entry, uses);
        }

        private static async Task LingerAsync(DockerConnection connection, Entry entry, int uses)
        {
            await Task.Delay(IdleLinger).ConfigureAwait(false);
            lock (Gate)
            {
                // Used again meanwhile: its own last release waits anew.
                if (entry.Users > 0 || entry.Uses != uses || entry.Stopping)
                {
                    return;
                }

                entry.Stopping = true;
                if (Entries.TryGetValue(connection, out var current) && current == entry)
                {
                    Entries.Remove(connection);
                }
            }

            await StopAsync(entry).ConfigureAwait(false);
        }

        private static Task StopWhereAsync(Func<Entry, bool> which)
        {
            List<Entry> stopping;
            lock (Gate)
            {
                stopping = Entries.Where(e => !e.Value.Stopping && which(e.Value)).Select(e => e.Value).ToList();
                foreach (var entry in stopping)
                {
                    entry.Stopping = true;
                }

                foreach (var key in Entries.Where(e => stopping.Contains(e.Value)).Select(e => e.Key).ToList())
                {
                    Entries.Remove(key);
                }
            }

            return Task.WhenAll(stopping.Select(StopAsync));
        }

        private static async Task StopAsync(Entry entry)
        {
            try
            {
                var gateway = await entry.Starting.ConfigureAwait(false);
                await gateway.StopAsync().ConfigureAwait(false);
            }
            catch (Exception)
            {
                // It never started (its start removed what it made), or the engine went away: the sweep takes what is left.
            }
        }

        private sealed class Entry
        {
            public Task<EgressGateway> Starting { get; set; }

            /// <summary>Tasks using it now.</summary>
            public int Users { get; set; }

            /// <summary>Every acquisition so far: a linger that sees it changed knows it was used again.</summary>
            public int Uses { get; set; }

            public bool Stopping { get; set; }
        }
    }
}
