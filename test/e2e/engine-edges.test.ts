// The engine's behaviour at its edges: no engine, bad service names, an old engine's missing
// features, a port in use, Ctrl-C in the middle of `tta dev`.
import {spawn} from 'node:child_process'
import {createServer, type Server} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {cleanupProject, copyWorkspace, docker, CORE_PORT_VARS, freePort, freePortEnv, PROJECT_LABEL, removeWorkspace, runTta, ttaBin, uniqueProject} from './helpers.js'

const project = uniqueProject('edges')
let workspace = ''
const env: Record<string, string> = {}

function tta(args: string[], extraEnv: Record<string, string> = {}) {
  return runTta([...args, '--workspace', workspace, '--project-name', project], {env: {...env, ...extraEnv}, timeoutMs: 180_000})
}

async function states(): Promise<Record<string, string>> {
  const out = await docker(['ps', '-a', '--filter', `label=${PROJECT_LABEL}=${project}`, '--format', '{{.Label "com.docker.compose.service"}} {{.State}}'])
  return Object.fromEntries(out.stdout.trim().split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]))
}

beforeAll(async () => {
  workspace = copyWorkspace()
  Object.assign(env, await freePortEnv(CORE_PORT_VARS))
})

afterAll(async () => {
  await cleanupProject(project)
  removeWorkspace(workspace)
})

describe('engine edges', () => {
  it('exits 3 within 2 seconds, with a fix, when the engine is unreachable', async () => {
    const t0 = Date.now()
    const result = await tta(['dev'], {DOCKER_HOST: 'unix:///nonexistent/docker.sock'})
    expect(result.code).toBe(3)
    expect(Date.now() - t0).toBeLessThan(2_000 + 1_500) // 2 s budget plus node start-up
    expect(result.stderr).toContain('cannot reach the Docker engine at unix:///nonexistent/docker.sock')
    expect(result.stderr).toMatch(/start the Docker engine/)
    expect(result.stderr).not.toMatch(/^\s+at /m)
    expect(await states()).toEqual({})
  })

  it('rejects an unknown service with exit 2 before creating anything', async () => {
    const result = await tta(['dev', 'no-such-api'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('no such service: no-such-api')
    expect(await states()).toEqual({})
  })

  it('starts the named services with their dependencies only, and notes start_interval dropped on this engine under --verbose', async () => {
    const result = await tta(['dev', 'admin-api', 'developer-api', '--verbose', '--build'])
    expect(result.code).toBe(0)
    // --build rebuilt the image through the docker CLI, its output streamed under --verbose.
    expect(result.stderr).toMatch(/admin-api\s+build tta\/admin-api:dev: done/)
    expect(result.stderr).toMatch(/admin-api\s+\| .*(FROM|Step|DONE)/)
    expect(Object.keys(await states()).sort()).toEqual(['admin-api', 'developer-api', 'postgres', 'redis'])
    const api = (await docker(['version', '--format', '{{.Server.APIVersion}}'])).stdout.trim()
    const [major = 0, minor = 0] = api.split('.').map(Number)
    if (major === 1 && minor < 44) {
      expect(result.stderr).toContain('dropped healthcheck.start_interval')
    } else {
      expect(result.stderr).not.toContain('dropped healthcheck.start_interval')
    }
    // The printed plan names each action.
    expect(result.stderr).toMatch(/service\s+admin-api\s+create/)
  })

  it('refuses with exit 2, before creating anything, when a host port is taken, naming the variable to change', async () => {
    await cleanupProject(project)
    const blocker: Server = createServer()
    const port = await freePort()
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve))
    try {
      const result = await tta(['dev', 'developer-api'], {TTA_DEVELOPER_API_PORT: String(port)})
      expect(result.code).toBe(2)
      expect(result.stderr).toContain(`developer-api: host port 127.0.0.1:${port} is already in use`)
      expect(result.stderr).toContain('set TTA_DEVELOPER_API_PORT to a free port')
      // The holder is named: this test's own process.
      expect(result.stderr).toMatch(new RegExp(`in use by process \\S+ \\(pid ${process.pid}\\)`))
      expect(await states()).toEqual({})
      // tta doctor reports the same, and exits 1.
      const doctor = await tta(['doctor', '--json'], {TTA_DEVELOPER_API_PORT: String(port)})
      expect(doctor.code).toBe(1)
      const report = JSON.parse(doctor.stdout) as {ok: boolean; checks: Array<{id: string; status: string; detail: string}>}
      expect(report.ok).toBe(false)
      const ports = report.checks.find((c) => c.id === 'ports')
      expect(ports?.status).toBe('fail')
      expect(ports?.detail).toContain(`127.0.0.1:${port} (developer-api) is taken by process`)
    } finally {
      blocker.close()
    }
  })

  it('Ctrl-C during tta dev exits 130, leaves no created-but-not-started container, and the next run converges', async () => {
    await cleanupProject(project)
    const child = spawn(process.execPath, [ttaBin, 'dev', '--workspace', workspace, '--project-name', project], {
      env: {...process.env, ...env, NO_COLOR: '1'},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    const code = await new Promise<number | null>((resolve) => {
      const killer = setTimeout(() => child.kill('SIGKILL'), 120_000)
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
        // Interrupt while the APIs wait for the datastores: some containers started, others not yet created.
        if (/redis\s+starting/.test(stderr) && !child.killed) child.kill('SIGINT')
      })
      child.on('exit', (exitCode) => {
        clearTimeout(killer)
        resolve(exitCode)
      })
    })
    expect(stderr).toContain('interrupted')
    expect(code).toBe(130)
    expect(Object.values(await states())).not.toContain('created')
    const again = await tta(['dev'])
    expect(again.code).toBe(0)
    expect(again.stderr + again.stdout).toContain('9 services ready')
  })
})
