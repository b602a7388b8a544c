using System;
using System.Runtime.InteropServices;
using System.Text;

namespace ClaudeOrchestrator.Engine.Common
{
    /// <summary>The few libc calls the module needs on Linux and macOS.</summary>
    internal static class NativeUnix
    {
        public static bool IsUnix =>
            RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || RuntimeInformation.IsOSPlatform(OSPlatform.OSX);

        /// <summary>"uid:gid" of this process, so files the agent writes belong to the caller.</summary>
        public static string CallerUserSpec() => getuid() + ":" + getgid();

        /// <summary>The canonical path with every symlink resolved, or null if it cannot be resolved.</summary>
        public static string RealPath(string path)
        {
            var bytes = Encoding.UTF8.GetBytes(path + "\0");
            var resolved = realpath(bytes, IntPtr.Zero);
            if (resolved == IntPtr.Zero)
            {
                return null;
            }

            try
            {
                return PtrToUtf8(resolved);
            }
            finally
            {
                free(resolved);
            }
        }

        private static string PtrToUtf8(IntPtr p)
        {
            var length = 0;
            while (Marshal.ReadByte(p, length) != 0)
            {
                length++;
            }

            var bytes = new byte[length];
            Marshal.Copy(p, bytes, 0, length);
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>Sets a file's permission bits where the platform has them; elsewhere does nothing.</summary>
        public static void TryChmod(string path, int mode)
        {
            if (IsUnix)
            {
                chmod(Encoding.UTF8.GetBytes(path + "\0"), (uint)mode);
            }
        }

        public static uint? CallerUid() => IsUnix ? getuid() : (uint?)null;

        /// <summary>
        /// The uid that owns <paramref name="path"/>; null where it cannot be read. Linux only:
        /// statx's layout is the same on every architecture, stat's is not.
        /// </summary>
        public static uint? OwnerOf(string path)
        {
            if (!System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux))
            {
                return null;
            }

            var buffer = new byte[256];
            try
            {
                // AT_FDCWD, no flags, STATX_UID; stx_uid is at offset 20.
                return statx(-100, Encoding.UTF8.GetBytes(path + "\0"), 0, 0x8, buffer) == 0 ? BitConverter.ToUInt32(buffer, 20) : (uint?)null;
            }
            catch (EntryPointNotFoundException)
            {
                return null;
            }
        }

        /// <summary>
        /// The file type bits of <paramref name="path"/> itself (a link is not followed) and, for a
        /// device, its major and minor numbers; null where it cannot be read. Linux only (statx).
        /// </summary>
        public static (int Type, uint Major, uint Minor)? TypeOf(string path)
        {
            var buffer = new byte[256];
            try
            {
                // AT_FDCWD, AT_SYMLINK_NOFOLLOW, STATX_TYPE; stx_mode at 28, stx_rdev_major/minor at 128/132.
                return statx(-100, Encoding.UTF8.GetBytes(path + "\0"), 0x100, 0x1, buffer) == 0
                    ? (BitConverter.ToUInt16(buffer, 28) & 0xF000, BitConverter.ToUInt32(buffer, 128), BitConverter.ToUInt32(buffer, 132))
                    : ((int, uint, uint)?)null;
            }
            catch (EntryPointNotFoundException)
            {
                return null;
            }
        }

        public const int TypeCharacterDevice = 0x2000;
        public const int TypeDirectory = 0x4000;
        public const int TypeRegular = 0x8000;
        public const int TypeLink = 0xA000;

        /// <summary>The value of the extended attribute <paramref name="name"/> of <paramref name="path"/> itself; null when it has none or it cannot be read.</summary>
        public static string Attribute(string path, string name)
        {
            var buffer = new byte[64];
            try
            {
                var length = lgetxattr(Encoding.UTF8.GetBytes(path + "\0"), Encoding.UTF8.GetBytes(name + "\0"), buffer, (IntPtr)buffer.Length).ToInt64();
                return length < 0 ? null : Encoding.UTF8.GetString(buffer, 0, (int)length);
            }
            catch (EntryPointNotFoundException)
            {
                return null;
            }
        }

        /// <summary>Whether this process may write <paramref name="path"/> (for a socket: connect to it); true where not Unix.</summary>
        public static bool MayWrite(string path) =>
            !IsUnix || access(Encoding.UTF8.GetBytes(path + "\0"), WriteOk) == 0;

        private const int WriteOk = 2;

        /// <summary>Gives a file to another uid:gid; false where that is not allowed (only root may) or not Unix.</summary>
        public static bool TryChown(string path, uint uid, uint gid) =>
            IsUnix && chown(Encoding.UTF8.GetBytes(path + "\0"), uid, gid) == 0;

        /// <summary>Makes <paramref name="link"/> a symbolic link to the directory <paramref name="target"/>.</summary>
        public static void Symlink(string target, string link)
        {
            if (IsUnix)
            {
                if (symlink(Encoding.UTF8.GetBytes(target + "\0"), Encoding.UTF8.GetBytes(link + "\0")) != 0)
                {
                    throw new System.IO.IOException($"Cannot create the link {link}: errno {Marshal.GetLastWin32Error()}.");
                }

                return;
            }

            // Directory link, allowed without elevation in developer mode (flags 1 | 2).
            if (!CreateSymbolicLink(link, target, 3))
            {
                throw new System.IO.IOException($"Cannot create the link {link}: error {Marshal.GetLastWin32Error()}.");
            }
        }

        /// <summary>Removes a file or a link (never what a link points to).</summary>
        public static void Unlink(string path)
        {
            if (IsUnix)
            {
                if (unlink(Encoding.UTF8.GetBytes(path + "\0")) != 0 && System.IO.File.Exists(path))
                {
                    throw new System.IO.IOException($"Cannot delete {path}: errno {Marshal.GetLastWin32Error()}.");
                }

                return;
            }

            if (System.IO.Directory.Exists(path))
            {
                System.IO.Directory.Delete(path, false);
            }
            else
            {
                System.IO.File.Delete(path);
            }
        }

        /// <summary>Where the link <paramref name="path"/> points, as written in it; null when it is no link or cannot be read.</summary>
        public static string ReadLink(string path)
        {
            if (!IsUnix)
            {
                // .NET 6 and later (pwsh 7) have FileSystemInfo.LinkTarget; Windows PowerShell has none.
                var info = new System.IO.FileInfo(path);
                return typeof(System.IO.FileSystemInfo).GetProperty("LinkTarget")?.GetValue(info) as string;
            }

            var buffer = new byte[4096];
            var length = readlink(Encoding.UTF8.GetBytes(path + "\0"), buffer, (IntPtr)buffer.Length);
            return length.ToInt64() <= 0 ? null : Encoding.UTF8.GetString(buffer, 0, (int)length.ToInt64());
        }

        /// <summary>Whether this process may execute <paramref name="path"/>: the executable bit a shipped file keeps.</summary>
        public static bool MayExecute(string path) =>
            IsUnix && access(Encoding.UTF8.GetBytes(path + "\0"), ExecuteOk) == 0;

        private const int ExecuteOk = 1;

        [DllImport("libc", SetLastError = true)]
        private static extern IntPtr readlink(byte[] path, byte[] buffer, IntPtr size);

        [DllImport("libc", SetLastError = true)]
        private static extern int symlink(byte[] target, byte[] link);

        [DllImport("libc", SetLastError = true)]
        private static extern int unlink(byte[] path);

        [DllImport("kernel32.dll", CharSet = CharSet.Unicode, SetLastError = true)]
        [return: MarshalAs(UnmanagedType.I1)]
        private static extern bool CreateSymbolicLink(string link, string target, int flags);

        [DllImport("libc", SetLastError = true)]
        private static extern int statx(int dirfd, byte[] path, int flags, uint mask, byte[] buffer);

        [DllImport("libc", SetLastError = true)]
        private static extern IntPtr lgetxattr(byte[] path, byte[] name, byte[] value, IntPtr size);

        [DllImport("libc", SetLastError = true)]
        private static extern int access(byte[] path, int mode);

        [DllImport("libc", SetLastError = true)]
        private static extern int chmod(byte[] path, uint mode);

        [DllImport("libc", SetLastError = true)]
        private static extern int chown(byte[] path, uint owner, uint group);

        [DllImport("libc", SetLastError = true)]
        private static extern uint getuid();

        [DllImport("libc", SetLastError = true)]
        private static extern uint getgid();

        [DllImport("libc", SetLastError = true)]
        private static extern IntPtr realpath(byte[] path, IntPtr resolved);

        [DllImport("libc")]
        private static extern void free(IntPtr p);
    }
}
