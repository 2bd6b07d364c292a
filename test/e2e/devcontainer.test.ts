// tta inside a container that talks to the engine through its socket (docker outside of docker,
// as in the bundled .devcontainer): the workspace is mounted at another path than on the host,
// so bind sources must be translated for hot reload to see the sources.
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {cleanupProject, copyWorkspace, docker, CORE_PORT_VARS, freePortEnv, httpGet, removeWorkspace, repoRoot, uniqueProject, waitFor} from './helpers.js'

const project = uniqueProject('devc')
const cli = `${project}-cli`
let workspace = ''
const ports: Record<string, string> = {}

function inCli(args: string[], timeoutMs = 240_000) {
  const env = Object.entries(ports).flatMap(([k, v]) => ['-e', `${k}=${v}`])
  return docker(['exec', ...env, '-e', 'NO_COLOR=1', cli, 'node', '/opt/tta/bin/run.js', ...args, '--workspace', '/workspaces/tta', '--project-name', project], {
    timeoutMs,
    allowFailure: true,
  })
}

beforeAll(async () => {
  workspace = copyWorkspace()
  Object.assign(ports, await freePortEnv(CORE_PORT_VARS))
  // A stand-in devcontainer: this machine's node binary and the built project, the engine's
  // socket, and the workspace mounted at /workspaces/tta, as VS Code would.
  await docker([
    'run', '-d', '--name', cli,
    '-v', `${process.execPath}:/usr/local/bin/node:ro`,
    '-v', `${repoRoot}:/opt/tta:ro`,
    '-v', '/var/run/docker.sock:/var/run/docker.sock',
    '-v', `${workspace}:/workspaces/tta`,
    '-e', `LOCAL_WORKSPACE_FOLDER=${workspace}`,
    '-e', 'REMOTE_CONTAINERS=true',
    'tta-standin/python:local', 'sleep', '3600',
  ])
})

afterAll(async () => {
  await docker(['rm', '-f', cli], {allowFailure: true})
  await cleanupProject(project)
  removeWorkspace(workspace)
})

describe('tta in a devcontainer (docker outside of docker)', () => {
  it('starts the stack with bind sources translated to host paths', async () => {
    const result = await inCli(['dev', '--verbose'])
    expect(result.stderr + result.stdout).toContain('9 services ready')
    expect(result.code).toBe(0)
    expect(result.stderr).toContain('bind sources translated via container mounts')
    const mounts = await docker(['inspect', '--format', '{{json .Mounts}}', `${project}-admin-api-1`])
    const sources = (JSON.parse(mounts.stdout) as Array<{Source: string; Destination: string}>).map((m) => m.Source)
    expect(sources).toContain(join(workspace, 'services', 'admin-api', 'app'))
    expect(sources.some((s) => s.startsWith('/workspaces/'))).toBe(false)
  })

  it('hot reload works through the translated bind mount', async () => {
    const main = join(workspace, 'services', 'admin-api', 'app', 'main.py')
    writeFileSync(main, readFileSync(main, 'utf8').replace('"version": "1"', '"version": "from-devcontainer"'))
    const body = await waitFor(
      async () => {
        const response = await httpGet(`http://127.0.0.1:${ports.TTA_ADMIN_API_PORT}/`, 1_000)
        return response.body.includes('from-devcontainer') ? response.body : undefined
      },
      {timeoutMs: 5_000, intervalMs: 100, description: 'admin-api serving the edited source'},
    )
    expect(body).toContain('from-devcontainer')
  })

  it('builds through the engine API when the container has no docker CLI', async () => {
    const result = await inCli(['dev', 'langgraph', '--build', '--verbose'])
    expect(result.code).toBe(0)
    expect(result.stderr).toContain('langgraph: built with the engine API (no docker buildx found)')
    expect(result.stderr).toMatch(/langgraph\s+build tta\/langgraph:dev: done/)
  })

  it('tta status probes every service from inside and finds them healthy', async () => {
    const result = await inCli(['status', '--check', '--json'])
    expect(result.code).toBe(0)
    const report = JSON.parse(result.stdout) as {healthy: boolean; services: Array<{service: string; status: string; probe?: {type?: string; target?: string; ok?: boolean; latencyMs?: number}}>}
    expect(report.healthy).toBe(true)
    expect(report.services.map((s) => s.service).sort()).toEqual(['admin-api', 'clinical-api', 'developer-api', 'frontend', 'langgraph', 'neo4j', 'patient-api', 'postgres', 'redis'])
    for (const service of report.services) expect(service.status).toBe('healthy')
    // Probed at its container address on the shared network, not at the host's 127.0.0.1.
    const redis = report.services.find((s) => s.service === 'redis')
    expect(redis?.probe).toMatchObject({type: 'redis', ok: true})
    expect(redis?.probe?.target).not.toMatch(/^127\.0\.0\.1:/)
  })

  it('a second run from inside recreates nothing', async () => {
    const result = await inCli(['dev'])
    expect(result.code).toBe(0)
    expect(result.stderr).not.toMatch(/creating|recreating/)
  })
})
