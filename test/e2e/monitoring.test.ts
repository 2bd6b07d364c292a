// The monitoring overlay's acceptance, end to end on the stand-ins: after `tta full`, every
// Prometheus job is up within 90 s; every metric the dashboards and alerts query is in the real
// scrape output of the job that should export it (the cAdvisor stub's, an awk script, is checked
// apart and claims nothing about cAdvisor); every Prometheus panel has data; stopping the
// redis container makes ProbeFailing go pending, and Alertmanager posts the resulting critical
// alert to TTA_ALERT_WEBHOOK_URL.
// The one change to the shipped files: this workspace's override mounts a copy of the rules with
// DatastoreDown's `for: 1m` cut to 0s, so the notification comes a minute sooner (the same rule
// otherwise: expression, labels, route). promtool's rule tests check every `for:` as shipped
// (monitoring-configs.test.ts).
import {appendFileSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {dashboardQueries, exposedNames, METRIC_SOURCES, scrapeJobs, STUB_JOBS, substituteVariables} from '../support/monitoring.js'
import {cleanupProject, copyWorkspace, docker, dockerExec, freePortEnv, httpGet, PROJECT_LABEL, removeWorkspace, repoRoot, runTta, standinImage, uniqueProject, waitFor} from './helpers.js'


const project = uniqueProject('monitoring')
const webhook = `${project}-webhook`
const prometheusContainer = `${project}-prometheus-1`
let workspace = ''
const env: Record<string, string> = {}
/** Set once the first test brought the stack up; the later tests fail at once without it. */
let stackUp = false
const requireStack = (): void => {
  if (!stackUp) throw new Error('the stack did not come up (see the first test); nothing to check')
}

interface Target {
  labels: Record<string, string>
  scrapeUrl: string
  health: string
  lastError: string
}
interface Alert {
  labels: Record<string, string>
  state: string
}
interface Sample {
  metric: Record<string, string>
  value: [number, string]
}

async function prometheus<T>(path: string): Promise<T> {
  const response = await httpGet(`http://127.0.0.1:${env.TTA_PROMETHEUS_PORT}${path}`)
  if (response.status !== 200) throw new Error(`GET ${path}: HTTP ${response.status} ${response.body.slice(0, 200)}`)
  return (JSON.parse(response.body) as {data: T}).data
}

const query = (expr: string): Promise<{result: Sample[]}> => prometheus(`/api/v1/query?query=${encodeURIComponent(expr)}`)

// A webhook receiver on the project network: busybox nc runs this per request, appending the body.
const HOOK = `#!/bin/sh
len=0
while read -r line; do
  line=\${line%"$(printf '\\r')"}
  [ -z "$line" ] && break
  case $line in [Cc]ontent-[Ll]ength:*) len=\${line#*:}; len=\${len# } ;; esac
done
head -c "$len" >>/tmp/hooks.log
echo >>/tmp/hooks.log
printf 'HTTP/1.0 200 OK\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n'
`

/** The shipped rules with DatastoreDown firing at its first failed evaluation; throws if the rule's shape changed. */
function rulesWithFastDatastoreDown(): string {
  const rules = readFileSync(join(repoRoot, 'compose/monitoring/prometheus/rules/tta.yml'), 'utf8')
  const fast = rules.replace(/(- alert: DatastoreDown\n(?:[ \t]+(?!for:)\S.*\n|[ \t]*#.*\n)*?[ \t]+for: )1m\n/, (_, head: string) => `${head}0s\n`)
  if (fast === rules) throw new Error('rules/tta.yml: DatastoreDown with `for: 1m` not found; update this test')
  return fast
}

beforeAll(async () => {
  workspace = copyWorkspace()
  mkdirSync(join(workspace, 'e2e-rules'))
  writeFileSync(join(workspace, 'e2e-rules/tta.yml'), rulesWithFastDatastoreDown())
  // Absolute: a relative path in an override resolves against the project directory (compose/), as in Compose.
  writeFileSync(join(workspace, 'e2e-alerts.yml'), `services:\n  prometheus:\n    volumes:\n      - ${join(workspace, 'e2e-rules')}:/etc/prometheus/rules:ro\n`)
  appendFileSync(join(workspace, 'tta.config.yaml'), 'composeFiles:\n  - e2e-alerts.yml\n')
  Object.assign(env, await freePortEnv())
  env.TTA_ALERT_WEBHOOK_URL = `http://${webhook}:5001/alerts`
})

afterAll(async () => {
  await cleanupProject(project)
  removeWorkspace(workspace)
})

describe('monitoring overlay on a real engine (stand-ins)', () => {
  it('tta full starts it; every Prometheus job is up within 90 seconds', async () => {
    const result = await runTta(['full', '--workspace', workspace, '--project-name', project], {env, timeoutMs: 400_000})
    expect(result.stderr + result.stdout).toContain('19 services ready')
    expect(result.code).toBe(0)
    // The URLs are printed, on the ports chosen here.
    expect(result.stdout + result.stderr).toContain(`http://localhost:${env.TTA_GRAFANA_PORT}`)
    const t0 = Date.now()

    // The receiver the alert test below expects; it labels itself into the project for cleanup.
    await docker(['run', '-d', '--name', webhook, '--label', `${PROJECT_LABEL}=${project}`, '--network', `${project}_tta`, '--entrypoint', 'sh', standinImage('frontend'), '-c', 'printf "%s" "$0" >/tmp/hook && chmod +x /tmp/hook && exec nc -ll -p 5001 -e /tmp/hook', HOOK])

    const jobs = scrapeJobs().map((j) => j.job_name).sort()
    const targets = await waitFor(
      async () => {
        const {activeTargets} = await prometheus<{activeTargets: Target[]}>('/api/v1/targets')
        const seen = [...new Set(activeTargets.map((t) => t.labels.job ?? ''))].sort()
        const down = activeTargets.filter((t) => t.health !== 'up')
        if (JSON.stringify(seen) !== JSON.stringify(jobs) || down.length > 0) {
          throw new Error(`not up: ${down.map((t) => `${t.labels.job} ${t.labels.instance} (${t.health} ${t.lastError})`).join('; ')}`)
        }
        return activeTargets
      },
      {timeoutMs: 90_000, intervalMs: 1_000, description: 'every Prometheus target up'},
    )
    stackUp = true
    console.info(`monitoring e2e: all ${targets.length} targets of ${jobs.length} jobs up ${((Date.now() - t0) / 1000).toFixed(1)} s after tta full returned`)
    expect(targets.length).toBeGreaterThanOrEqual(jobs.length)
  }, 500_000)

  it('the Grafana admin password is the generated one from the 0600 .env, not admin', async () => {
    requireStack()
    const password = /^TTA_GRAFANA_ADMIN_PASSWORD=(.+)$/m.exec(readFileSync(join(workspace, '.env'), 'utf8'))?.[1]
    expect(password).toMatch(/^.{16,}$/)
    const inspect = await docker(['inspect', '--format', '{{json .Config.Env}}', `${project}-grafana-1`])
    const containerEnv = JSON.parse(inspect.stdout) as string[]
    expect(containerEnv).toContain(`GF_SECURITY_ADMIN_PASSWORD=${password}`)
    expect(containerEnv).toContain('GF_USERS_ALLOW_SIGN_UP=false')
  })

  /** Metric names in the scrape output of every target of `job`, fetched from inside Prometheus' container: exactly the URL it scrapes. */
  async function scrapedNames(activeTargets: Target[], job: string): Promise<Set<string>> {
    const names = new Set<string>()
    const targets = activeTargets.filter((t) => t.labels.job === job)
    expect(targets.length, `${job}: no active target`).toBeGreaterThan(0)
    for (const target of targets) {
      const body = await dockerExec(prometheusContainer, ['wget', '-qO-', target.scrapeUrl])
      expect(body.code, `${job}: ${target.scrapeUrl}: ${body.stderr}`).toBe(0)
      for (const name of exposedNames(body.stdout)) names.add(name)
    }
    return names
  }

  it('every metric the dashboards and alerts query from a real exporter is in its real scrape output (stubbed jobs excluded)', async () => {
    requireStack()
    const {activeTargets} = await prometheus<{activeTargets: Target[]}>('/api/v1/targets')
    const real = Object.entries(METRIC_SOURCES).filter(([, job]) => !STUB_JOBS.has(job))
    expect(real.length).toBeGreaterThan(0)
    const exported = new Map<string, Set<string>>()
    for (const job of new Set(real.map(([, job]) => job))) exported.set(job, await scrapedNames(activeTargets, job))
    const missing = real.filter(([name, job]) => !exported.get(job)?.has(name))
    expect(missing).toEqual([])
    // `up` is Prometheus' own, one per target.
    expect((await query('up')).result.length).toBe(activeTargets.length)
  })

  it('the cAdvisor stub (an awk script, not cAdvisor) exports the container_* metrics the dashboards query, for this project\'s containers', async () => {
    requireStack()
    const {activeTargets} = await prometheus<{activeTargets: Target[]}>('/api/v1/targets')
    const stubbed = Object.entries(METRIC_SOURCES).filter(([, job]) => STUB_JOBS.has(job))
    const names = await scrapedNames(activeTargets, 'cadvisor')
    expect(stubbed.filter(([name]) => !names.has(name))).toEqual([])
    // Stub output, but of this engine's real containers: the project's redis is among them.
    const {result} = await query(`container_last_seen{container_label_com_docker_compose_project="${project}", container_label_com_docker_compose_service="redis"}`)
    expect(result.length).toBe(1)
  })

  it('every Prometheus panel and variable of the dashboards returns data (alerts panel: after the next test)', async () => {
    requireStack()
    const values = {service: '.*', project, __rate_interval: '1m'}
    const queries = dashboardQueries().filter((q) => q.datasourceUid === 'tta-prometheus' && q.expr.trim() !== 'ALERTS')
    expect(queries.length).toBeGreaterThan(10)
    await waitFor(
      async () => {
        const empty: string[] = []
        for (const q of queries) {
          const variable = /^label_values\((\w+),\s*(\w+)\)$/.exec(q.expr.trim())
          if (variable) {
            const labelValues = await prometheus<string[]>(`/api/v1/label/${variable[2]}/values?match[]=${encodeURIComponent(variable[1] ?? '')}`)
            if (labelValues.length === 0) empty.push(q.where)
            if (variable[2] === 'container_label_com_docker_compose_project' && !labelValues.includes(project)) empty.push(`${q.where}: no ${project}`)
            continue
          }
          const {result} = await query(substituteVariables(q.expr, values))
          if (result.length === 0) empty.push(q.where)
        }
        if (empty.length > 0) throw new Error(`no data: ${empty.join('; ')}`)
        return true
      },
      {timeoutMs: 120_000, intervalMs: 5_000, description: 'every dashboard query has data'},
    )
    // The container panels see this project's services by their compose names.
    const memory = await query(`sum by (container_label_com_docker_compose_service) (container_memory_working_set_bytes{container_label_com_docker_compose_project="${project}"})`)
    expect(memory.result.map((s) => s.metric.container_label_com_docker_compose_service)).toEqual(expect.arrayContaining(['redis', 'prometheus', 'admin-api']))
  }, 150_000)

  it('stopping the redis container makes ProbeFailing go pending for redis', async () => {
    requireStack()
    const t0 = Date.now()
    await docker(['stop', `${project}-redis-1`])
    const alert = await waitFor(
      async () => {
        const {alerts} = await prometheus<{alerts: Alert[]}>('/api/v1/alerts')
        return alerts.find((a) => a.labels.alertname === 'ProbeFailing' && a.labels.service === 'redis' && a.labels.job === 'blackbox-tcp')
      },
      {timeoutMs: 90_000, intervalMs: 1_000, description: 'ProbeFailing{service="redis"} in /api/v1/alerts'},
    )
    console.info(`monitoring e2e: ProbeFailing{service="redis"} ${alert.state} ${((Date.now() - t0) / 1000).toFixed(1)} s after docker stop`)
    expect(['pending', 'firing']).toContain(alert.state)
    expect(alert.labels.severity).toBe('critical')
    // The dashboard's alerts panel (ALERTS) shows it.
    const panel = await query('ALERTS{alertname="ProbeFailing", service="redis"}')
    expect(panel.result.length).toBeGreaterThan(0)
  }, 120_000)

  it('Alertmanager posts the critical DatastoreDown alert to TTA_ALERT_WEBHOOK_URL (its for: cut to 0s in this test)', async () => {
    requireStack()
    const t0 = Date.now()
    const body = await waitFor(
      async () => {
        const log = await dockerExec(webhook, ['cat', '/tmp/hooks.log'])
        return log.code === 0 && log.stdout.includes('"DatastoreDown"') ? log.stdout : undefined
      },
      {timeoutMs: 150_000, intervalMs: 1_000, description: 'a DatastoreDown notification at the webhook'},
    )
    console.info(`monitoring e2e: DatastoreDown at the webhook ${((Date.now() - t0) / 1000).toFixed(1)} s after ProbeFailing went pending`)
    const notification = body
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as {receiver: string; status: string; alerts: Array<{labels: Record<string, string>}>})
      .find((n) => n.alerts.some((a) => a.labels.alertname === 'DatastoreDown'))
    expect(notification?.receiver).toBe('critical')
    expect(notification?.status).toBe('firing')
    expect(notification?.alerts[0]?.labels).toMatchObject({alertname: 'DatastoreDown', service: 'redis', severity: 'critical'})
  }, 180_000)
})
