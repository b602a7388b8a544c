using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ClaudeOrchestrator.Engine.Common;

namespace ClaudeOrchestrator.Engine.Workspaces
{
    /// <summary>
    /// A directory tree to and from a tar stream, for a workspace that travels to an engine on
    /// another machine. What comes back was written by the agent, so extraction only ever
    /// creates entries inside a fresh directory, never through a link, and without special
    /// bits; <see cref="Mirror"/> then makes the real tree equal to it without following links.
    /// </summary>
    internal static class WorkspaceTree
    {
        private static readonly int DirectoryMode = Convert.ToInt32("755", 8);
        private static readonly int FileMode = Convert.ToInt32("644", 8);
        private static readonly int ExecutableMode = Convert.ToInt32("755", 8);

        // For a container user the module does not know (the image's own): anyone in the container may write.
        private static readonly int OpenBits = Convert.ToInt32("022", 8);
        private static readonly int PermissionBits = Convert.ToInt32("777", 8);
        private static readonly int OwnerReadWrite = Convert.ToInt32("600", 8);
        private static readonly int OwnerAll = Convert.ToInt32("700", 8);

        /// <summary>Adds <paramref name="directory"/> as <paramref name="name"/> and everything under it, links as links.</summary>
        /// <param name="skip">Relative paths ('/'-separated) left out.</param>
        /// <param name="open">True: group and others may write too (the container's user is not known).</param>
        /// <param name="root">False: no entry for <paramref name="directory"/> itself (it exists where the archive is unpacked, owned by another user).</param>
        public static void Pack(TarWriter tar, string directory, string name, Func<string, bool> skip, bool open, bool root = true)
        {
            if (root)
            {
                tar.AddDirectory(name, DirectoryMode | (open ? OpenBits : 0), Directory.GetLastWriteTimeUtc(directory));
            }

            PackChildren(tar, directory, name, string.Empty, skip, open);
        }

        private static void PackChildren(TarWriter tar, string directory, string name, string relative, Func<string, bool> skip, bool open)
        {
            foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                var childRelative = relative.Length == 0 ? entry.Name : relative + "/" + entry.Name;
                if (skip != null && skip(childRelative))
                {
                    continue;
                }

                var childName = name + "/" + entry.Name;
                if ((entry.Attributes & FileAttributes.ReparsePoint) != 0)
                {
                    var target = NativeUnix.ReadLink(entry.FullName);
                    if (target != null)
                    {
                        tar.AddSymbolicLink(childName, target, entry.LastWriteTimeUtc);
                    }
                }
                else if (entry is DirectoryInfo)
                {
                    tar.AddDirectory(childName, DirectoryMode | (open ? OpenBits : 0), entry.LastWriteTimeUtc);
                    PackChildren(tar, entry.FullName, childName, childRelative, skip, open);
                }
                else if (entry is FileInfo file)
                {
                    var mode = (NativeUnix.MayExecute(file.FullName) ? ExecutableMode : FileMode) | (open ? OpenBits : 0);
                    using (var content = new FileStream(file.FullName, System.IO.FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
                    {
                        tar.AddFile(childName, mode, file.LastWriteTimeUtc, content, content.Length);
                    }
                }
            }
        }

        /// <summary>
        /// Extracts the entries under <paramref name="top"/> (the archive's first path component,
        /// as the engine names a copied directory) into <paramref name="destination"/>, which must
        /// not exist yet. Returns how many entries were left out (unsafe names, links in the way,
        /// devices) so the caller can say so. An archive with nothing at or under
        /// <paramref name="top"/> is an error: mirrored, it would read as the agent deleting everything.
        /// </summary>
        public static int Extract(TarReader tar, string top, string destination)
        {
            if (Directory.Exists(destination) || File.Exists(destination))
            {
                throw new IOException($"{destination} exists; extraction only fills a new directory.");
            }

            Directory.CreateDirectory(destination);
            // What this extraction made, by relative path: only its own directories are entered.
            var made = new Dictionary<string, TarEntryKind>(StringComparer.Ordinal) { [string.Empty] = TarEntryKind.Directory };
            var modes = new List<(string Path, int Mode)>();
            var skipped = 0;
            var found = false;
            TarEntry entry;
            while ((entry = tar.Next()) != null)
            {
                var relative = Relative(entry.Name, top);
                if (relative == null)
                {
                    skipped++;
                    continue;
                }

                found = true;
                if (relative.Length == 0)
                {
                    continue;
                }

                if (made.ContainsKey(relative) || !ParentsAreDirectories(relative, destination, made))
                {
                    skipped++;
                    continue;
                }

                var path = Path.Combine(destination, relative.Replace('/', Path.DirectorySeparatorChar));
                switch (entry.Kind)
                {
                    case TarEntryKind.Directory:
                        Directory.CreateDirectory(path);
                        made[relative] = TarEntryKind.Directory;
                        modes.Add((path, (entry.Mode & PermissionBits) | OwnerAll));
                        break;
                    case TarEntryKind.File:
                        using (var output = new FileStream(path, System.IO.FileMode.CreateNew, FileAccess.Write))
                        {
                            tar.CopyContent(output);
                        }

                        made[relative] = TarEntryKind.File;
                        NativeUnix.TryChmod(path, (entry.Mode & PermissionBits) | OwnerReadWrite);
                        break;
                    case TarEntryKind.SymbolicLink when NativeUnix.IsUnix && !string.IsNullOrEmpty(entry.LinkName):
                        NativeUnix.Symlink(entry.LinkName, path);
                        made[relative] = TarEntryKind.SymbolicLink;
                        break;
                    case TarEntryKind.HardLink:
                        // Another name for a file already extracted: a copy of it, never a link to outside.
                        var source = Relative(entry.LinkName ?? string.Empty, top);
                        if (source != null && made.TryGetValue(source, out var kind) && kind == TarEntryKind.File)
                        {
                            File.Copy(Path.Combine(destination, source.Replace('/', Path.DirectorySeparatorChar)), path);
                            made[relative] = TarEntryKind.File;
                        }
                        else
                        {
                            skipped++;
                        }

                        break;
                    default:
                        skipped++;
                        break;
                }
            }

            // Deepest first, so a read-only directory does not stop the files below it.
            foreach (var (path, mode) in modes.OrderByDescending(m => m.Path.Length))
            {
                NativeUnix.TryChmod(path, mode);
            }

            if (!found)
            {
                throw new InvalidDataException($"The archive holds nothing at or under '{top}'.");
            }

            return skipped;
        }

        /// <summary>The path below <paramref name="top"/>, '/'-separated; null for a name outside it or one that climbs.</summary>
        internal static string Relative(string name, string top)
        {
            if (string.IsNullOrEmpty(name) || name.StartsWith("/", StringComparison.Ordinal) || name.IndexOf('\0') >= 0)
            {
                return null;
            }

            var parts = name.Split('/').Where(p => p.Length > 0 && p != ".").ToList();
            if (parts.Any(p => p == ".." || (Path.DirectorySeparatorChar == '\\' && (p.IndexOf('\\') >= 0 || p.IndexOf(':') >= 0))))
            {
                return null;
            }

            if (top != null)
            {
                if (parts.Count == 0 || parts[0] != top)
                {
                    return null;
                }

                parts.RemoveAt(0);
            }

            return string.Join("/", parts);
        }

        private static bool ParentsAreDirectories(string relative, string destination, Dictionary<string, TarEntryKind> made)
        {
            var parts = relative.Split('/');
            var parent = string.Empty;
            for (var i = 0; i < parts.Length - 1; i++)
            {
                parent = parent.Length == 0 ? parts[i] : parent + "/" + parts[i];
                if (made.TryGetValue(parent, out var kind))
                {
                    if (kind != TarEntryKind.Directory)
                    {
                        return false;
                    }

                    continue;
                }

                // An archive may omit a directory's own entry: made here, so it is ours.
                Directory.CreateDirectory(Path.Combine(destination, parent.Replace('/', Path.DirectorySeparatorChar)));
                made[parent] = TarEntryKind.Directory;
            }

            return true;
        }

        /// <summary>
        /// Makes <paramref name="target"/> hold exactly what <paramref name="source"/> holds:
        /// files copied where they differ, entries the source lacks deleted, links recreated as
        /// links. Entries for which <paramref name="keep"/> is true are left as they are.
        /// </summary>
        public static void Mirror(string source, string target, Func<string, bool> keep = null) =>
            MirrorDirectory(source, target, string.Empty, keep);

        private static void MirrorDirectory(string source, string target, string relative, Func<string, bool> keep)
        {
            var wanted = new DirectoryInfo(source).EnumerateFileSystemInfos().ToDictionary(e => e.Name, StringComparer.Ordinal);
            foreach (var present in new DirectoryInfo(target).EnumerateFileSystemInfos())
            {
                var childRelative = relative.Length == 0 ? present.Name : relative + "/" + present.Name;
                if (!wanted.ContainsKey(present.Name) && (keep == null || !keep(childRelative)))
                {
                    Delete(present);
                }
            }

            foreach (var entry in wanted.Values)
            {
                var childRelative = relative.Length == 0 ? entry.Name : relative + "/" + entry.Name;
                if (keep != null && keep(childRelative))
                {
                    continue;
                }

                var path = Path.Combine(target, entry.Name);
                var existing = Existing(path);
                if ((entry.Attributes & FileAttributes.ReparsePoint) != 0)
                {
                    var link = NativeUnix.ReadLink(entry.FullName);
                    if (existing != null && ((existing.Attributes & FileAttributes.ReparsePoint) == 0 || NativeUnix.ReadLink(path) != link))
                    {
                        Delete(existing);
                        existing = null;
                    }

                    if (existing == null && link != null)
                    {
                        NativeUnix.Symlink(link, path);
                    }
                }
                else if (entry is DirectoryInfo)
                {
                    if (existing != null && (!(existing is DirectoryInfo) || (existing.Attributes & FileAttributes.ReparsePoint) != 0))
                    {
                        Delete(existing);
                        existing = null;
                    }

                    if (existing == null)
                    {
                        Directory.CreateDirectory(path);
                    }

                    NativeUnix.TryChmod(path, OwnerAll | DirectoryMode);
                    MirrorDirectory(entry.FullName, path, childRelative, keep);
                }
                else
                {
                    if (existing != null && (!(existing is FileInfo) || (existing.Attributes & FileAttributes.ReparsePoint) != 0))
                    {
                        Delete(existing);
                        existing = null;
                    }

                    if (existing == null || !SameContent((FileInfo)entry, (FileInfo)existing))
                    {
                        if (existing != null)
                        {
                            existing.Attributes = FileAttributes.Normal;
                        }

                        File.Copy(entry.FullName, path, true);
                    }

                    NativeUnix.TryChmod(path, NativeUnix.MayExecute(entry.FullName) ? ExecutableMode : FileMode);
                }
            }
        }

        private static FileSystemInfo Existing(string path)
        {
            var file = new FileInfo(path);
            if (file.Exists || (file.Attributes != (FileAttributes)(-1) && (file.Attributes & FileAttributes.ReparsePoint) != 0))
            {
                return file;
            }

            var directory = new DirectoryInfo(path);
            return directory.Exists ? directory : null;
        }

        private static void Delete(FileSystemInfo entry)
        {
            if (entry is DirectoryInfo && (entry.Attributes & FileAttributes.ReparsePoint) == 0)
            {
                Files.DeleteTree(entry.FullName);
            }
            else
            {
                entry.Attributes = FileAttributes.Normal;
                NativeUnix.Unlink(entry.FullName);
            }
        }

        private static bool SameContent(FileInfo a, FileInfo b)
        {
            if (a.Length != b.Length)
            {
                return false;
            }

            using (var x = a.OpenRead())
            using (var y = new FileStream(b.FullName, System.IO.FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            {
                var bx = new byte[81920];
                var by = new byte[81920];
                while (true)
                {
                    var read = x.Read(bx, 0, bx.Length);
                    if (read == 0)
                    {
                        return true;
                    }

                    var done = 0;
                    while (done < read)
                    {
                        var more = y.Read(by, done, read - done);
                        if (more == 0)
                        {
                            return false;
                        }

                        done += more;
                    }

                    for (var i = 0; i < read; i++)
                    {
                        if (bx[i] != by[i])
                        {
                            return false;
                        }
                    }
                }
            }
        }
    }
}
