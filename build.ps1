#requires -Version 5.1
<#
.SYNOPSIS
    Builds, tests and packages ClaudeOrchestrator (a front end over the dotnet CLI).
.EXAMPLE
    ./build.ps1                 # build; the module lands in out/ClaudeOrchestrator
.EXAMPLE
    ./build.ps1 -Task Test      # build, the xunit suite, then the Pester suite on this pwsh; fails if either fails
.EXAMPLE
    ./build.ps1 -Task Package   # out/packages/ClaudeOrchestrator.<version>.nupkg
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package', 'Clean')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot

function Invoke-Dotnet {
    & dotnet @args
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($args -join ' ') failed with exit code $LASTEXITCODE" }
}

switch ($Task) {
    'Clean' {
        Invoke-Dotnet clean ClaudeOrchestrator.sln -c $Configuration
        Remove-Item -Recurse -Force (Join-Path $PSScriptRoot 'out') -ErrorAction SilentlyContinue
    }
    'Build' {
        Invoke-Dotnet build ClaudeOrchestrator.sln -c $Configuration
    }
    'Test' {
        # Both suites always run; the task fails when either failed.
        Invoke-Dotnet build ClaudeOrchestrator.sln -c $Configuration
        & dotnet test ClaudeOrchestrator.sln -c $Configuration --no-build
        $xunit = $LASTEXITCODE
        # A child pwsh: the suite imports the module and Pester on its own, as a user would.
        $pwsh = (Get-Command pwsh -CommandType Application | Select-Object -First 1).Source
        & $pwsh -NoProfile -NonInteractive -File (Join-Path $PSScriptRoot 'tests/Invoke-PesterSuite.ps1')
        $pester = $LASTEXITCODE
        if ($xunit -ne 0 -or $pester -ne 0) {
            throw "Tests failed: xunit exit code $xunit, Pester exit code $pester."
        }
    }
    'Package' {
        Invoke-Dotnet build ClaudeOrchestrator.sln -c $Configuration
        Invoke-Dotnet pack src/ClaudeOrchestrator/ClaudeOrchestrator.csproj -c $Configuration --no-build
        Get-ChildItem (Join-Path $PSScriptRoot 'out/packages/*.nupkg')
    }
}
