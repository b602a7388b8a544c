namespace ClaudeOrchestrator.Testing;

/// <summary>Paths of the repository and of the module folder the build staged.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string ModuleDirectory => Path.Combine(Root, "out", "ClaudeOrchestrator");

    public static string Manifest => Path.Combine(ModuleDirectory, "ClaudeOrchestrator.psd1");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ClaudeOrchestrator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Cannot find the repository root above " + AppContext.BaseDirectory);
    }
}
