#requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# The main scenarios on real pwsh (tests/Invoke-PesterSuite.ps1 runs them; CI does). Needs a
# Docker engine, /bin/busybox (busybox-static) and a built module (dotnet build -c Release).
# Every wait is a condition with a deadline (Wait-Until), never a fixed sleep.

BeforeAll {
    $script:Root = Split-Path $PSScriptRoot -Parent
    $script:Image = 'claude-orchestrator-pester:latest'
    $script:Label = 'io.claude-orchestrator.managed=true'
    Import-Module (Join-Path $Root 'out/ClaudeOrchestrator/ClaudeOrchestrator.psd1') -Force

    docker version --format '{{.Server.Version}}' | Out-Null
    if ($LASTEXITCODE -ne 0) { throw 'These tests need a running Docker engine.' }

    # The same test image as the xunit fixture: busybox, the host's git and the stand-in claude script.
    $rootfs = Join-Path ([IO.Path]::GetTempPath()) ("co-pester-" + [guid]::NewGuid())
    New-Item -ItemType Directory -Path "$rootfs/bin", "$rootfs/usr/local/bin", "$rootfs/tmp", "$rootfs/workspace" | Out-Null
    Copy-Item /bin/busybox "$rootfs/bin/busybox"
    foreach ($applet in (& /bin/busybox --list)) {
        if ($applet -ne 'busybox') { New-Item -ItemType SymbolicLink -Path "$rootfs/bin/$applet" -Target busybox | Out-Null }
    }
    Copy-Item (Join-Path $Root 'tests/Shared/claude') "$rootfs/usr/local/bin/claude"
    chmod 755 "$rootfs/usr/local/bin/claude"
    chmod 1777 "$rootfs/tmp"
    foreach ($file in @('/usr/bin/git') + @((ldd /usr/bin/git) -split '\s+' | Where-Object { $_ -like '/*' })) {
        $target = Join-Path $rootfs $file.TrimStart('/')
        New-Item -ItemType Directory -Force -Path (Split-Path $target) | Out-Null
        cp -L $file $target
    }
    sh -c "tar -C '$rootfs' -c . | docker import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - $Image" | Out-Null
    Remove-Item -Recurse -Force $rootfs

    # The session's egress gateway waits a minute for the next task (Remove-Module takes it): not a task's container.
    function script:Get-LabelledName {
        # One listing with each container's role: two would see a network holder made between them.
        docker ps -a --filter "label=$Label" --format '{{.Names}} {{.Label "io.claude-orchestrator.role"}}' |
            ForEach-Object { $name, $role = $_ -split ' ', 2; if ($role -notin 'egress-gateway', 'egress-holder') { $name } }
    }

    # The shell these tests run in, for child shells: pwsh installed as a .NET tool is a launcher
    # whose process is dotnet, so $PID's path is not pwsh.
    $script:Pwsh = (Get-Command pwsh -CommandType Application | Select-Object -First 1).Source

    function script:Wait-Until {
        # -Show: what to print with the failure (a terminal test's screen), read when the deadline passed.
        param([scriptblock] $Condition, [timespan] $Timeout = '00:00:30', [string] $Because = 'the condition', [scriptblock] $Show)
        $deadline = [DateTime]::UtcNow + $Timeout
        while (-not (& $Condition)) {
            if ([DateTime]::UtcNow -gt $deadline) {
                $seen = if ($Show) { "`n" + ((& $Show) -join "`n") } else { '' }
                throw "Not within $($Timeout.TotalSeconds) s: $Because.$seen"
            }
            Start-Sleep -Milliseconds 50
        }
    }
}

AfterAll {
    # The gateway goes with the module, and with it its network: nothing labelled is left at all.
    Remove-Module ClaudeOrchestrator -ErrorAction SilentlyContinue
    docker ps -a --filter "label=$Label" --format '{{.Names}}' | Should -BeNullOrEmpty
    docker network ls --filter "label=$Label" --format '{{.Name}}' | Should -BeNullOrEmpty
    docker rmi $Image 2>$null | Out-Null
}

Describe 'Manifest' {
    It 'passes Test-ModuleManifest and exports exactly the cmdlets' {
        $manifest = Test-ModuleManifest (Join-Path $Root 'out/ClaudeOrchestrator/ClaudeOrchestrator.psd1')
        $manifest.ExportedCmdlets.Keys | Sort-Object | Should -Be @('Compare-ClaudeTask', 'Get-ClaudeCleanupReport', 'Get-ClaudeContainer', 'Get-ClaudeProject', 'Get-ClaudeTask', 'Merge-ClaudeTask', 'New-ClaudeProject', 'Receive-ClaudeTask', 'Remove-ClaudeContainer', 'Remove-ClaudeTask', 'Start-ClaudeTask', 'Test-ClaudeEngine', 'Watch-ClaudeTask')
        (Get-Command -Module ClaudeOrchestrator).Name | Sort-Object | Should -Be @('Compare-ClaudeTask', 'Get-ClaudeCleanupReport', 'Get-ClaudeContainer', 'Get-ClaudeProject', 'Get-ClaudeTask', 'Merge-ClaudeTask', 'New-ClaudeProject', 'Receive-ClaudeTask', 'Remove-ClaudeContainer', 'Remove-ClaudeTask', 'Start-ClaudeTask', 'Test-ClaudeEngine', 'Watch-ClaudeTask')
    }
}

Describe 'Start-ClaudeTask' {
    BeforeEach { $script:Project = New-Item -ItemType Directory -Path (Join-Path ([IO.Path]::GetTempPath()) ("co-p-" + [guid]::NewGuid())) }
    AfterEach {
        Remove-Item -Recurse -Force $Project
        Get-LabelledName | Should -BeNullOrEmpty
    }

    It 'succeeds, streams output and leaves no container' {
        $result = Start-ClaudeTask -Path $Project -Description 'succeed' -Image $Image -InformationVariable lines
        $result.Status | Should -Be 'Succeeded'
        $result.ExitCode | Should -Be 0
        $lines.MessageData.Message | Should -Contain 'agent: done'
        docker inspect $result.ContainerName 2>$null | Out-Null
        $LASTEXITCODE | Should -Not -Be 0
    }

    It 'reports a failing agent as Failed with a non-terminating error' {
        $result = Start-ClaudeTask -Path $Project -Description 'fail 3' -Image $Image -ErrorVariable err -ErrorAction SilentlyContinue
        $result.Status | Should -Be 'Failed'
        $result.ExitCode | Should -Be 3
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ClaudeTaskFailed*'
    }

    It 'times out and removes the container' {
        $result = Start-ClaudeTask -Path $Project -Description 'ignore-term 600' -Image $Image -Timeout 2s -ErrorAction SilentlyContinue
        $result.Status | Should -Be 'TimedOut'
    }

    It 'passes the description verbatim' {
        $description = "echo it's `"quoted`" `$(touch /tmp/x) ; `nsecond line"
        (Start-ClaudeTask -Path $Project -Description $description -Image $Image).Output | Should -BeExactly $description
    }

    It 'refuses a missing path before creating anything' {
        { Start-ClaudeTask -Path (Join-Path $Project 'missing') -Description 'succeed' -Image $Image -ErrorAction Stop } |
            Should -Throw -ErrorId 'ProjectPathNotFound*'
    }

    It 'refuses <Path> naming the rule' -ForEach @(
        @{ Path = '/etc'; Rule = 'SystemDirectory' }, @{ Path = '/usr/local'; Rule = 'SystemDirectory' },
        @{ Path = '/proc'; Rule = 'SystemDirectory' }, @{ Path = '/tmp'; Rule = 'SharedRoot' }) {
        { Start-ClaudeTask -Path $Path -Description 'succeed' -Image $Image -ErrorAction Stop } |
            Should -Throw -ErrorId 'ProjectPathRefused*' -ExpectedMessage "*(rule $Rule)*"
    }

    It 'refuses a credential store and runs beside it' {
        $fakeHome = Join-Path $Project 'home'
        $ssh = New-Item -ItemType Directory -Path (Join-Path $fakeHome '.ssh') -Force
        $beside = New-Item -ItemType Directory -Path (Join-Path $fakeHome '.sshx') -Force
        $previous = $env:HOME
        $env:HOME = $fakeHome
        try {
            { Start-ClaudeTask -Path $ssh -Description 'succeed' -Image $Image -ErrorAction Stop } |
                Should -Throw -ErrorId 'ProjectPathRefused*' -ExpectedMessage '*(rule CredentialStore)*'
            (Start-ClaudeTask -Path $beside -Description 'succeed' -Image $Image).Status | Should -Be 'Succeeded'
        }
        finally { $env:HOME = $previous }
    }

    It 'delivers a description longer than one argument may be, byte for byte' {
        $description = 'digest ' + ([string][char]0xFC * 100000)
        $bytes = [Text.Encoding]::UTF8.GetBytes($description)
        $hash = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData($bytes)).ToLowerInvariant()
        (Start-ClaudeTask -Path $Project -Description $description -Image $Image).Output.Trim() | Should -Be "bytes=$($bytes.Length) sha256=$hash"
    }

    It 'refuses a description over 8 MiB before creating anything' {
        { Start-ClaudeTask -Path $Project -Description ('x' * 9MB) -Image $Image -ErrorAction Stop } | Should -Throw -ErrorId 'DescriptionTooLong*'
    }

    It 'Stop-Job removes the container of an -AsJob task before it returns' {
        $job = Start-ClaudeTask -Path $Project -Description 'ignore-term 600' -Image $Image -AsJob
        Wait-Until { Get-ClaudeContainer | Where-Object State -eq running } -Because 'the job''s container runs'
        $running = Get-ClaudeContainer | Where-Object State -eq running
        $job | Stop-Job
        $job.State | Should -Be 'Stopped'
        docker inspect $running.Id 2>$null | Out-Null
        $LASTEXITCODE | Should -Not -Be 0 -Because 'the container is gone when Stop-Job returns'
        $job | Remove-Job
    }
}

Describe 'Remove-ClaudeContainer' {
    BeforeEach {
        $script:Suffix = [guid]::NewGuid().ToString('N').Substring(0, 6)
        docker run -d --name "my-claude-db-$Suffix" $Image sleep 600 | Out-Null
        docker run -d --name "claude-foreign-$Suffix" --label $Label --label 'io.claude-orchestrator.session-id=other' $Image sleep 600 | Out-Null
    }
    AfterEach { docker rm -f "my-claude-db-$Suffix" "claude-foreign-$Suffix" 2>$null | Out-Null }

    It '-WhatIf removes nothing' {
        Remove-ClaudeContainer -All -WhatIf
        Get-LabelledName | Should -Contain "claude-foreign-$Suffix"
    }

    It '-All removes labelled containers and spares unlabelled ones' {
        Remove-ClaudeContainer -All -Confirm:$false
        Get-LabelledName | Should -BeNullOrEmpty
        docker ps -a --format '{{.Names}}' | Should -Contain "my-claude-db-$Suffix"
    }

    It 'takes Get-ClaudeContainer objects from the pipeline' {
        $removed = Get-ClaudeContainer -All | Where-Object Name -eq "claude-foreign-$Suffix" | Remove-ClaudeContainer -PassThru -Confirm:$false
        $removed.Name | Should -Be "claude-foreign-$Suffix"
    }

    It 'refuses an unlabelled container by name' {
        { Remove-ClaudeContainer -Name "my-claude-db-$Suffix" -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerNotManaged*'
    }
}

Describe 'Maintenance' {
    BeforeAll {
        $script:PreviousState = $env:XDG_STATE_HOME
        $env:XDG_STATE_HOME = New-Item -ItemType Directory -Path (Join-Path ([IO.Path]::GetTempPath()) ("co-state-" + [guid]::NewGuid()))
    }
    AfterAll {
        Remove-Item -Recurse -Force $env:XDG_STATE_HOME
        $env:XDG_STATE_HOME = $PreviousState
    }
    BeforeEach {
        $script:Suffix = [guid]::NewGuid().ToString('N').Substring(0, 6)
        docker create --name "claude-old-$Suffix" --label $Label --label 'io.claude-orchestrator.session-id=other' $Image sleep 600 | Out-Null
        # The engine keeps creation times in whole seconds: "old" is old enough once 5 of them lie between the two.
        $created = [DateTime]::Parse((docker inspect --format '{{.Created}}' "claude-old-$Suffix"), [cultureinfo]::InvariantCulture).ToUniversalTime()
        Wait-Until { ([DateTime]::UtcNow - $created).TotalSeconds -ge 5 } -Because 'the old container is 5 s old'
        docker run -d --name "claude-busy-$Suffix" --label $Label --label 'io.claude-orchestrator.session-id=other' $Image sleep 600 | Out-Null
    }
    AfterEach { docker rm -f "claude-old-$Suffix" "claude-busy-$Suffix" 2>$null | Out-Null }

    It 'filters by -Status and -OlderThan' {
        # An egress gateway of an earlier task, and its network, may still wait for a next one: they are not what this filters.
        (Get-ClaudeContainer -All -Status running | Where-Object Role -notlike 'egress-*').Name | Should -Be "claude-busy-$Suffix"
        (Get-ClaudeContainer -All -OlderThan 4s | Where-Object Role -notlike 'egress-*').Name | Should -Be "claude-old-$Suffix"
    }

    It 'reads -OlderThan 1d as a day' {
        Remove-ClaudeContainer -All -OlderThan 1d -Confirm:$false
        Get-LabelledName | Should -Contain "claude-old-$Suffix"
    }

    It 'needs -Force for a running container of another session when nobody can be asked' {
        $manifest = Join-Path $Root 'out/ClaudeOrchestrator/ClaudeOrchestrator.psd1'
        $text = & $Pwsh -NoProfile -NonInteractive -Command "Import-Module '$manifest'; Remove-ClaudeContainer -All -Status running" 2>&1 | Out-String
        $LASTEXITCODE | Should -Be 1
        $text | Should -Match 'RunningContainerNeedsForce|add -Force'
        Get-LabelledName | Should -Contain "claude-busy-$Suffix"

        Remove-ClaudeContainer -All -Status running -Force
        Get-LabelledName | Should -Not -Contain "claude-busy-$Suffix"
    }

    It 'exits 1 from pwsh -Command when the engine is unreachable, and says why' {
        $manifest = Join-Path $Root 'out/ClaudeOrchestrator/ClaudeOrchestrator.psd1'
        $previous = $env:DOCKER_HOST
        $env:DOCKER_HOST = 'unix:///nonexistent/docker.sock'
        try { $text = & $Pwsh -NoProfile -NonInteractive -Command "Import-Module '$manifest'; Remove-ClaudeContainer -All -Confirm:`$false" 2>&1 | Out-String }
        finally { $env:DOCKER_HOST = $previous }
        $LASTEXITCODE | Should -Be 1
        $text | Should -Match 'unix:///nonexistent/docker.sock'
        $text | Should -Match 'does not exist'
    }

    It 'journals removals and reports them' {
        Remove-ClaudeContainer -All -Status created -Confirm:$false
        $line = Get-Content (Join-Path $env:XDG_STATE_HOME 'claude-orchestrator/cleanup.jsonl') | ConvertFrom-Json |
            Where-Object container -eq "claude-old-$Suffix"
        $line.reason | Should -Be 'Manual'
        $line.outcome | Should -Be 'Removed'
        (Get-ClaudeCleanupReport).ByReason['Manual'] | Should -BeGreaterThan 0
    }
}

Describe 'Orphan sweep' {
    It 'removes a created container of a dead session when the module is next imported' {
        $dead = Start-Process -FilePath sleep -ArgumentList 1 -PassThru
        $start = $dead.StartTime.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ss.fffZ', [cultureinfo]::InvariantCulture)
        $dead.WaitForExit()
        $name = 'claude-sweep-' + [guid]::NewGuid().ToString('N').Substring(0, 6)
        docker create --name $name --label $Label --label "io.claude-orchestrator.session-id=$([guid]::NewGuid().ToString('N'))" `
            --label "io.claude-orchestrator.owner-host=$([Environment]::MachineName)" --label "io.claude-orchestrator.owner-pid=$($dead.Id)" `
            --label "io.claude-orchestrator.owner-start=$start" $Image true | Out-Null
        try {
            $manifest = Join-Path $Root 'out/ClaudeOrchestrator/ClaudeOrchestrator.psd1'
            # The import's sweep runs in the background: the child lives until the container is gone, or 30 s.
            $said = & $Pwsh -NoProfile -NonInteractive -Command "Import-Module '$manifest'; `$d = [DateTime]::UtcNow.AddSeconds(30); while ((docker ps -aq --filter name=^$name`$) -and [DateTime]::UtcNow -lt `$d) { Start-Sleep -Milliseconds 100 }; 'waited'"
            $said | Should -Be 'waited'
            Get-LabelledName | Should -Not -Contain $name
        }
        finally { docker rm -f $name 2>$null | Out-Null }
    }
}

Describe 'Help, completion and streams' {
    It 'has a synopsis, two examples and every parameter described for <_>' -ForEach @(
        'Start-ClaudeTask', 'Get-ClaudeContainer', 'Remove-ClaudeContainer', 'Get-ClaudeCleanupReport', 'Get-ClaudeProject', 'New-ClaudeProject',
        'Get-ClaudeTask', 'Receive-ClaudeTask', 'Compare-ClaudeTask', 'Merge-ClaudeTask', 'Remove-ClaudeTask', 'Test-ClaudeEngine', 'Watch-ClaudeTask') {
        $help = Get-Help $_ -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match 'CommonParameters'
        @($help.examples.example).Count | Should -BeGreaterOrEqual 2
        $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
        foreach ($name in (Get-Command $_).Parameters.Keys | Where-Object { $_ -notin $common }) {
            ($help.parameters.parameter | Where-Object name -eq $name).description.Text | Should -Not -BeNullOrEmpty -Because "-$name needs help"
        }
    }

    It 'completes labelled container names only' {
        $suffix = [guid]::NewGuid().ToString('N').Substring(0, 6)
        docker run -d --name "claude-compl-$suffix" --label $Label $Image sleep 600 | Out-Null
        docker run -d --name "claude-compl-$suffix-x" $Image sleep 600 | Out-Null
        try {
            $line = "Get-ClaudeContainer -All -Name claude-compl-$suffix"
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be "claude-compl-$suffix"
        }
        finally { docker rm -f "claude-compl-$suffix" "claude-compl-$suffix-x" | Out-Null }
    }

    It 'names the engine and API version on the debug stream' {
        $debug = Get-ClaudeContainer -All -Debug 5>&1 | Where-Object { $_ -is [System.Management.Automation.DebugRecord] }
        $debug.Message | Should -Match 'API 1\.\d+'
    }
}

Describe 'Engines' {
    It 'reports every check of the default engine and writes no error when none fails' {
        $env:ANTHROPIC_API_KEY = 'sk-ant-pester-not-shown'
        try {
            $checks = Test-ClaudeEngine -Image $Image -Path $TestDrive -ErrorVariable failed
            $checks.Check | Should -Be @('Endpoint', 'Reachable', 'Engine', 'Rootless', 'Limits', 'API key', 'Image', 'Init', 'Shell', 'Bash', 'Agent', 'Project mount', 'User mapping', 'Checkout')
            ($checks | Where-Object Check -eq Checkout).Detail | Should -Match '^Overlay: '
            $checks | Where-Object Status -eq Fail | Should -BeNullOrEmpty
            $failed | Should -BeNullOrEmpty
            ($checks | Out-String) | Should -Not -Match 'sk-ant-pester'
            Get-LabelledName | Should -BeNullOrEmpty
        }
        finally { Remove-Item Env:ANTHROPIC_API_KEY }
    }

    It 'fails a check with its fix and a ClaudeEngineCheckFailed error' {
        $checks = Test-ClaudeEngine -Image $Image -AgentCommand no-such-agent -ErrorVariable failed -ErrorAction SilentlyContinue
        ($checks | Where-Object Check -eq Agent).Status | Should -Be 'Fail'
        ($checks | Where-Object Check -eq Agent).Fix | Should -Not -BeNullOrEmpty
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'ClaudeEngineCheckFailed,*'
    }

    It 'refuses an engine that names nothing before creating anything' {
        $p = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'engine-project')
        Start-ClaudeTask -Path $p -Description 'succeed' -Image $Image -Engine no-such-context -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'EngineNotFound,*'
        Get-LabelledName | Should -BeNullOrEmpty
    }

    It 'refuses -Swarm on an engine that is not a swarm manager before creating anything' {
        # The default engine of a test machine is a plain one; on a swarm manager -Swarm would run the task.
        docker info --format '{{.Swarm.ControlAvailable}}' | Should -Be 'false'
        $p = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'swarm-project')
        Start-ClaudeTask -Path $p -Description 'succeed' -Image $Image -Swarm -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SwarmUnavailable,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
        Get-LabelledName | Should -BeNullOrEmpty
    }

    It 'treats every refusal before anything exists alike: one error for the task, the command goes on, -ErrorAction Stop throws' -ForEach @(
        @{ Extra = @{ Engine = 'no-such-context' }; Id = 'EngineNotFound' },
        @{ Extra = @{ Swarm = $true }; Id = 'SwarmUnavailable' },
        @{ Extra = @{ Image = 'claude-orchestrator-no-such-image:1' }; Id = 'ImageNotFound' },
        @{ Extra = @{ Network = 'host' }; Id = 'NetworkModeRefused' }) {
        $p = New-Item -ItemType Directory -Path (Join-Path $TestDrive ('refused-' + [guid]::NewGuid().ToString('N').Substring(0, 6)))
        git -C $p init -q -b main; git -C $p -c user.name=t -c user.email=t@t commit -q --allow-empty -m first
        $gateways = @(docker ps -a --filter 'label=io.claude-orchestrator.role=egress-gateway' --format '{{.Names}}')
        $arguments = @{ Path = $p; Description = 'succeed'; Image = $Image }
        foreach ($key in $Extra.Keys) { $arguments[$key] = $Extra[$key] }
        # Non-terminating: the next statement runs, $? is false, -ErrorVariable has it.
        Start-ClaudeTask @arguments -ErrorVariable err -ErrorAction SilentlyContinue
        $ok = $?
        $ok | Should -BeFalse
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike "$Id,*"
        { Start-ClaudeTask @arguments -ErrorAction Stop } | Should -Throw -ErrorId "$Id*"
        Get-LabelledName | Should -BeNullOrEmpty
        # Nothing else either: no gateway started for it, no branch.
        @(docker ps -a --filter 'label=io.claude-orchestrator.role=egress-gateway' --format '{{.Names}}') | Where-Object { $_ -notin $gateways } | Should -BeNullOrEmpty
        git -C $p branch --format '%(refname:short)' | Should -Be 'main'
    }

    It 'gives each container its engine and removes piped ones on it' {
        $p = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'engine-pipe')
        $job = Start-ClaudeTask -Path $p -Description 'ignore-term 600' -Image $Image -AsJob
        Wait-Until { Get-ClaudeContainer } -Because 'the job''s container exists'
        $c = Get-ClaudeContainer -Engine *
        $c.Engine | Should -Not -BeNullOrEmpty
        $c | Remove-ClaudeContainer -Confirm:$false
        $job | Wait-Job -Timeout 30 | Out-Null
        $job.State | Should -Be 'Stopped'
        Get-LabelledName | Should -BeNullOrEmpty
        $job | Remove-Job
    }
}

Describe 'Projects' {
    BeforeAll {
        $script:PreviousProfiles = $env:CLAUDE_PROJECTS_DIR
        $env:CLAUDE_PROJECTS_DIR = New-Item -ItemType Directory -Path (Join-Path ([IO.Path]::GetTempPath()) ("co-profiles-" + [guid]::NewGuid()))
        $script:ProjectDir = New-Item -ItemType Directory -Path (Join-Path ([IO.Path]::GetTempPath()) ("co-p-" + [guid]::NewGuid()))
    }
    AfterAll {
        Remove-Item -Recurse -Force $env:CLAUDE_PROJECTS_DIR, $ProjectDir
        $env:CLAUDE_PROJECTS_DIR = $PreviousProfiles
    }

    It 'reads a seed-format profile and runs a task by name' {
        @"
name: shop
local_path: $ProjectDir
git:
  remote: origin
docker:
  image: $Image
  memory: 256m
  network_mode: none
"@ | Set-Content (Join-Path $env:CLAUDE_PROJECTS_DIR 'shop.yaml')
        $project = Get-ClaudeProject shop
        $project.IsValid | Should -BeTrue
        $project.Memory | Should -Be '256m'
        (Start-ClaudeTask -Project shop -Description 'write by-name.txt ok').Status | Should -Be 'Succeeded'
        Get-Content (Join-Path $ProjectDir 'by-name.txt') | Should -Be 'ok'
    }

    It 'names the file and field of a bad value' {
        "local_path: $ProjectDir`ndocker:`n  memory: 4x" | Set-Content (Join-Path $env:CLAUDE_PROJECTS_DIR 'bad.yaml')
        (Get-ClaudeProject bad).Problem | Should -Match "bad.yaml: field 'docker.memory'"
        { Start-ClaudeTask -Project bad -Description 'succeed' -ErrorAction Stop } | Should -Throw -ErrorId 'ProjectProfileInvalid*'
    }

    It 'refuses names that leave the profiles directory' {
        { Start-ClaudeTask -Project '../x' -Description 'succeed' -ErrorAction Stop } | Should -Throw -ErrorId 'ProjectNameInvalid*'
    }

    It 'writes a profile and refuses to overwrite it without -Force' {
        New-ClaudeProject -Name fresh -Path $ProjectDir -Memory 2g | Select-Object -ExpandProperty IsValid | Should -BeTrue
        { New-ClaudeProject -Name fresh -Path $ProjectDir -ErrorAction Stop } | Should -Throw -ErrorId 'ProjectProfileExists*'
    }
}

Describe 'Tasks on branches' {
    BeforeEach {
        $script:Repo = New-Item -ItemType Directory -Path (Join-Path ([IO.Path]::GetTempPath()) ("co-g-" + [guid]::NewGuid()))
        git -C $Repo init -q -b main
        git -C $Repo config user.name 'Test User'
        git -C $Repo config user.email 'test@example.invalid'
        Set-Content -Path (Join-Path $Repo 'README.md') -Value 'hello' -NoNewline
        git -C $Repo add -A
        git -C $Repo commit -q -m first
    }
    AfterEach {
        Remove-Item -Recurse -Force $Repo
        Get-LabelledName | Should -BeNullOrEmpty
    }

    It 'commits leftover work on claude/<id> and leaves the user tree as it was' {
        Add-Content -Path (Join-Path $Repo 'README.md') -Value 'my edit'
        $before = (Get-FileHash (Join-Path $Repo 'README.md')).Hash
        $result = Start-ClaudeTask -Path $Repo -Description 'write-here new.txt by-agent' -Image $Image -WarningVariable warned
        $result.Status | Should -Be 'Succeeded'
        $result.Branch | Should -Be "claude/$($result.TaskId)"
        $result.Work | Should -Be 'ModuleCommit'
        $result.FilesChanged | Should -Be 1
        git -C $Repo show "$($result.Branch):new.txt" | Should -Be 'by-agent'
        $warned | Should -Match '1 file\(s\) .* uncommitted changes'
        (Get-FileHash (Join-Path $Repo 'README.md')).Hash | Should -Be $before
        Test-Path (Join-Path $Repo 'new.txt') | Should -BeFalse
        git -C $Repo symbolic-ref --short HEAD | Should -Be 'main'
        (Receive-ClaudeTask $result.TaskId -Stream Output).Text | Should -Contain 'agent: wrote new.txt'
    }

    It 'gives four concurrent jobs four branches with only their own file' {
        $jobs = 1..4 | ForEach-Object { Start-ClaudeTask -Path $Repo -Description "write-here file$_.txt c$_" -Image $Image -AsJob }
        $results = $jobs | Wait-Job -Timeout 120 | Receive-Job
        $results.Count | Should -Be 4
        foreach ($r in $results) {
            $r.Status | Should -Be 'Succeeded'
            @(git -C $Repo diff --name-only $r.BaseCommit $r.Branch).Count | Should -Be 1
        }
        ($results.Branch | Sort-Object -Unique).Count | Should -Be 4
        git -C $Repo status --porcelain | Should -BeNullOrEmpty
    }

    It 'copies the workspace into volumes with -Workspace Copy and brings the work back into the branch' {
        $result = Start-ClaudeTask -Path $Repo -Description 'several README.md' -Image $Image -Workspace Copy
        $result.Status | Should -Be 'Succeeded'
        $result.Workspace | Should -Be 'Copy'
        ($result.Output -split "`n" | Where-Object { $_ -like 'mount-root=*' }) | Should -Match "/volumes/claude-$($result.TaskId)-workspace/_data"
        $result.Commits | Should -Be 2
        git -C $Repo show "$($result.Branch):committed.txt" | Should -Be 'committed'
        git -C $Repo show "$($result.Branch):loose.txt" | Should -Be 'loose'
        git -C $Repo ls-tree --name-only $result.Branch | Should -Not -Contain 'README.md'
        docker volume ls -q --filter "label=io.claude-orchestrator.task-id=$($result.TaskId)" | Should -BeNullOrEmpty
    }

    It 'commits the work of a timed-out task' {
        $result = Start-ClaudeTask -Path $Repo -Description 'write-then-sleep left.txt late 600' -Image $Image -Timeout 3 -ErrorAction SilentlyContinue
        $result.Status | Should -Be 'TimedOut'
        $result.Work | Should -Be 'ModuleCommit'
        git -C $Repo show "$($result.Branch):left.txt" | Should -Be 'late'
    }

    It 'merges a branch, refuses a dirty tree and aborts a conflict' {
        $ok = Start-ClaudeTask -Path $Repo -Description 'write-here merged.txt m' -Image $Image
        (Compare-ClaudeTask $ok.TaskId).Path | Should -Be 'merged.txt'
        Add-Content -Path (Join-Path $Repo 'README.md') -Value 'dirty'
        { $ok | Merge-ClaudeTask -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'MergeWorkingTreeDirty*'
        git -C $Repo checkout -q -- README.md
        $ok | Merge-ClaudeTask -Confirm:$false | Out-Null
        Get-Content (Join-Path $Repo 'merged.txt') -Raw | Should -Be 'm'

        $clash = Start-ClaudeTask -Path $Repo -Description 'write-here README.md theirs' -Image $Image
        Set-Content -Path (Join-Path $Repo 'README.md') -Value 'ours'
        git -C $Repo commit -q -am ours
        $head = git -C $Repo rev-parse HEAD
        { Merge-ClaudeTask $clash.TaskId -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'MergeConflict*'
        git -C $Repo rev-parse HEAD | Should -Be $head
        git -C $Repo status --porcelain | Should -BeNullOrEmpty

        Remove-ClaudeTask $clash.TaskId -Confirm:$false -WarningVariable kept
        $kept | Should -Match 'Kept the branch'
        git -C $Repo branch --list $clash.Branch | Should -Not -BeNullOrEmpty
    }

    It 'refuses a repository without commits before creating anything' {
        $empty = New-Item -ItemType Directory -Path (Join-Path ([IO.Path]::GetTempPath()) ("co-e-" + [guid]::NewGuid()))
        git -C $empty init -q
        { Start-ClaudeTask -Path $empty -Description 'succeed' -Image $Image -ErrorAction Stop } | Should -Throw -ErrorId 'IsolationNoCommits*'
        Get-LabelledName | Should -BeNullOrEmpty
        Remove-Item -Recurse -Force $empty
    }
}

Describe 'Claude Code events, resume and fan-out' {
    BeforeEach { $script:Project = New-Item -ItemType Directory -Path (Join-Path ([IO.Path]::GetTempPath()) ("co-a-" + [guid]::NewGuid())) }
    AfterEach {
        Remove-Item -Recurse -Force $Project
        Get-LabelledName | Should -BeNullOrEmpty
    }

    It 'renders tool calls and reads session, turns, tokens and cost' {
        $result = Start-ClaudeTask -Path $Project -Description 'tools made.txt' -Image $Image -InformationVariable lines
        $result.Status | Should -Be 'Succeeded'
        $lines.MessageData.Message | Should -Contain '-> Write made.txt'
        $lines.MessageData.Message | Should -Contain '-> Bash: npm test'
        $result.SessionId | Should -Match '^[0-9a-f-]{36}$'
        $result.Turns | Should -Be 5
        $result.CostUsd | Should -Be 0.0123
        $result.InputTokens | Should -Be 1200
        $result.ResultText | Should -Be 'agent: done with tools'
    }

    It 'names the error the agent reported' {
        $result = Start-ClaudeTask -Path $Project -Description 'api-error 401 authentication_error Invalid_API_key authentication_failed' -Image $Image -ErrorVariable err -ErrorAction SilentlyContinue
        $result.ErrorKind | Should -Be 'AuthenticationFailed'
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AgentAuthenticationFailed*'
    }

    It 'retries a rate-limited task and counts the attempts' {
        $result = Start-ClaudeTask -Path $Project -Description 'flaky runs.txt 1' -Image $Image -RetryDelay 200ms -WarningVariable warned
        $result.Status | Should -Be 'Succeeded'
        $result.Attempts | Should -Be 2
        $warned | Should -Not -BeNullOrEmpty
    }

    It 'resumes a task with its Claude Code session' {
        $first = Start-ClaudeTask -Path $Project -Description 'session' -Image $Image
        $resumed = $first | Start-ClaudeTask -Resume -Description 'session'
        $resumed.Output | Should -Match "resume=$($first.SessionId)"
        $resumed.ResumedFrom | Should -Be $first.TaskId
        { Start-ClaudeTask -Resume zzzzzzzz 'x' -ErrorAction Stop } | Should -Throw -ErrorId 'ClaudeTaskNotFound*'
    }

    It 'fans piped projects out under -ThrottleLimit and removes everything on Stop-Job' {
        $dirs = 1..4 | ForEach-Object { (New-Item -ItemType Directory -Path (Join-Path $Project "p$_")).FullName }
        $results = $dirs | Start-ClaudeTask -Description 'sleep 1' -Image $Image -Isolation None -ThrottleLimit 2
        $results.Count | Should -Be 4
        $results.Status | Should -Not -Contain 'Failed'
        $overlap = foreach ($a in $results) { @($results | Where-Object { $_.StartTime -lt $a.EndTime -and $a.StartTime -lt $_.EndTime -and $_.StartTime -le $a.StartTime }).Count }
        ($overlap | Measure-Object -Maximum).Maximum | Should -BeLessOrEqual 2

        $job = $dirs | Start-ClaudeTask -Description 'sleep 600' -Image $Image -Isolation None -AsJob -ThrottleLimit 2
        $job.ChildJobs.Count | Should -Be 4
        Wait-Until { @($job.ChildJobs | Where-Object State -eq Running).Count -ge 2 } -Because 'two child jobs run'
        $job | Stop-Job
        $job.State | Should -Be 'Stopped'
        Get-LabelledName | Should -BeNullOrEmpty
    }
}

Describe 'Installs like any other module' {
    It 'installs from a folder repository with PSResourceGet, imports by name, has its help, completes and runs a task' {
        $work = New-Item -ItemType Directory -Path (Join-Path ([IO.Path]::GetTempPath()) ("co-install-" + [guid]::NewGuid()))
        try {
            $packages = New-Item -ItemType Directory -Path (Join-Path $work 'packages')
            dotnet pack (Join-Path $Root 'src/ClaudeOrchestrator/ClaudeOrchestrator.csproj') -c Release --no-build -o $packages | Out-Null
            $LASTEXITCODE | Should -Be 0 -Because 'the package is made from the staged module'
            $project = New-Item -ItemType Directory -Path (Join-Path $work 'project')
            # A home of its own: the install goes where a user's would, and nowhere near the caller's modules.
            $script = @"
`$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name co-local -Uri '$packages' -Trusted
Install-PSResource ClaudeOrchestrator -Repository co-local -Scope CurrentUser -TrustRepository -Quiet
Import-Module ClaudeOrchestrator
'base=' + (Get-Module ClaudeOrchestrator).ModuleBase
'synopsis=' + (Get-Help Start-ClaudeTask).Synopsis
'topics=' + @(Get-Help about_ClaudeOrchestrator*).Count
`$line = 'Start-ClaudeTask -Image $($Image.Substring(0, 26))'
'completion=' + ((TabExpansion2 -inputScript `$line -cursorColumn `$line.Length).CompletionMatches.CompletionText -join ',')
'status=' + (Start-ClaudeTask -Path '$project' -Description 'succeed' -Image $Image).Status
"@
            $isolated = @{ HOME = "$work/home"; XDG_DATA_HOME = $null; XDG_STATE_HOME = "$work/state"; XDG_CONFIG_HOME = $null }
            $saved = @{}
            foreach ($name in $isolated.Keys) { $saved[$name] = [Environment]::GetEnvironmentVariable($name); [Environment]::SetEnvironmentVariable($name, $isolated[$name]) }
            try { $lines = & $Pwsh -NoProfile -NonInteractive -Command $script 2>&1 | ForEach-Object { "$_" } }
            finally { foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) } }
            $LASTEXITCODE | Should -Be 0 -Because ($lines -join "`n")
            $lines | Should -Contain "base=$work/home/.local/share/powershell/Modules/ClaudeOrchestrator/$((Import-PowerShellDataFile (Join-Path $Root 'out/ClaudeOrchestrator/ClaudeOrchestrator.psd1')).ModuleVersion)"
            ($lines | Where-Object { $_ -like 'synopsis=*' }) | Should -BeLike 'synopsis=Runs a coding-agent task*'
            ($lines | Where-Object { $_ -like 'topics=*' }) | Should -Not -Be 'topics=0'
            ($lines | Where-Object { $_ -like 'completion=*' }) | Should -BeLike "*$Image*"
            $lines | Should -Contain 'status=Succeeded'
        }
        finally { Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue }
    }
}

Describe 'About topics' {
    It 'lists every about_ topic the module ships, each with its descriptions' {
        $sources = Get-ChildItem (Join-Path $Root 'src/ClaudeOrchestrator/Help') -Filter 'about_*.md' | ForEach-Object BaseName | Sort-Object
        $sources.Count | Should -BeGreaterOrEqual 11
        $shipped = Get-ChildItem (Join-Path $Root 'out/ClaudeOrchestrator/en-US') -Filter 'about_*.help.txt' | ForEach-Object { $_.Name -replace '\.help\.txt$' } | Sort-Object
        $shipped | Should -Be $sources
        $listed = @(Get-Help about_ClaudeOrchestrator*) | ForEach-Object Name | Sort-Object
        $listed | Should -Be $sources
        foreach ($topic in $sources) {
            $text = Get-Help $topic | Out-String
            $text | Should -Match 'SHORT DESCRIPTION' -Because $topic
            $text | Should -Match 'LONG DESCRIPTION' -Because $topic
        }
    }
}

Describe 'In a real terminal' {
    BeforeAll {
        $script:Tmux = 'co-term-' + [guid]::NewGuid().ToString('N').Substring(0, 6)
        $script:TermProject = New-Item -ItemType Directory -Path (Join-Path ([IO.Path]::GetTempPath()) ("co-t-" + [guid]::NewGuid()))
        $manifest = Join-Path $Root 'out/ClaudeOrchestrator/ClaudeOrchestrator.psd1'
        tmux new-session -d -s $Tmux -x 200 -y 50 "$Pwsh -NoProfile -NoLogo"
        $LASTEXITCODE | Should -Be 0 -Because 'tmux starts a terminal with pwsh in it'
        function script:Screen { (tmux capture-pane -p -t $Tmux) -join "`n" }
        # The prompt is back when the last line with text on the screen is one.
        function script:AtPrompt { ((tmux capture-pane -p -t $Tmux) | Where-Object { $_.Trim() } | Select-Object -Last 1) -match '^PS .*> ?$' }
        # Typed only at a prompt: keys typed ahead while a command runs reach PSReadLine in the
        # terminal's cooked mode, where the Enter may come as a line feed that does not accept the line.
        function script:Send-Line([string] $Line) {
            Wait-Until { AtPrompt } -Because 'the prompt is there to type at' -Show { Screen }
            tmux send-keys -t $Tmux -l $Line
            tmux send-keys -t $Tmux Enter
        }
        function script:Clear-Screen {
            Send-Line 'Clear-Host'
            Wait-Until { ((tmux capture-pane -p -t $Tmux) | Where-Object { $_.Trim() }).Count -eq 1 -and (AtPrompt) } -Because 'the screen clears' -Show { Screen }
        }
        Wait-Until { AtPrompt } -Because 'pwsh shows its prompt'
        Send-Line "Import-Module '$manifest'"
        Wait-Until { (AtPrompt) -and (Screen) -match 'Import-Module' } -Because 'the module imports'
    }
    AfterAll {
        # Left as a user leaves it: the shell exits, and its session's gateway goes with it.
        Send-Line 'exit'
        Wait-Until { tmux has-session -t $Tmux 2>$null; $LASTEXITCODE -ne 0 } -Because 'the shell exits' -Show { Screen }
        Remove-Item -Recurse -Force $TermProject
    }

    It 'shows the agent''s lines as they come and a progress bar while the task runs, then the result and the prompt' {
        Clear-Screen
        Send-Line "Start-ClaudeTask -Path '$TermProject' -Description 'sleep 6' -Image $Image | Format-List Status, ExitCode"
        Wait-Until { (Screen) -match 'agent: sleeping 6' } -Timeout '00:01:00' -Because 'the agent''s first line shows while it runs'
        (Screen) | Should -Not -Match 'agent: woke up' -Because 'it showed before the agent ended'
        Wait-Until { (Screen) -match 'Claude task: ' -and (Screen) -match 'Agent running in claude-' } -Because 'the progress bar shows the running task'
        Wait-Until { (Screen) -match 'Status\s+: Succeeded' } -Timeout '00:01:00' -Because 'the result shows when the task ends'
        Wait-Until { AtPrompt } -Because 'the prompt returns'
        $screen = Screen
        $screen | Should -Match 'agent: woke up'
        $screen.IndexOf('agent: sleeping 6') | Should -BeLessThan $screen.IndexOf('agent: woke up')
        $screen | Should -Not -Match 'Agent running in claude-' -Because 'the progress bar is gone once the task ended'
    }

    It 'returns the prompt on Ctrl+C with no container left' {
        Clear-Screen
        Send-Line "Start-ClaudeTask -Path '$TermProject' -Description 'ignore-term 600' -Image $Image"
        Wait-Until { (Screen) -match 'agent: ignoring SIGTERM' } -Timeout '00:01:00' -Because 'the agent runs' -Show { Screen }
        $name = Get-LabelledName
        $name | Should -Not -BeNullOrEmpty
        tmux send-keys -t $Tmux C-c
        Wait-Until { AtPrompt } -Timeout '00:00:30' -Because 'Ctrl+C returns the prompt'
        Get-LabelledName | Should -BeNullOrEmpty -Because 'the container was removed before the prompt came back'
        docker inspect $name 2>$null | Out-Null
        $LASTEXITCODE | Should -Not -Be 0
    }

    It 'shows twenty tasks of two other sessions on a live board that leaves them running' {
        # A repository of its own, so the board's rows are only these tasks, each on its branch.
        $board = New-Item -ItemType Directory -Path (Join-Path ([IO.Path]::GetTempPath()) ("co-board-" + [guid]::NewGuid().ToString('N').Substring(0, 8)))
        git -C $board init -q -b main; Set-Content "$board/README.md" 'board'; git -C $board add -A
        git -C $board -c user.name=t -c user.email=t@t.invalid commit -qm first
        $project = $board.Name
        $manifest = Join-Path $Root 'out/ClaudeOrchestrator/ClaudeOrchestrator.psd1'
        # Two sessions of their own (pwsh processes), ten tasks each: fifteen turns, one a second, each writing a file.
        $fanOut = "Import-Module '$manifest'; 1..10 | ForEach-Object { [pscustomobject]@{ Path = '$board'; Description = 'spend 15 1000 1' } } | " +
                  "Start-ClaudeTask -Image $Image -Network none -ThrottleLimit 10 | Where-Object Status -ne Succeeded | ForEach-Object { exit 1 }"
        # Rows of this board that say Running, by id, with their turn.
        function script:RunningTurns {
            $turns = @{}
            foreach ($line in (tmux capture-pane -p -t $Tmux)) {
                if ($line -match '^(\w{8})\s+\S+\s+claude/\S+\s+Running\s+\d+:\d\d\s+(\d+|-)\s') { $turns[$Matches[1]] = if ($Matches[2] -eq '-') { 0 } else { [int]$Matches[2] } }
            }
            $turns
        }
        try {
            Clear-Screen
            Send-Line "Watch-ClaudeTask -Project $project"
            Wait-Until { (Screen) -match 'Claude tasks · 0 running' } -Because 'the board is drawn' -Show { Screen }
            $sessions = 1..2 | ForEach-Object { Start-Process -FilePath $Pwsh -ArgumentList '-NoProfile', '-Command', $fanOut -PassThru -RedirectStandardOutput "$board.out$_" -RedirectStandardError "$board.err$_" }

            Wait-Until { (RunningTurns).Count -eq 20 } -Timeout '00:02:00' -Because 'twenty running tasks of the two sessions appear on the board' -Show { Screen }
            $first = RunningTurns
            Wait-Until { $now = RunningTurns; @($now.Keys | Where-Object { $first.ContainsKey($_) -and $now[$_] -gt $first[$_] }).Count -ge 10 } -Because 'their turns go up on the board' -Show { Screen }
            (Screen) | Should -Match 'claude/\w{8}' -Because 'each row shows its branch'
            (Screen) | Should -Match '~\$0\.0\d{3}' -Because 'running tasks show their cost so far, estimated'
            @(tmux capture-pane -p -t $Tmux).Count | Should -BeLessOrEqual 50 -Because 'the board fits the window'

            tmux send-keys -t $Tmux q
            Wait-Until { AtPrompt } -Because 'q leaves the board' -Show { Screen }
            (Screen) | Should -Match "Watch-ClaudeTask -Project $project" -Because 'the screen from before the board is back'
            $left = @(Watch-ClaudeTask -Once -Project $project -Status Running)
            $left.Count | Should -BeGreaterThan 0 -Because 'leaving the board leaves the tasks running'
            $sessions | ForEach-Object { $_.HasExited | Should -BeFalse }

            Send-Line "Watch-ClaudeTask -Project $project"
            Wait-Until { ([regex]::Matches((Screen), '\bSucceeded\b')).Count -eq 20 } -Timeout '00:02:00' -Because 'the twenty tasks end on the board' -Show { Screen }
            (Screen) | Should -Match 'Claude tasks · 0 running · 20 ended'
            tmux send-keys -t $Tmux C-c
            Wait-Until { AtPrompt } -Because 'Ctrl+C leaves the board too' -Show { Screen }

            foreach ($session in $sessions) {
                $session.WaitForExit(60000) | Should -BeTrue
                $session.ExitCode | Should -Be 0 -Because "every task of both sessions succeeded: $(Get-Content "$board.err*" -Raw)"
            }
            $rows = @(Watch-ClaudeTask -Once -Project $project)
            $rows.Count | Should -Be 20
            $rows | ForEach-Object { $_.Turns | Should -Be 15; $_.FilesChanged | Should -Be 15; $_.CostEstimated | Should -BeFalse }
            @(git -C $board for-each-ref refs/heads/claude/).Count | Should -Be 20
        }
        finally {
            $sessions | Where-Object { $_ -and -not $_.HasExited } | ForEach-Object { $_.Kill() }
            Remove-Item -Recurse -Force $board, "$board.out*", "$board.err*" -ErrorAction SilentlyContinue
        }
    }
}
