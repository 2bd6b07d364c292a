// Issue 5 acceptance for `tta status`: the fixture stack (core + monitoring) on the real engine,
// probed at the containers' addresses (and through 127.0.0.1 with TTA_PROBE_HOST); redis's process stopped inside its running container; --check,
// --metrics, --serve, --watch, --secrets, probes: overrides, and broken compose files.
import {spawn} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {StatusReport} from '../../src/status/model.js'
import {cleanupProject, copyWorkspace, docker, freePort, freePortEnv, httpGet, removeWorkspace, repoRoot, run, runTta, ttaBin, uniqueProject, waitFor} from './helpers.js'

const CORE = ['admin-api', 'clinical-api', 'developer-api', 'frontend', 'langgraph', 'neo4j', 'patient-api', 'postgres', 'redis']
const MONITORING = ['alertmanager', 'blackbox-exporter', 'cadvisor', 'grafana', 'loki', 'node-exporter', 'postgres-exporter', 'prometheus', 'promtail', 'redis-exporter']

const project = uniqueProject('status')
let workspace = ''
let config = ''
const env: Record<string, string> = {}

const tta = (args: string[], timeoutMs = 60_000) => runTta([...args, '--workspace', workspace, '--project-name', project], {env, timeoutMs})

async function statusJson(args: string[] = []): Promise<StatusReport> {
  const result = await tta(['status', '--json', ...args])
  expect(result.stderr).toBe('')
  return JSON.parse(result.stdout) as StatusReport
}

/** Starts a long-running tta (--serve, --watch) and collects its output; stop it with a signal. */
function start(args: string[]) {
  const child = spawn(process.execPath, [ttaBin, ...args, '--workspace', workspace, '--project-name', project], {env: {...process.env, NO_COLOR: '1', ...env}, stdio: ['ignore', 'pipe', 'pipe']})
  const out = {stdout: '', stderr: ''}
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out.stdout += c))
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out.stderr += c))
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  const stop = async (signal: NodeJS.Signals): Promise<number | null> => {
    child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    const code = await exited
    clearTimeout(timer)
    return code
  }
  return {out, stop, exited}
}

beforeAll(async () => {
  workspace = copyWorkspace()
  config = readFileSync(join(workspace, 'tta.config.yaml'), 'utf8')
  Object.assign(env, await freePortEnv())
  const up = await tta(['full'], 400_000)
  if (up.code !== 0) throw new Error(`tta full failed (${up.code}):\n${up.stderr}`)
}, 420_000)

afterAll(async () => {
  await docker(['kill', '-s', 'CONT', `${project}-redis-1`], {allowFailure: true})
  await cleanupProject(project)
  removeWorkspace(workspace)
})

describe('tta status on the fixture stack', () => {
  it('--json reports every service healthy, with a probe latency, grouped core / monitoring', async () => {
    const report = await statusJson()
    expect(report).toMatchObject({schemaVersion: 1, project, healthy: true})
    expect(report.counts).toMatchObject({total: 19, healthy: 19})
    expect(report.services.filter((s) => s.group === 'core').map((s) => s.service)).toEqual(CORE)
    expect(report.services.filter((s) => s.group === 'monitoring').map((s) => s.service)).toEqual(MONITORING)
    for (const s of report.services) {
      expect(s.status, `${s.service}: ${s.reason}`).toBe('healthy')
      expect(s.state).toBe('running')
      expect(s.probe?.ok, s.service).toBe(true)
      expect(s.probe?.latencyMs, s.service).toBeGreaterThan(0)
      expect(s.uptimeSeconds).toBeGreaterThanOrEqual(0)
      expect(s.restarts).toBe(0)
      expect(s.memoryBytes, s.service).toBeGreaterThan(0)
      expect(typeof s.cpuPercent).toBe('number')
    }
    const byName = Object.fromEntries(report.services.map((s) => [s.service, s]))
    // Protocol-level probes, at each container's own address on the project's bridge, which is
    // local to this engine: no userland-proxy hop (published ports are probed only when it is not).
    const containerAddress = (port: number) => new RegExp(`^(?!127\\.)\\d+\\.\\d+\\.\\d+\\.\\d+:${port}$`)
    expect(byName.redis?.probe).toMatchObject({type: 'redis', source: 'image', detail: 'PONG'})
    expect(byName.redis?.probe?.target).toMatch(containerAddress(6379))
    expect(byName.postgres?.probe).toMatchObject({type: 'postgres'})
    expect(byName.postgres?.probe?.target).toMatch(containerAddress(5432))
    expect(byName.neo4j?.probe).toMatchObject({type: 'neo4j', detail: 'neo4j 5.15.0, bolt 5.4'})
    expect(byName['admin-api']?.probe).toMatchObject({type: 'http', source: 'healthcheck'})
    expect(byName['admin-api']?.probe?.target).toMatch(/^http:\/\/(?!127\.)\d+\.\d+\.\d+\.\d+:8001\/health$/)
    // Its healthcheck's URL on a port it does not publish: fetched there too (else the healthcheck
    // would run in the container).
    expect(byName.promtail?.probe).toMatchObject({type: 'http', source: 'healthcheck', ok: true})
    expect(byName.promtail?.probe?.target).toMatch(/^http:\/\/\d+\.\d+\.\d+\.\d+:9080\/ready$/)
    expect(byName.promtail?.probe?.target).not.toContain('127.0.0.1')
    // A plain TCP connect, there as well: no userland proxy to see through.
    expect(byName['redis-exporter']?.probe).toMatchObject({type: 'tcp', source: 'port', ok: true})
    expect(byName['redis-exporter']?.probe?.target).toMatch(containerAddress(9121))
    expect(byName.redis?.urls).toEqual([`redis://localhost:${env.TTA_REDIS_PORT}`])
  })

  it('probes the published host ports when TTA_PROBE_HOST names the address to use', async () => {
    const result = await runTta(['status', '--json', 'redis', 'admin-api', '--workspace', workspace, '--project-name', project], {env: {...env, TTA_PROBE_HOST: '127.0.0.1'}})
    expect(result.code, result.stderr).toBe(0)
    const byName = Object.fromEntries((JSON.parse(result.stdout) as StatusReport).services.map((s) => [s.service, s]))
    expect(byName.redis?.probe).toMatchObject({type: 'redis', ok: true, target: `127.0.0.1:${env.TTA_REDIS_PORT}`})
    expect(byName['admin-api']?.probe).toMatchObject({type: 'http', ok: true, target: `http://127.0.0.1:${env.TTA_ADMIN_API_PORT}/health`})
  })

  it('the bundled fast path (dist/fast/status.cjs, what bin/run.js loads) reports what the ES modules do', async () => {
    // Each loaded on its own, outside bin/run.js: a bundling mistake (a module URL, a package
    // left out) shows here, not as a silent fallback.
    const args = JSON.stringify(['--json', '--no-stats', '--workspace', workspace, '--project-name', project])
    const viaBundle = await run(process.execPath, ['-e', `require(${JSON.stringify(join(repoRoot, 'dist/fast/status.cjs'))}).fastStatus(${args}).then((c) => (process.exitCode = c))`], {env})
    const viaModules = await run(process.execPath, ['--input-type=module', '-e', `const {fastStatus} = await import(${JSON.stringify(pathToFileURL(join(repoRoot, 'dist/cli/fast-status.js')).href)}); process.exitCode = await fastStatus(${args})`], {env})
    expect(viaBundle.code, viaBundle.stderr).toBe(0)
    expect(viaModules.code, viaModules.stderr).toBe(0)
    const stable = (stdout: string) =>
      (JSON.parse(stdout) as StatusReport).services.map((s) => ({service: s.service, status: s.status, container: s.container, urls: s.urls, probe: {type: s.probe?.type, target: s.probe?.target, ok: s.probe?.ok}}))
    expect(stable(viaBundle.stdout)).toEqual(stable(viaModules.stdout))
    expect(stable(viaBundle.stdout)).toHaveLength(19)
  })

  it('prints the tables and passes --check', async () => {
    const result = await tta(['status', '--check'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('CORE 9/9 healthy')
    expect(result.stdout).toContain('MONITORING 10/10 healthy')
    expect(result.stdout).toContain('✔ all 19 services healthy')
    // Docker's own health may still say "starting" this soon after `tta full`; tta's probe already passed.
    expect(result.stdout).toMatch(/^redis\s+healthy\s+running, (healthy|starting)\s+\S+\s+0\s+redis PONG/m)
  })

  it('shows redis down (probe failed) while its container still runs once its process is stopped, and --check exits 1', async () => {
    await docker(['kill', '-s', 'STOP', `${project}-redis-1`])
    try {
      const report = await statusJson(['redis', 'postgres'])
      const redis = report.services.find((s) => s.service === 'redis')
      expect(redis).toMatchObject({status: 'down', state: 'running', probe: {type: 'redis', ok: false, error: 'no answer within 1.0s'}})
      expect(redis?.reason).toMatch(/^probe failed: no answer within 1\.0s/)
      expect(report.services.find((s) => s.service === 'postgres')?.status).toBe('healthy')
      expect(report.healthy).toBe(false)
      const inspect = await docker(['inspect', '--format', '{{.State.Running}}', `${project}-redis-1`])
      expect(inspect.stdout.trim()).toBe('true')

      const check = await tta(['status', '--check'])
      expect(check.code).toBe(1)
      expect(check.stdout).toMatch(/^redis\s+down\s+running/m)
      expect(check.stdout).toContain('✖ redis: down - probe failed: no answer within 1.0s')
      expect(check.stderr).toContain('check failed: 1 of 19 services not healthy: redis (down)')
      expect((await tta(['status', 'postgres', '--check'])).code).toBe(0)
    } finally {
      await docker(['kill', '-s', 'CONT', `${project}-redis-1`])
    }
    const back = await waitFor(async () => (await statusJson(['redis'])).services[0]?.status === 'healthy', {timeoutMs: 10_000, description: 'redis healthy again'})
    expect(back).toBe(true)
  })

  it('--metrics prints tta_service_up and tta_service_response_time_seconds for every service', async () => {
    const result = await tta(['status', '--metrics'])
    expect(result.code).toBe(0)
    for (const service of [...CORE, ...MONITORING]) {
      expect(result.stdout).toMatch(new RegExp(`^tta_service_up\\{service="${service}",[^}]*\\} 1$`, 'm'))
      expect(result.stdout).toMatch(new RegExp(`^tta_service_response_time_seconds\\{service="${service}",[^}]*\\} [0-9.e-]+$`, 'm'))
    }
  })

  it('--serve PORT answers /metrics with tta_service_up for every service, and stops on Ctrl-C', async () => {
    const port = await freePort()
    const server = start(['status', '--serve', String(port)])
    try {
      const metrics = await waitFor(
        async () => {
          const response = await httpGet(`http://127.0.0.1:${port}/metrics`, 5_000)
          return response.status === 200 ? response.body : undefined
        },
        {timeoutMs: 20_000, intervalMs: 200, description: '--serve answering /metrics'},
      )
      for (const service of [...CORE, ...MONITORING]) expect(metrics).toMatch(new RegExp(`^tta_service_up\\{service="${service}",[^}]*\\} 1$`, 'm'))
      const json = await httpGet(`http://127.0.0.1:${port}/status`)
      expect((JSON.parse(json.body) as StatusReport).counts.total).toBe(19)
      expect((await httpGet(`http://127.0.0.1:${port}/nope`)).status).toBe(404)
      expect(server.out.stderr).toContain(`http://127.0.0.1:${port}/metrics`)
    } finally {
      expect(await server.stop('SIGINT')).toBe(130)
    }
  })

  it('--watch redraws every second until Ctrl-C (plain frames when not a terminal)', async () => {
    const watch = start(['status', '--watch', 'redis'])
    await waitFor(() => (watch.out.stdout.match(/^--- /gm) ?? []).length >= 3, {timeoutMs: 15_000, intervalMs: 100, description: 'three frames'})
    expect(await watch.stop('SIGINT')).toBe(130)
    const frames = watch.out.stdout.split(/^--- .*$/m).filter((f) => f.trim())
    expect(frames.length).toBeGreaterThanOrEqual(3)
    for (const frame of frames) expect(frame).toMatch(/^redis\s+healthy/m)
    // CPU % after the first frame is measured over the second since the last one.
    expect(watch.out.stderr).toBe('')
  })

  it('takes probes from tta.config.yaml `probes:`', async () => {
    writeFileSync(join(workspace, 'tta.config.yaml'), `${config}\nprobes:\n  frontend: {type: http, path: /does-not-exist, timeout: 2s}\n  redis-exporter: {type: http, path: /metrics, expect: 200}\n  grafana: {type: none}\n  promtail: {type: exec, command: [wget, -q, --spider, 'http://127.0.0.1:9080/ready']}\n`)
    try {
      const report = await statusJson(['frontend', 'redis-exporter', 'grafana', 'promtail'])
      const byName = Object.fromEntries(report.services.map((s) => [s.service, s]))
      expect(byName.frontend).toMatchObject({status: 'down', probe: {type: 'http', source: 'config', ok: false, error: 'HTTP 404, expected 2xx or 3xx'}})
      expect(byName['redis-exporter']).toMatchObject({status: 'healthy', probe: {type: 'http', source: 'config', detail: 'HTTP 200'}})
      // No probe: the verdict is Docker's own health, which may not have run its first check yet
      // (its interval, start_interval being unsupported on this engine).
      expect(byName.grafana?.probe).toBeNull()
      expect([
        {status: 'healthy', reason: 'probe disabled in tta.config.yaml'},
        {status: 'starting', reason: "Docker's healthcheck has not passed yet"},
      ]).toContainEqual({status: byName.grafana?.status, reason: byName.grafana?.reason})
      expect(byName.promtail).toMatchObject({status: 'healthy', probe: {type: 'exec', source: 'config', ok: true, detail: 'exit 0'}})
    } finally {
      writeFileSync(join(workspace, 'tta.config.yaml'), config)
    }
  })

  it('works from the containers alone when the compose files are broken', async () => {
    writeFileSync(join(workspace, 'broken.yml'), 'services:\n  redis:\n    ports: "not a list"\n  oops: [\n')
    writeFileSync(join(workspace, 'tta.config.yaml'), `${config}\ncomposeFiles:\n  - broken.yml\n`)
    try {
      const configResult = await tta(['config'])
      expect(configResult.code).toBe(2)
      const result = await tta(['status', '--json'])
      expect(result.code).toBe(0)
      const report = JSON.parse(result.stdout) as StatusReport
      expect(report.counts).toMatchObject({total: 19, healthy: 19})
      expect(report.services.find((s) => s.service === 'redis')?.probe).toMatchObject({type: 'redis', ok: true})
    } finally {
      writeFileSync(join(workspace, 'tta.config.yaml'), config)
    }
  })

  it('--secrets prints the generated passwords from the workspace .env, and nothing else does', async () => {
    const dotenv = readFileSync(join(workspace, '.env'), 'utf8')
    const grafana = /^TTA_GRAFANA_ADMIN_PASSWORD=(.+)$/m.exec(dotenv)?.[1] ?? ''
    expect(grafana.length).toBeGreaterThanOrEqual(16)
    const json = await tta(['status', '--secrets', '--json'])
    expect(json.code).toBe(0)
    const parsed = JSON.parse(json.stdout) as {envFile: string; secrets: Record<string, {value: string; source: string}>}
    expect(parsed.envFile).toBe(join(workspace, '.env'))
    expect(parsed.secrets.TTA_GRAFANA_ADMIN_PASSWORD).toEqual({value: grafana, source: '.env'})
    expect(parsed.secrets.TTA_GRAFANA_ADMIN_USER).toEqual({value: 'admin', source: 'default'})
    const table = await tta(['status', '--secrets'])
    expect(table.stdout).toMatch(new RegExp(`^TTA_GRAFANA_ADMIN_PASSWORD\\s+${grafana.replace(/[-]/g, '\\-')}\\s`, 'm'))
    const plain = await tta(['status', '--json'])
    expect(plain.stdout).not.toContain(grafana)
    expect((await tta(['status', '--metrics'])).stdout).not.toContain(grafana)
  })

  it('says "nothing running" for an empty project, and rejects unknown services and bad flags', async () => {
    const empty = await runTta(['status', '--workspace', workspace, '--project-name', `${project}-empty`], {env})
    expect(empty.code).toBe(0)
    expect(empty.stdout).toContain('nothing running in project')
    expect(empty.stdout).toContain('start with `tta dev`')
    expect((await runTta(['status', '--check', '--workspace', workspace, '--project-name', `${project}-empty`], {env})).code).toBe(1)
    const unknown = await tta(['status', 'redis', 'no-such-service'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('unknown service: no-such-service')
    const clash = await tta(['status', '--watch', '--check'])
    expect(clash.code).toBe(2)
    expect(clash.stderr).not.toMatch(/^\s+at /m)
  })
})
