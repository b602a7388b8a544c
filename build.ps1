#requires -Version 5.1
<#
.SYNOPSIS
    Builds, tests and packages ClaudeOrchestrator (a front end over the dotnet CLI).
.EXAMPLE
    ./build.ps1                 # build; the module lands in out/ClaudeOrchestrator
.EXAMPLE
    ./build.ps1 -Task Test      # xunit suite (needs Docker), then Pester if installed
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
        Invoke-Dotnet test ClaudeOrchestrator.sln -c $Configuration
        if (Get-Module -ListAvailable -Name Pester | Where-Object Version -ge '5.0.0') {
            Import-Module Pester -MinimumVersion 5.0.0
            $config = New-PesterConfiguration
            $config.Run.Path = Join-Path $PSScriptRoot 'tests'
            $config.Run.Exit = $true
            $config.Output.Verbosity = 'Detailed'
            Invoke-Pester -Configuration $config
        }
        else {
            Write-Warning 'Pester 5 is not installed: skipped tests/*.Tests.ps1 (Install-Module Pester -MinimumVersion 5.0).'
        }
    }
    'Package' {
        Invoke-Dotnet build ClaudeOrchestrator.sln -c $Configuration
        Invoke-Dotnet pack src/ClaudeOrchestrator/ClaudeOrchestrator.csproj -c $Configuration --no-build
        Get-ChildItem (Join-Path $PSScriptRoot 'out/packages/*.nupkg')
    }
}
