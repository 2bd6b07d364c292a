import type {StatusReport} from './model.js'

/** A label value escaped for the Prometheus text format. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

function labels(pairs: Record<string, string>): string {
  return `{${Object.entries(pairs)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',')}}`
}

function num(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Math.round(value * 1e6) / 1e6)
}

/**
 * The report as Prometheus exposition text (format 0.0.4), with the names the TTA health-check
 * service exported: tta_service_up and tta_service_response_time_seconds, labelled by service.
 */
export function renderMetrics(report: StatusReport): string {
  const out: string[] = []
  const metric = (name: string, help: string, rows: Array<[Record<string, string>, number]>): void => {
    if (rows.length === 0) return
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`)
    for (const [l, v] of rows) out.push(`${name}${labels(l)} ${num(v)}`)
  }
  const base = (s: StatusReport['services'][number]): Record<string, string> => ({
    service: s.service,
    group: s.group,
    project: report.project,
    ...(s.container ? {container: s.container.name} : {}),
  })
  metric(
    'tta_service_up',
    'Whether the service is healthy: its container runs and its probe passes (1) or not (0).',
    report.services.map((s) => [base(s), s.status === 'healthy' ? 1 : 0]),
  )
  metric(
    'tta_service_response_time_seconds',
    "Latency of the service's probe (http, tcp, redis, postgres, neo4j, exec), in seconds.",
    report.services.filter((s) => s.probe).map((s) => [{...base(s), probe: s.probe?.type ?? ''}, (s.probe?.latencyMs ?? 0) / 1000]),
  )
  metric(
    'tta_service_probe_success',
    "Whether the service's probe passed (1) or failed (0); absent for services without a probe.",
    report.services.filter((s) => s.probe).map((s) => [{...base(s), probe: s.probe?.type ?? ''}, s.probe?.ok ? 1 : 0]),
  )
  metric(
    'tta_service_container_running',
    "Whether the service's container is running (1) or not (0).",
    report.services.map((s) => [base(s), s.state === 'running' ? 1 : 0]),
  )
  metric(
    'tta_service_restarts',
    'How often Docker restarted the container (restart policy).',
    report.services.filter((s) => s.restarts !== null).map((s) => [base(s), s.restarts ?? 0]),
  )
  metric(
    'tta_service_uptime_seconds',
    'Seconds since the container started.',
    report.services.filter((s) => s.uptimeSeconds !== null).map((s) => [base(s), s.uptimeSeconds ?? 0]),
  )
  metric(
    'tta_service_cpu_percent',
    'CPU use of the container (100 = one core).',
    report.services.filter((s) => s.cpuPercent !== null).map((s) => [base(s), s.cpuPercent ?? 0]),
  )
  metric(
    'tta_service_memory_bytes',
    'Memory the container uses, without page cache (as docker stats shows it).',
    report.services.filter((s) => s.memoryBytes !== null).map((s) => [base(s), s.memoryBytes ?? 0]),
  )
  metric('tta_status_collect_seconds', 'How long collecting this status took.', [[{project: report.project}, report.durationMs / 1000]])
  return out.join('\n') + '\n'
}
