using ClaudeOrchestrator.Tests.Infrastructure;
using Xunit;

namespace ClaudeOrchestrator.Tests;

[Collection(DockerCollection.Name)]
public class SmokeTests
{
    [Fact]
    public void Succeeds()
    {
        using var ps = new PsSession();
        var dir = Directory.CreateTempSubdirectory("co-proj-");
        var r = ps.Invoke($"Start-ClaudeTask -Path '{dir.FullName}' -Description 'succeed' -Image {DockerFixture.Image} -Verbose");
        Console.WriteLine(r.Describe());
        foreach (var v in r.Verbose) Console.WriteLine("V: " + v);
        foreach (var i in r.InformationText) Console.WriteLine("I: " + i);
        var result = r.Single<ClaudeTaskResult>();
        Console.WriteLine($"{result.Status} {result.ExitCode} {result.Duration}");
        Assert.Equal(ClaudeTaskStatus.Succeeded, result.Status);
    }
}
