using Xunit;
using ClaudeOrchestrator.Tests.Infrastructure;
using ClaudeOrchestrator.Testing;

namespace ClaudeOrchestrator.Tests;

/// <summary>How -Timeout values are read, through the real parameter binder.</summary>
[Trait(Needs.Trait, Needs.None)]
public class TimeSpanArgumentTests
{
    [Theory]
    [InlineData("90", 90)]
    [InlineData("2s", 2)]              // pwsh parses 2s as the short 2: still seconds
    [InlineData("'2s'", 2)]
    [InlineData("'1.5s'", 1.5)]
    [InlineData("'10m'", 600)]
    [InlineData("'2h'", 7200)]
    [InlineData("'1d'", 86400)]
    [InlineData("1d", 86400)]          // pwsh parses 1d as the decimal 1: days, not seconds
    [InlineData("1.5d", 129600)]
    [InlineData("'250ms'", 0.25)]
    [InlineData("'00:10:00'", 600)]
    [InlineData("([timespan]::FromMinutes(3))", 180)]
    [InlineData("2.5", 2.5)]
    public void ValuesBindAsTheDurationAUserMeans(string argument, double seconds)
    {
        using var ps = new PsSession();
        var r = ps.Invoke($"(Get-Command Start-ClaudeTask).Parameters['Timeout'].Attributes | Where-Object {{ $_ -is [System.Management.Automation.ArgumentTransformationAttribute] }} | ForEach-Object {{ $_.Transform($ExecutionContext, {argument}) }}").ThrowIfFailed();

        Assert.Equal(TimeSpan.FromSeconds(seconds), (TimeSpan)Assert.Single(r.Output).BaseObject);
    }

    [Fact]
    public void NonsenseIsRefusedWithAnExplanation()
    {
        var e = Assert.Throws<System.Management.Automation.ArgumentTransformationMetadataException>(
            () => ClaudeOrchestrator.Commands.TimeSpanArgumentAttribute.Parse("soon"));
        Assert.Contains("30s", e.Message);
    }
}
