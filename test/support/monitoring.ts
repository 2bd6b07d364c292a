// Reads the monitoring overlay's assets (compose/monitoring/**) for the unit and e2e tests: the
// dashboards' queries, the alert rules, the provisioned datasources, the scrape jobs; and pulls
// metric names out of PromQL, so tests can check every queried metric against real exporters.
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parse} from 'yaml'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const monitoringDir = join(repoRoot, 'compose/monitoring')
export const dashboardsDir = join(monitoringDir, 'grafana/dashboards')

const readYaml = (path: string): unknown => parse(readFileSync(path, 'utf8'))

/** Series Prometheus makes itself: per-target `up`, ALERTS from the rule manager. No exporter has them. */
export const PROMETHEUS_GENERATED = new Set(['up', 'ALERTS', 'ALERTS_FOR_STATE'])

/**
 * Where each metric the dashboards and alerts query comes from (scrape job). A new query on a new
 * metric must be added here (test/unit/monitoring checks), and test/e2e/monitoring.test.ts checks the job really exports it.
 */
export const METRIC_SOURCES: Record<string, string> = {
  probe_success: 'blackbox-http',
  probe_duration_seconds: 'blackbox-http',
  http_requests_total: 'tta-apis',
  http_request_duration_seconds_bucket: 'tta-apis',
  redis_up: 'redis-exporter',
  redis_connected_clients: 'redis-exporter',
  redis_memory_used_bytes: 'redis-exporter',
  pg_up: 'postgres-exporter',
  pg_stat_database_numbackends: 'postgres-exporter',
  container_cpu_usage_seconds_total: 'cadvisor',
  container_memory_working_set_bytes: 'cadvisor',
  container_spec_memory_limit_bytes: 'cadvisor',
  container_start_time_seconds: 'cadvisor',
  container_last_seen: 'cadvisor',
  node_filesystem_avail_bytes: 'node-exporter',
  node_filesystem_size_bytes: 'node-exporter',
  node_load1: 'node-exporter',
  node_load5: 'node-exporter',
  node_cpu_seconds_total: 'node-exporter',
}

/**
 * Jobs whose stand-in is a stub, not the real exporter: cAdvisor's metrics come from an awk script
 * (scripts/standins/cadvisor/metrics) written to export the names the dashboards query, so their
 * presence in its output proves the stub, not cAdvisor. Claims about real scrape output exclude them.
 */
export const STUB_JOBS = new Set(['cadvisor'])

export interface Datasource {
  name: string
  uid: string
  type: string
  url: string
}

export function provisionedDatasources(): Datasource[] {
  const dir = join(monitoringDir, 'grafana/provisioning/datasources')
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .flatMap((f) => (readYaml(join(dir, f)) as {datasources: Datasource[]}).datasources)
}

// Grafana's dashboard JSON, only the parts the tests look at.
export interface DatasourceRef {
  type?: string
  uid?: string
}
export interface PanelTarget {
  refId: string
  datasource?: DatasourceRef
  expr?: string
}
export interface Panel {
  id: number
  type: string
  title: string
  datasource?: DatasourceRef
  gridPos: {h: number; w: number; x: number; y: number}
  targets?: PanelTarget[]
  panels?: Panel[]
}
export interface TemplateVariable {
  name: string
  type: string
  datasource?: DatasourceRef
  query?: string | {query: string}
}
export interface Dashboard {
  uid: string
  title: string
  panels: Panel[]
  templating?: {list: TemplateVariable[]}
}

export function dashboards(): Array<{file: string; dashboard: Dashboard}> {
  return readdirSync(dashboardsDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({file, dashboard: JSON.parse(readFileSync(join(dashboardsDir, file), 'utf8')) as Dashboard}))
}

/** Every panel, including those nested in collapsed rows. */
export function allPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])])
}

export interface Query {
  /** "<dashboard file> panel <id> (<title>) <refId>" or "... variable <name>" */
  where: string
  datasourceUid: string
  expr: string
}

/** Every query a dashboard runs: panel targets and query variables, with the datasource each uses. */
export function dashboardQueries(): Query[] {
  const out: Query[] = []
  for (const {file, dashboard} of dashboards()) {
    for (const panel of allPanels(dashboard)) {
      for (const target of panel.targets ?? []) {
        const uid = target.datasource?.uid ?? panel.datasource?.uid ?? ''
        if (target.expr) out.push({where: `${file} panel ${panel.id} (${panel.title}) ${target.refId}`, datasourceUid: uid, expr: target.expr})
      }
    }
    for (const variable of dashboard.templating?.list ?? []) {
      if (variable.type !== 'query' || variable.query === undefined) continue
      const text = typeof variable.query === 'string' ? variable.query : variable.query.query
      out.push({where: `${file} variable ${variable.name}`, datasourceUid: variable.datasource?.uid ?? '', expr: text})
    }
  }
  return out
}

export interface AlertRule {
  alert: string
  expr: string
  for?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

export function alertRules(): AlertRule[] {
  const dir = join(monitoringDir, 'prometheus/rules')
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .flatMap((f) => (readYaml(join(dir, f)) as {groups: Array<{rules: AlertRule[]}>}).groups.flatMap((g) => g.rules))
}

export interface ScrapeJob {
  job_name: string
  metrics_path?: string
  static_configs?: Array<{targets: string[]; labels?: Record<string, string>}>
}

export function scrapeJobs(): ScrapeJob[] {
  return (readYaml(join(monitoringDir, 'prometheus/prometheus.yml')) as {scrape_configs: ScrapeJob[]}).scrape_configs
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'atan2', 'inf', 'nan'])

/**
 * The metric names a PromQL expression (or a Grafana `label_values(metric, label)` query) selects.
 * Strings, label matchers, ranges and grouping clauses are removed first; what is left that is
 * not a function call, keyword or number is a metric name. Grafana's `$variables` are dropped.
 */
export function metricNames(expr: string): string[] {
  const labelValues = /^\s*label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,/.exec(expr)
  if (labelValues?.[1]) return [labelValues[1]]
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ')
  const names = new Set<string>()
  for (const match of stripped.matchAll(/(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = match[0]
    const after = stripped.slice((match.index ?? 0) + name.length)
    if (/^\s*\(/.test(after) || KEYWORDS.has(name.toLowerCase())) continue
    names.add(name)
  }
  return [...names].sort()
}

/** Metric names in Prometheus' text exposition format (sample lines only, not HELP/TYPE). */
export function exposedNames(text: string): Set<string> {
  const names = new Set<string>()
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{|\s)/.exec(line)
    if (match?.[1]) names.add(match[1])
  }
  return names
}

/** Grafana variables and macros replaced so Prometheus can run a dashboard query directly. */
export function substituteVariables(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => values[name] ?? whole)
}
