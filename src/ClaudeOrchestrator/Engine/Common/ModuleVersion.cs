using System.Reflection;

namespace ClaudeOrchestrator.Engine.Common
{
    internal static class ModuleVersion
    {
        public static readonly string Text =
            typeof(ModuleVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0]
            ?? typeof(ModuleVersion).Assembly.GetName().Version.ToString();
    }
}
