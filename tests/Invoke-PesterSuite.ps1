#requires -Version 7.2
<#
.SYNOPSIS
    Runs the Pester suite (tests/*.Tests.ps1) on this pwsh with the Pester the build staged.
.DESCRIPTION
    `dotnet build ClaudeOrchestrator.sln` restores the NuGet package Pester and stages its module
    in out/modules; this script puts that folder first on PSModulePath, runs every
    tests/*.Tests.ps1, prints one line with the counts, and exits 1 when a test failed, was
    skipped or did not run, or when the suite could not run at all.
#>
[CmdletBinding()]
param(
    [ValidateSet('None', 'Normal', 'Detailed', 'Diagnostic')]
    [string] $Verbosity = 'Detailed'
)

$ErrorActionPreference = 'Stop'
$root = Split-Path $PSScriptRoot -Parent
$modules = Join-Path $root 'out/modules'
$pesterVersion = '5.9.1'
if (-not (Test-Path (Join-Path $modules "Pester/$pesterVersion/Pester.psd1"))) {
    Write-Error "Pester $pesterVersion is not staged in $modules; run 'dotnet build ClaudeOrchestrator.sln -c Release' first."
    exit 1
}

$env:PSModulePath = $modules + [IO.Path]::PathSeparator + $env:PSModulePath
Import-Module Pester -RequiredVersion $pesterVersion

$config = New-PesterConfiguration
$config.Run.Path = @(Get-ChildItem -Path $PSScriptRoot -Filter '*.Tests.ps1' | ForEach-Object FullName)
$config.Run.PassThru = $true
$config.Output.Verbosity = $Verbosity
$result = Invoke-Pester -Configuration $config

# The same words as the xunit summary, so one line per suite counts both.
"Pester: Passed: $($result.PassedCount), Failed: $($result.FailedCount), Skipped: $($result.SkippedCount), Not run: $($result.NotRunCount), Total: $($result.TotalCount)"
if ($result.Result -ne 'Passed' -or $result.FailedCount -gt 0 -or $result.SkippedCount -gt 0 -or $result.NotRunCount -gt 0) {
    exit 1
}
