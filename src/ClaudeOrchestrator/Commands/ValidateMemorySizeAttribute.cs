using System;
using System.Management.Automation;
using ClaudeOrchestrator.Engine.Sandboxing;

namespace ClaudeOrchestrator.Commands
{
    /// <summary>Rejects memory sizes such as "4x" or "-1g" at parameter binding, with the reason.</summary>
    public sealed class ValidateMemorySizeAttribute : ValidateArgumentsAttribute
    {
        protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
        {
            var text = (arguments is PSObject wrapped ? wrapped.BaseObject : arguments)?.ToString();
            try
            {
                Sandbox.ParseMemory(text);
            }
            catch (FormatException e)
            {
                throw new ValidationMetadataException(e.Message);
            }
        }
    }
}
