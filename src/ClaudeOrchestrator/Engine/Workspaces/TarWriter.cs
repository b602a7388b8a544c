using System;
using System.Globalization;
using System.IO;
using System.Text;

namespace ClaudeOrchestrator.Engine.Workspaces
{
    /// <summary>
    /// Writes the tar stream the engine's archive endpoint takes: ustar headers, with a PAX
    /// record for a name, link or size that does not fit them. netstandard2.0 has no tar of its own.
    /// </summary>
    internal sealed class TarWriter
    {
        private const int Block = 512;

        // Eleven octal digits: 8 GiB less one byte; a larger size goes in a PAX record.
        private const long MaxUstarSize = 8589934591L;
        private readonly Stream _out;
        private readonly int _uid;
        private readonly int _gid;

        /// <param name="uid">Owner of every entry in the container: the task's user, so the agent may write its workspace.</param>
        public TarWriter(Stream output, int uid, int gid)
        {
            _out = output;
            _uid = uid;
            _gid = gid;
        }

        public void AddDirectory(string name, int mode, DateTime modified) =>
            WriteHeader(name.TrimEnd('/') + "/", '5', null, 0, mode, modified);

        public void AddSymbolicLink(string name, string target, DateTime modified) =>
            WriteHeader(name, '2', target, 0, Convert.ToInt32("777", 8), modified);

        public void AddFile(string name, int mode, DateTime modified, Stream content, long length)
        {
            WriteHeader(name, '0', null, length, mode, modified);
            var buffer = new byte[81920];
            var left = length;
            while (left > 0)
            {
                var read = content.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (read <= 0)
                {
                    // The file shrank while it was read: pad, so the archive stays well formed.
                    Array.Clear(buffer, 0, buffer.Length);
                    read = (int)Math.Min(buffer.Length, left);
                }

                _out.Write(buffer, 0, read);
                left -= read;
            }

            Pad(length);
        }

        public void AddFile(string name, int mode, DateTime modified, byte[] content)
        {
            using (var stream = new MemoryStream(content, false))
            {
                AddFile(name, mode, modified, stream, content.Length);
            }
        }

        /// <summary>The two zero blocks that end an archive.</summary>
        public void Finish()
        {
            _out.Write(new byte[Block * 2], 0, Block * 2);
            _out.Flush();
        }

        private void WriteHeader(string name, char type, string link, long size, int mode, DateTime modified)
        {
            var pax = new StringBuilder();
            if (!FitsUstar(name, 100))
            {
                pax.Append(PaxRecord("path", name));
            }

            if (link != null && !FitsUstar(link, 100))
            {
                pax.Append(PaxRecord("linkpath", link));
            }

            if (size > MaxUstarSize)
            {
                pax.Append(PaxRecord("size", size.ToString(CultureInfo.InvariantCulture)));
            }

            if (pax.Length > 0)
            {
                var records = Encoding.UTF8.GetBytes(pax.ToString());
                _out.Write(Header("PaxHeaders/" + Truncate(name, 80), 'x', null, records.Length, Convert.ToInt32("644", 8), modified), 0, Block);
                _out.Write(records, 0, records.Length);
                Pad(records.Length);
            }

            _out.Write(Header(name, type, link, size, mode, modified), 0, Block);
        }

        private byte[] Header(string name, char type, string link, long size, int mode, DateTime modified)
        {
            var header = new byte[Block];
            Ascii(header, 0, 100, Truncate(name, 100));
            Octal(header, 100, 8, mode & Convert.ToInt32("7777", 8));
            Octal(header, 108, 8, _uid);
            Octal(header, 116, 8, _gid);
            Octal(header, 124, 12, size > MaxUstarSize ? 0 : size);
            var seconds = (long)Math.Max(0, (modified.ToUniversalTime() - Epoch).TotalSeconds);
            Octal(header, 136, 12, seconds);
            header[156] = (byte)type;
            if (link != null)
            {
                Ascii(header, 157, 100, Truncate(link, 100));
            }

            Ascii(header, 257, 6, "ustar");
            Ascii(header, 263, 2, "00");
            for (var i = 148; i < 156; i++)
            {
                header[i] = (byte)' ';
            }

            var sum = 0;
            foreach (var b in header)
            {
                sum += b;
            }

            Octal(header, 148, 7, sum);
            return header;
        }

        private void Pad(long length)
        {
            var rest = (int)(length % Block);
            if (rest != 0)
            {
                _out.Write(new byte[Block - rest], 0, Block - rest);
            }
        }

        internal static readonly DateTime Epoch = new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc);

        private static bool FitsUstar(string text, int field)
        {
            if (text.Length > field)
            {
                return false;
            }

            foreach (var c in text)
            {
                if (c > 126 || c < 32)
                {
                    return false;
                }
            }

            return true;
        }

        private static string Truncate(string text, int length)
        {
            var ascii = new StringBuilder(text.Length);
            foreach (var c in text)
            {
                ascii.Append(c > 126 || c < 32 ? '_' : c);
            }

            return ascii.Length > length ? ascii.ToString(0, length) : ascii.ToString();
        }

        /// <summary>"len key=value\n", where len counts its own digits.</summary>
        private static string PaxRecord(string key, string value)
        {
            var body = " " + key + "=" + value + "\n";
            var bodyLength = Encoding.UTF8.GetByteCount(body);
            var length = bodyLength + 1;
            while (length.ToString(CultureInfo.InvariantCulture).Length + bodyLength != length)
            {
                length = length.ToString(CultureInfo.InvariantCulture).Length + bodyLength;
            }

            return length.ToString(CultureInfo.InvariantCulture) + body;
        }

        private static void Ascii(byte[] header, int offset, int length, string text)
        {
            var bytes = Encoding.ASCII.GetBytes(text);
            Array.Copy(bytes, 0, header, offset, Math.Min(bytes.Length, length));
        }

        private static void Octal(byte[] header, int offset, int length, long value)
        {
            var text = Convert.ToString(value, 8).PadLeft(length - 1, '0');
            Ascii(header, offset, length - 1, text);
            header[offset + length - 1] = 0;
        }
    }
}
