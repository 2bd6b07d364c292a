// The engine issue's acceptance, end to end: `tta dev` / `full` / `stop` / `clean` on the fixture
// workspace against the real engine, checked through docker compose, docker inspect and the
// published 127.0.0.1 ports.
import {appendFileSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {
  cleanupProject,
  copyWorkspace,
  docker,
  freePortEnv,
  httpGet,
  PROJECT_LABEL,
  removeWorkspace,
  runTta,
  uniqueProject,
  waitFor,
} from './helpers.js'

const CORE = ['admin-api', 'clinical-api', 'developer-api', 'frontend', 'langgraph', 'neo4j', 'patient-api', 'postgres', 'redis']
const MONITORING = ['alertmanager', 'blackbox-exporter', 'cadvisor', 'grafana', 'loki', 'node-exporter', 'postgres-exporter', 'prometheus', 'promtail', 'redis-exporter']

const project = uniqueProject('engine')
let workspace = ''
const env: Record<string, string> = {}

async function containerIds(): Promise<Record<string, string>> {
  const out = await docker(['ps', '-a', '--filter', `label=${PROJECT_LABEL}=${project}`, '--format', '{{.Label "com.docker.compose.service"}} {{.ID}}'])
  return Object.fromEntries(
    out.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ') as [string, string]),
  )
}

async function composePs(): Promise<Array<{Service: string; State: string; Health: string}>> {
  const out = await docker(['compose', '-p', project, 'ps', '-a', '--format', 'json'])
  const text = out.stdout.trim()
  // Compose 2.26 prints one JSON object per line.
  return text ? text.split('\n').map((line) => JSON.parse(line) as {Service: string; State: string; Health: string}) : []
}

function tta(args: string[], timeoutMs = 240_000) {
  return runTta([...args, '--workspace', workspace, '--project-name', project], {env, timeoutMs})
}

beforeAll(async () => {
  workspace = copyWorkspace()
  Object.assign(env, await freePortEnv())
})

afterAll(async () => {
  await cleanupProject(project)
  removeWorkspace(workspace)
})

describe('tta dev / full / stop / clean on a real engine', () => {
  it('brings every core service to ready, visible to docker compose, with secrets in a 0600 .env', async () => {
    const result = await tta(['dev'])
    expect(result.stderr + result.stdout).toContain('9 services ready')
    expect(result.code).toBe(0)
    const ps = await composePs()
    expect(ps.map((c) => c.Service).sort()).toEqual(CORE)
    for (const c of ps) expect(c.State).toBe('running')
    // The APIs answer on their published 127.0.0.1 ports.
    const api = await httpGet(`http://127.0.0.1:${env.TTA_ADMIN_API_PORT}/health`)
    expect(api.status).toBe(200)
    const dotenv = readFileSync(join(workspace, '.env'), 'utf8')
    expect(dotenv).toMatch(/^TTA_POSTGRES_PASSWORD=.{16,}$/m)
    expect(statSync(join(workspace, '.env')).mode & 0o777).toBe(0o600)
  })

  it('serves an edited API source file within 5 seconds, without recreating the container', async () => {
    const before = await containerIds()
    const main = join(workspace, 'services', 'patient-api', 'app', 'main.py')
    writeFileSync(main, readFileSync(main, 'utf8').replace('"version": "1"', '"version": "hot-reloaded"'))
    const body = await waitFor(
      async () => {
        const response = await httpGet(`http://127.0.0.1:${env.TTA_PATIENT_API_PORT}/`, 1_000)
        return response.body.includes('hot-reloaded') ? response.body : undefined
      },
      {timeoutMs: 5_000, intervalMs: 100, description: 'patient-api serving the edited source'},
    )
    expect(body).toContain('hot-reloaded')
    expect(await containerIds()).toEqual(before)
  })

  it('a second tta dev recreates nothing', async () => {
    const before = await containerIds()
    const result = await tta(['dev'])
    expect(result.code).toBe(0)
    expect(result.stderr).not.toMatch(/creating|recreating/)
    expect(await containerIds()).toEqual(before)
  })

  it('changing one service in an override recreates that service and its dependents only', async () => {
    const before = await containerIds()
    writeFileSync(join(workspace, 'override.yml'), 'services:\n  langgraph:\n    environment:\n      FEATURE_FLAG: "on"\n')
    appendFileSync(join(workspace, 'tta.config.yaml'), '\ncomposeFiles:\n  - override.yml\n')
    const result = await tta(['dev'])
    expect(result.code).toBe(0)
    const after = await containerIds()
    const changed = CORE.filter((s) => after[s] !== before[s]).sort()
    // frontend depends on langgraph; nothing else does.
    expect(changed).toEqual(['frontend', 'langgraph'])
    const inspect = await docker(['inspect', '--format', '{{json .Config.Env}}', `${project}-langgraph-1`])
    expect(inspect.stdout).toContain('FEATURE_FLAG=on')
  })

  it('a healthcheck that never passes fails tta dev --timeout with the service named and its log tail', async () => {
    writeFileSync(join(workspace, 'override.yml'), 'services:\n  langgraph:\n    healthcheck:\n      test: ["CMD-SHELL", "echo still-warming-up; exit 1"]\n')
    const t0 = Date.now()
    const result = await tta(['dev', '--timeout', '10'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('langgraph: not ready before the timeout')
    expect(result.stderr).toContain('still-warming-up')
    expect(result.stderr).toMatch(/last \d+ log lines of langgraph/)
    expect(result.stderr).toContain('Uvicorn running')
    expect(result.stderr).not.toMatch(/^\s+at /m)
    expect(Date.now() - t0).toBeLessThan(60_000)
    writeFileSync(join(workspace, 'override.yml'), 'services: {}\n')
  })

  it('tta full adds the monitoring services', async () => {
    const result = await tta(['full'], 400_000)
    expect(result.stderr + result.stdout).toContain(`${CORE.length + MONITORING.length} services ready`)
    expect(result.code).toBe(0)
    const ps = await composePs()
    expect(ps.map((c) => c.Service).sort()).toEqual([...CORE, ...MONITORING].sort())
    expect(ps.filter((c) => c.State !== 'running')).toEqual([])
  })

  it('tta stop stops everything; tta clean --volumes -y removes only what carries the label', async () => {
    const decoyVolume = `${project}_decoy-data`
    const decoyContainer = `${project}-redis-decoy`
    await docker(['volume', 'create', decoyVolume])
    await docker(['create', '--name', decoyContainer, 'tta-standin/frontend:local'])
    try {
      const stopped = await tta(['stop'])
      expect(stopped.code).toBe(0)
      const ps = await composePs()
      expect(ps.length).toBe(CORE.length + MONITORING.length)
      expect(ps.filter((c) => c.State === 'running')).toEqual([])

      const dry = await tta(['clean', '--volumes', '--dry-run'])
      expect(dry.code).toBe(0)
      expect(dry.stdout).toContain(`${project}_postgres-data`)
      expect(dry.stdout).not.toContain('decoy')
      expect((await containerIds()).postgres).toBeDefined()

      const refused = await tta(['clean', '--volumes'])
      expect(refused.code).toBe(2)
      expect(refused.stderr).toContain('pass -y')

      const cleaned = await tta(['clean', '--volumes', '-y'])
      expect(cleaned.code).toBe(0)
      expect(await containerIds()).toEqual({})
      const volumes = await docker(['volume', 'ls', '-q', '--filter', `label=${PROJECT_LABEL}=${project}`])
      expect(volumes.stdout.trim()).toBe('')
      // The decoys are named like tta's resources but carry no label: they survive.
      expect((await docker(['volume', 'inspect', decoyVolume], {allowFailure: true})).code).toBe(0)
      expect((await docker(['inspect', decoyContainer], {allowFailure: true})).code).toBe(0)
    } finally {
      await docker(['rm', '-f', decoyContainer], {allowFailure: true})
      await docker(['volume', 'rm', decoyVolume], {allowFailure: true})
    }
  })
})
