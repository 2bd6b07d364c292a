// Static checks of the monitoring overlay (compose/monitoring/**): the Grafana provisioning (no Grafana
// binary on these machines), the dashboards' queries, the alert rules' shape and test coverage, and
// how the files fit the compose file. The real tools' checks (promtool, amtool) and the real
// exporters' output are in test/e2e/monitoring*.test.ts.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {parse} from 'yaml'

import {
  alertRules,
  allPanels,
  dashboardQueries,
  dashboards,
  METRIC_SOURCES,
  metricNames,
  monitoringDir,
  PROMETHEUS_GENERATED,
  provisionedDatasources,
  repoRoot,
  scrapeJobs,
} from '../../support/monitoring.js'


const compose = parse(readFileSync(join(repoRoot, 'compose/docker-compose.monitoring.yml'), 'utf8')) as {
  services: Record<string, {image: string; ports?: string[]; volumes?: string[]; environment?: Record<string, string>; command?: string[]; privileged?: boolean}>
}
const coreCompose = parse(readFileSync(join(repoRoot, 'compose/docker-compose.yml'), 'utf8')) as {services: Record<string, unknown>}
const datasources = provisionedDatasources()
const promQueries = (): Array<{where: string; expr: string}> => [
  ...dashboardQueries().filter((q) => q.datasourceUid === 'tta-prometheus'),
  ...alertRules().map((r) => ({where: `alert ${r.alert}`, expr: r.expr})),
]

describe('metricNames (PromQL)', () => {
  it('finds selectors, not functions, keywords, labels, strings, ranges or numbers', () => {
    expect(metricNames('sum by (service, le) (rate(http_request_duration_seconds_bucket{job="tta-apis", status=~"5.."}[5m])) > 0.05')).toEqual([
      'http_request_duration_seconds_bucket',
    ])
    expect(metricNames('a / on(instance) group_left(name) b offset 5m or absent(up{job="x"}) unless c * 1e6')).toEqual(['a', 'b', 'c', 'up'])
    expect(metricNames('predict_linear(node_filesystem_avail_bytes{fstype!~"tmpfs"}[6h], 24 * 3600) < 0')).toEqual(['node_filesystem_avail_bytes'])
    expect(metricNames('histogram_quantile(0.95, sum without (pod) (rate(x_bucket[$__rate_interval])))')).toEqual(['x_bucket'])
    expect(metricNames('label_values(container_last_seen, container_label_com_docker_compose_project)')).toEqual(['container_last_seen'])
    expect(metricNames('count(node_cpu_seconds_total{mode="idle"}) by (instance)')).toEqual(['node_cpu_seconds_total'])
  })
})

describe('Grafana provisioning', () => {
  it('provisions Prometheus, Loki and Alertmanager with fixed, unique uids at the compose services', () => {
    expect(datasources.map((d) => [d.uid, d.type])).toEqual([
      ['tta-prometheus', 'prometheus'],
      ['tta-loki', 'loki'],
      ['tta-alertmanager', 'alertmanager'],
    ])
    const published: Record<string, string> = {prometheus: '9090', loki: '3100', alertmanager: '9093'}
    for (const ds of datasources) {
      const url = new URL(ds.url)
      expect(Object.keys(compose.services), ds.url).toContain(url.hostname)
      const containerPorts = (compose.services[url.hostname]?.ports ?? []).map((p) => p.split(':').at(-1))
      expect(containerPorts, ds.url).toContain(url.port)
      expect(url.port).toBe(published[url.hostname])
    }
  })

  it('loads dashboards from the directory the compose file mounts them at', () => {
    const provider = parse(readFileSync(join(monitoringDir, 'grafana/provisioning/dashboards/tta.yml'), 'utf8')) as {
      providers: Array<{options: {path: string}}>
    }
    const mount = compose.services.grafana?.volumes?.find((v) => v.startsWith('./monitoring/grafana/dashboards:'))
    expect(mount?.split(':')[1]).toBe(provider.providers[0]?.options.path)
  })

  it('takes the admin password from TTA_GRAFANA_ADMIN_PASSWORD (required; never admin/admin)', () => {
    const env = compose.services.grafana?.environment ?? {}
    expect(env.GF_SECURITY_ADMIN_PASSWORD).toMatch(/^\$\{TTA_GRAFANA_ADMIN_PASSWORD:\?/)
    expect(env.GF_USERS_ALLOW_SIGN_UP).toBe('false')
  })
})

describe('dashboards', () => {
  const all = dashboards()

  it('are valid JSON with unique uids', () => {
    expect(all.length).toBeGreaterThan(0)
    const uids = all.map((d) => d.dashboard.uid)
    expect(new Set(uids).size).toBe(uids.length)
    for (const uid of uids) expect(uid).toMatch(/^[a-z0-9-]{1,40}$/)
  })

  it.each(all.map((d) => [d.file, d.dashboard] as const))('%s: unique panel ids, panels inside the 24-column grid, not overlapping', (_file, dashboard) => {
    const panels = allPanels(dashboard)
    const ids = panels.map((p) => p.id)
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([])
    for (const p of panels) expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24)
    const overlaps = (a: (typeof panels)[number], b: (typeof panels)[number]): boolean =>
      a.gridPos.x < b.gridPos.x + b.gridPos.w && b.gridPos.x < a.gridPos.x + a.gridPos.w && a.gridPos.y < b.gridPos.y + b.gridPos.h && b.gridPos.y < a.gridPos.y + a.gridPos.h
    for (const [i, a] of panels.entries()) for (const b of panels.slice(i + 1)) expect(overlaps(a, b), `${a.title} / ${b.title}`).toBe(false)
  })

  it.each(all.map((d) => [d.file, d.dashboard] as const))('%s: every datasource reference names a provisioned uid of the right type', (_file, dashboard) => {
    const byUid = new Map(datasources.map((d) => [d.uid, d.type]))
    const refs: Array<{path: string; uid?: unknown; type?: unknown}> = []
    const walk = (node: unknown, path: string): void => {
      if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${path}[${i}]`))
      else if (node && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          // A datasource given by name (a string) would break when the name changes: uids only.
          if (key === 'datasource') refs.push(typeof value === 'object' && value ? {path: `${path}.${key}`, ...value} : {path: `${path}.${key}`, uid: value})
          walk(value, `${path}.${key}`)
        }
      }
    }
    walk(dashboard, '$')
    expect(refs.length).toBeGreaterThan(0)
    for (const ref of refs) {
      expect(typeof ref.uid === 'string' && byUid.has(ref.uid), `${ref.path}: uid ${String(ref.uid)}`).toBe(true)
      expect(ref.type, ref.path).toBe(byUid.get(ref.uid as string))
    }
  })

  it.each(all.map((d) => [d.file, d.dashboard] as const))('%s: every panel but rows has a datasource and a query', (_file, dashboard) => {
    for (const panel of allPanels(dashboard).filter((p) => p.type !== 'row')) {
      expect(panel.datasource?.uid, panel.title).toBeDefined()
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0)
      for (const t of panel.targets ?? []) expect(t.expr?.trim(), `${panel.title} ${t.refId}`).toBeTruthy()
    }
  })

  it('covers the overview the issue asks for', () => {
    const text = JSON.stringify(all.map((d) => d.dashboard))
    for (const needle of ['probe_success', 'probe_duration_seconds', 'http_requests_total', 'http_request_duration_seconds_bucket', 'container_cpu_usage_seconds_total', 'container_memory_working_set_bytes', 'redis_up', 'pg_up', 'ALERTS', 'tta-loki']) {
      expect(text, needle).toContain(needle)
    }
  })

  it('log panels select only labels promtail attaches', () => {
    const promtail = parse(readFileSync(join(monitoringDir, 'promtail/promtail.yml'), 'utf8')) as {
      scrape_configs: Array<{relabel_configs: Array<{target_label?: string}>}>
    }
    const attached = new Set(promtail.scrape_configs.flatMap((s) => s.relabel_configs.map((r) => r.target_label).filter(Boolean)))
    expect([...attached].sort()).toEqual(['container', 'project', 'service', 'stream'])
    const lokiQueries = dashboardQueries().filter((q) => q.datasourceUid === 'tta-loki')
    expect(lokiQueries.length).toBeGreaterThan(0)
    for (const q of lokiQueries) {
      const selector = /^\{([^}]*)\}/.exec(q.expr.trim())?.[1] ?? ''
      const labels = [...selector.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1])
      expect(labels.length, q.where).toBeGreaterThan(0)
      for (const label of labels) expect(attached.has(label ?? ''), `${q.where}: label ${label}`).toBe(true)
    }
  })
})

describe('queried metrics', () => {
  it('every metric a dashboard or alert queries has a declared source job (verified against the real exporters in e2e)', () => {
    const names = new Set(promQueries().flatMap((q) => metricNames(q.expr)))
    const undeclared = [...names].filter((n) => !PROMETHEUS_GENERATED.has(n) && !(n in METRIC_SOURCES))
    expect(undeclared).toEqual([])
    // No stale entries either: the map is exactly what is queried.
    expect(Object.keys(METRIC_SOURCES).filter((n) => !names.has(n))).toEqual([])
    const jobs = new Set(scrapeJobs().map((j) => j.job_name))
    for (const job of Object.values(METRIC_SOURCES)) expect(jobs.has(job), job).toBe(true)
  })
})

describe('Prometheus', () => {
  it('scrapes only compose services of the core or monitoring file, each target with a service label', () => {
    const services = new Set([...Object.keys(coreCompose.services), ...Object.keys(compose.services)])
    for (const job of scrapeJobs()) {
      for (const sc of job.static_configs ?? []) {
        expect(sc.labels?.service, job.job_name).toBeTruthy()
        for (const target of sc.targets) {
          const host = target === 'localhost:9090' ? 'prometheus' : new URL(target.includes('://') ? target : `tcp://${target}`).hostname
          expect(services.has(host), `${job.job_name}: ${target}`).toBe(true)
        }
      }
    }
  })

  it('probes every TTA endpoint: HTTP for the APIs, frontend, neo4j, grafana; TCP for redis, postgres, bolt', () => {
    const targets = (job: string): string[] => scrapeJobs().find((j) => j.job_name === job)?.static_configs?.flatMap((s) => s.targets) ?? []
    expect(targets('blackbox-http').map((t) => new URL(t).hostname).sort()).toEqual(
      ['admin-api', 'clinical-api', 'developer-api', 'frontend', 'grafana', 'langgraph', 'neo4j', 'patient-api'],
    )
    expect(targets('blackbox-tcp').sort()).toEqual(['neo4j:7687', 'postgres:5432', 'redis:6379'])
  })

  it('keeps 30 days of data', () => {
    expect(compose.services.prometheus?.command).toContain('--storage.tsdb.retention.time=30d')
  })

  it('TargetMissing watches exactly the scrape jobs', () => {
    const rule = alertRules().find((r) => r.alert === 'TargetMissing')
    const watched = [...(rule?.expr ?? '').matchAll(/absent\(up\{job="([^"]+)"\}\)/g)].map((m) => m[1]).sort()
    expect(watched).toEqual(scrapeJobs().map((j) => j.job_name).sort())
  })
})

describe('alert rules', () => {
  const rules = alertRules()
  const tests = parse(readFileSync(join(monitoringDir, 'prometheus/tests/tta-rules.test.yml'), 'utf8')) as {
    tests: Array<{alert_rule_test?: Array<{eval_time: string; alertname: string; exp_alerts: unknown[]}>}>
  }
  const minutes = (d: string): number => {
    const m = /^(?:(\d+)h)?(?:(\d+)m)?$/.exec(d)
    if (!m) throw new Error(`unexpected eval_time ${d}`)
    return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)
  }

  it('cover the issue: down, probe, error rate, p95, restarts, memory, disk, missing target', () => {
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining(['ServiceDown', 'ProbeFailing', 'HighErrorRate', 'HighLatencyP95', 'ContainerRestarting', 'ContainerMemoryNearLimit', 'DiskFilling', 'TargetMissing']),
    )
    const names = rules.map((r) => r.alert)
    expect(new Set(names).size).toBe(names.length)
  })

  it.each(rules.map((r) => [r.alert, r] as const))('%s has for:, a severity, a summary and a description', (_name, rule) => {
    expect(rule.for).toMatch(/^\d+[smh]$/)
    expect(['critical', 'warning']).toContain(rule.labels?.severity)
    expect(rule.annotations?.summary?.trim()).toBeTruthy()
    expect(rule.annotations?.description?.trim()).toBeTruthy()
  })

  it.each(rules.map((r) => [r.alert] as const))('%s is tested firing, then resolved, by promtool test rules', (name) => {
    const groups = tests.tests.map((t) => (t.alert_rule_test ?? []).filter((a) => a.alertname === name))
    const proven = groups.some((checks) => {
      const firing = checks.filter((c) => c.exp_alerts.length > 0).map((c) => minutes(c.eval_time))
      const quiet = checks.filter((c) => c.exp_alerts.length === 0).map((c) => minutes(c.eval_time))
      return firing.some((f) => quiet.some((q) => q > f))
    })
    expect(proven).toBe(true)
  })
})

describe('compose overlay', () => {
  it('runs cAdvisor unprivileged (some engines refuse privileged containers)', () => {
    expect(compose.services.cadvisor?.privileged).toBeUndefined()
  })

  it('gives Alertmanager its webhook only through TTA_ALERT_WEBHOOK_URL', () => {
    expect(compose.services.alertmanager?.environment?.TTA_ALERT_WEBHOOK_URL).toBe('${TTA_ALERT_WEBHOOK_URL:-}')
    const template = readFileSync(join(monitoringDir, 'alertmanager/alertmanager.yml'), 'utf8')
    for (const line of template.split('\n').filter((l) => l.includes('url:'))) expect(line).toMatch(/'@TTA_ALERT_WEBHOOK_URL@' # @webhook$/)
  })
})
