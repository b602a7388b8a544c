namespace ClaudeOrchestrator
{
    /// <summary>The branch outcome a task's result and its record both carry.</summary>
    internal interface IBranchWork
    {
        ClaudeTaskWork Work { get; set; }
        string Branch { get; set; }
        string HeadCommit { get; set; }
        int Commits { get; set; }
        int FilesChanged { get; set; }
        int Insertions { get; set; }
        int Deletions { get; set; }
    }
}
