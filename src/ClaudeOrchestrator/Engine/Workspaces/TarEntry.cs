using System;
using System.IO;

namespace ClaudeOrchestrator.Engine.Workspaces
{
    /// <summary>The kinds of tar entry a workspace holds; anything else (devices, fifos) is skipped on the way back.</summary>
    internal enum TarEntryKind
    {
        File,
        Directory,
        SymbolicLink,
        HardLink,
        Other,
    }

    /// <summary>One tar entry as read: its header fields, and for a file the stream of its bytes.</summary>
    internal sealed class TarEntry
    {
        public string Name { get; set; }
        public TarEntryKind Kind { get; set; }
        public string LinkName { get; set; }
        public int Mode { get; set; }
        public long Size { get; set; }
        public DateTime Modified { get; set; }
    }
}
