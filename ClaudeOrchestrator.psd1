@{
    RootModule           = 'ClaudeOrchestrator.dll'
    ModuleVersion        = '0.1.0'
    CompatiblePSEditions = @('Desktop', 'Core')
    GUID                 = '6f1d3c2a-8b4e-4c1f-9a57-2d0e6b7c9e41'
    Author               = 'ClaudeOrchestrator contributors'
    CompanyName          = 'ClaudeOrchestrator contributors'
    Copyright            = '(c) ClaudeOrchestrator contributors. MIT License.'
    Description          = 'Runs coding-agent (Claude Code) tasks in Docker and Podman containers, on remote engines and on a swarm, each on its own git branch, and guarantees that no container is left behind and no work is lost.'
    PowerShellVersion    = '5.1'
    FormatsToProcess     = @('ClaudeOrchestrator.format.ps1xml')
    CmdletsToExport      = @('Start-ClaudeTask', 'Get-ClaudeContainer', 'Remove-ClaudeContainer', 'Get-ClaudeCleanupReport', 'Get-ClaudeProject', 'New-ClaudeProject', 'Get-ClaudeTask', 'Receive-ClaudeTask', 'Compare-ClaudeTask', 'Merge-ClaudeTask', 'Remove-ClaudeTask', 'Test-ClaudeEngine', 'Watch-ClaudeTask')
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('Docker', 'Podman', 'Claude', 'AI', 'Agent', 'Containers', 'PSEdition_Desktop', 'PSEdition_Core', 'Windows', 'Linux', 'MacOS')
            LicenseUri   = 'https://opensource.org/licenses/MIT'
            ReleaseNotes = 'First release (0.1.0): tasks in Docker and Podman containers (rootful, rootless, on other machines, on a swarm), each on its own git branch; cleanup on every exit path and salvage after a kill; Claude Code events, resume, fan-out, cost; profiles; Test-ClaudeEngine. Details: CHANGELOG.md.'
        }
    }
}
