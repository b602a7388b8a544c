using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;

namespace ClaudeOrchestrator.Engine.Workspaces
{
    /// <summary>
    /// Reads the tar stream the engine's archive endpoint returns (Go's archive/tar: ustar, PAX
    /// and GNU long names). The content is the agent's to shape, so nothing here trusts it:
    /// names are returned as written and the extractor decides what may be created.
    /// </summary>
    internal sealed class TarReader
    {
        private const int Block = 512;
        private readonly Stream _in;
        private long _left;
        private long _padding;
        private long _entries;

        public TarReader(Stream input)
        {
            _in = input;
        }

        /// <summary>
        /// The next entry, with <see cref="Content"/> positioned at its bytes; null at the end,
        /// which is a zero block and nothing else: an archive cut at an entry's boundary, or an
        /// empty stream, is an error, never a shorter tree.
        /// </summary>
        public TarEntry Next()
        {
            Skip(_left + _padding);
            _left = 0;
            _padding = 0;
            string longName = null;
            string longLink = null;
            var pax = new Dictionary<string, string>(StringComparer.Ordinal);
            while (true)
            {
                var header = new byte[Block];
                if (!ReadFull(header, Block))
                {
                    throw new InvalidDataException(_entries == 0
                        ? "The archive is empty or cut before its first entry (no end-of-archive block)."
                        : $"The archive ends after {_entries} entries without its end-of-archive block: it was cut short.");
                }

                if (IsZero(header))
                {
                    return null;
                }

                if (!ChecksumOk(header))
                {
                    throw new InvalidDataException("The archive from the engine is damaged (a tar header's checksum does not match).");
                }

                var type = (char)header[156];
                var size = Number(header, 124, 12);
                if (type == 'x' || type == 'g' || type == 'L' || type == 'K')
                {
                    if (size > 16 * 1024 * 1024)
                    {
                        throw new InvalidDataException("The archive from the engine has an extended header of " + size + " bytes.");
                    }

                    var data = new byte[size];
                    if (!ReadFull(data, (int)size))
                    {
                        throw new InvalidDataException("The archive from the engine ends inside an extended header.");
                    }

                    Skip(PaddingOf(size));
                    if (type == 'x')
                    {
                        ParsePax(data, pax);
                    }
                    else if (type == 'L')
                    {
                        longName = Encoding.UTF8.GetString(data).TrimEnd('\0');
                    }
                    else if (type == 'K')
                    {
                        longLink = Encoding.UTF8.GetString(data).TrimEnd('\0');
                    }

                    continue;
                }

                var name = Text(header, 0, 100);
                var magic = Text(header, 257, 6);
                if (magic.StartsWith("ustar", StringComparison.Ordinal))
                {
                    var prefix = Text(header, 345, 155);
                    if (prefix.Length > 0)
                    {
                        name = prefix + "/" + name;
                    }
                }

                name = pax.TryGetValue("path", out var paxName) ? paxName : longName ?? name;
                var link = pax.TryGetValue("linkpath", out var paxLink) ? paxLink : longLink ?? Text(header, 157, 100);
                if (pax.TryGetValue("size", out var paxSize) && long.TryParse(paxSize, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed))
                {
                    size = parsed;
                }

                var kind = KindOf(type);
                var entry = new TarEntry
                {
                    Name = name,
                    Kind = kind,
                    LinkName = kind == TarEntryKind.SymbolicLink || kind == TarEntryKind.HardLink ? link : null,
                    Mode = (int)Number(header, 100, 8),
                    Size = kind == TarEntryKind.File ? size : 0,
                    Modified = TarWriter.Epoch.AddSeconds(Number(header, 136, 12)),
                };

                // Every entry's data is skipped by size, whatever its kind claims.
                _entries++;
                _left = size;
                _padding = PaddingOf(size);
                return entry;
            }
        }

        /// <summary>Copies the current entry's bytes to <paramref name="target"/>.</summary>
        public void CopyContent(Stream target)
        {
            var buffer = new byte[81920];
            while (_left > 0)
            {
                var read = _in.Read(buffer, 0, (int)Math.Min(buffer.Length, _left));
                if (read <= 0)
                {
                    throw new InvalidDataException("The archive from the engine ends inside a file.");
                }

                target.Write(buffer, 0, read);
                _left -= read;
            }
        }

        private static TarEntryKind KindOf(char type)
        {
            switch (type)
            {
                case '0':
                case '\0':
                case '7':
                    return TarEntryKind.File;
                case '5':
                    return TarEntryKind.Directory;
                case '2':
                    return TarEntryKind.SymbolicLink;
                case '1':
                    return TarEntryKind.HardLink;
                default:
                    return TarEntryKind.Other;
            }
        }

        private static long PaddingOf(long size) => size % Block == 0 ? 0 : Block - size % Block;

        private void Skip(long count)
        {
            var buffer = new byte[Block * 16];
            while (count > 0)
            {
                var read = _in.Read(buffer, 0, (int)Math.Min(buffer.Length, count));
                if (read <= 0)
                {
                    throw new InvalidDataException("The archive ends inside an entry: it was cut short.");
                }

                count -= read;
            }
        }

        private bool ReadFull(byte[] buffer, int count)
        {
            var done = 0;
            while (done < count)
            {
                var read = _in.Read(buffer, done, count - done);
                if (read <= 0)
                {
                    return false;
                }

                done += read;
            }

            return true;
        }

        private static bool IsZero(byte[] header)
        {
            foreach (var b in header)
            {
                if (b != 0)
                {
                    return false;
                }
            }

            return true;
        }

        private static bool ChecksumOk(byte[] header)
        {
            long sum = 0;
            for (var i = 0; i < Block; i++)
            {
                sum += i >= 148 && i < 156 ? ' ' : header[i];
            }

            return Number(header, 148, 8) == sum;
        }

        private static string Text(byte[] header, int offset, int length)
        {
            var end = offset;
            while (end < offset + length && header[end] != 0)
            {
                end++;
            }

            return Encoding.UTF8.GetString(header, offset, end - offset);
        }

        /// <summary>Octal, or GNU base-256 when the field's first byte has its high bit set.</summary>
        private static long Number(byte[] header, int offset, int length)
        {
            if ((header[offset] & 0x80) != 0)
            {
                long value = header[offset] & 0x7f;
                for (var i = offset + 1; i < offset + length; i++)
                {
                    value = (value << 8) | header[i];
                }

                return value;
            }

            var text = Encoding.ASCII.GetString(header, offset, length).Trim(' ', '\0');
            return text.Length == 0 ? 0 : Convert.ToInt64(text, 8);
        }

        private static void ParsePax(byte[] data, Dictionary<string, string> pax)
        {
            var position = 0;
            while (position < data.Length)
            {
                var space = Array.IndexOf(data, (byte)' ', position);
                if (space < 0)
                {
                    return;
                }

                if (!int.TryParse(Encoding.ASCII.GetString(data, position, space - position), NumberStyles.Integer, CultureInfo.InvariantCulture, out var length) ||
                    length <= 0 || position + length > data.Length)
                {
                    return;
                }

                var record = Encoding.UTF8.GetString(data, space + 1, position + length - space - 2);
                var equals = record.IndexOf('=');
                if (equals > 0)
                {
                    pax[record.Substring(0, equals)] = record.Substring(equals + 1);
                }

                position += length;
            }
        }
    }
}
