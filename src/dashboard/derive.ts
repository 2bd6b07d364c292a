// Pure parts of the dashboard: graph positions, the mode, failure transitions, masking, alerts.
import {basename} from 'node:path'

import {dependencyLevels} from '../engine/graph.js'
import {Label} from '../engine/labels.js'
import {graphFromLabels} from '../engine/stop.js'
import type {ServiceStatus, StatusReport} from '../status/model.js'
import type {GraphPosition, MonitoringView} from './model.js'

/** Each service's level, what it depends on and what depends on it, from Compose's depends_on labels. */
export function graphPositions(containers: Array<{service: string; labels: Record<string, string>}>): Record<string, GraphPosition> {
  const project = graphFromLabels(containers)
  const names = Object.keys(project.services)
  const result: Record<string, GraphPosition> = {}
  let levels: string[][]
  try {
    levels = dependencyLevels(project, names)
  } catch {
    // A cycle among labels (hand-made containers): show them all on one level rather than fail.
    levels = [names]
  }
  levels.forEach((level, index) => {
    for (const name of level) {
      const dependsOn = Object.keys(project.services[name]?.depends_on ?? {}).sort()
      result[name] = {level: index, dependsOn, dependents: []}
    }
  })
  for (const [name, position] of Object.entries(result)) {
    for (const dep of position.dependsOn) result[dep]?.dependents.push(name)
  }
  for (const position of Object.values(result)) position.dependents.sort()
  return result
}

const CORE = 'docker-compose.yml'
const HOT = 'docker-compose.hotreload.yml'
const MONITORING = 'docker-compose.monitoring.yml'

/** The mode the running containers were started in, from their config-files labels (all of them: `tta dev` then `tta monitoring` is full). */
export function modeOf(labels: Array<Record<string, string>>): {mode: string; hotReload: boolean} {
  if (labels.length === 0) return {mode: 'none', hotReload: false}
  const files = new Set(labels.flatMap((l) => (l[Label.configFiles] ?? '').split(',').filter(Boolean).map((f) => basename(f))))
  const core = files.has(CORE)
  const monitoring = files.has(MONITORING)
  const hotReload = files.has(HOT)
  const mode = core && monitoring ? 'full' : core ? 'dev' : monitoring ? 'monitoring' : 'custom'
  return {mode, hotReload}
}

/** What the previous round knew of a service, to tell a new failure from one already recorded. */
export interface Seen {
  status: ServiceStatus['status']
  restarts: number | null
  startedAt: string | null
}

const FINE = new Set<ServiceStatus['status']>(['healthy', 'starting'])

/**
 * A failure to record: a service that was fine and is not any more, one that restarted by itself
 * (its restart count grew), or one not fine when first seen. A service stopped by the dashboard's
 * own action is not a failure: the caller leaves those out.
 */
export function isNewFailure(before: Seen | undefined, now: ServiceStatus): boolean {
  if (now.status === 'missing') return false
  if (!before) return !FINE.has(now.status)
  if (now.restarts !== null && before.restarts !== null && now.restarts > before.restarts) return true
  return FINE.has(before.status) && !FINE.has(now.status)
}

/** Replaces every occurrence of a secret value (4 characters or more) with a mask. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) if (secret.length >= 4 && out.includes(secret)) out = out.split(secret).join('••••••')
  return out
}

/** Links to the monitoring tools whose services run, from their URLs. */
export function monitoringLinks(report: StatusReport): Record<string, string> {
  const links: Record<string, string> = {}
  for (const name of ['grafana', 'prometheus', 'alertmanager']) {
    const s = report.services.find((x) => x.service === name)
    const url = s?.state === 'running' ? s.urls.find((u) => u.startsWith('http')) : undefined
    if (url) links[name] = url
  }
  return links
}

interface AlertmanagerAlert {
  labels?: Record<string, string>
  annotations?: Record<string, string>
  startsAt?: string
  status?: {state?: string}
}

/** Alertmanager's GET /api/v2/alerts answer, firing (active) ones only. */
export function firingAlerts(body: unknown): NonNullable<MonitoringView['alerts']> {
  if (!Array.isArray(body)) throw new Error('Alertmanager answered something other than a list of alerts')
  return (body as AlertmanagerAlert[])
    .filter((a) => (a.status?.state ?? 'active') === 'active')
    .map((a) => ({
      name: a.labels?.alertname ?? '(unnamed)',
      severity: a.labels?.severity ?? null,
      summary: a.annotations?.summary ?? a.annotations?.description ?? null,
      startsAt: a.startsAt ?? '',
      labels: a.labels ?? {},
    }))
    .sort((a, b) => (a.startsAt < b.startsAt ? 1 : -1))
}

/** A URL from a service's published ports, fetched from here: localhost as 127.0.0.1 (the bind address). */
export function hostSideUrl(url: string): string {
  return url.replace('://localhost:', '://127.0.0.1:')
}

/**
 * Where tta itself reaches a service's HTTP API: where its http probe went (the address status
 * worked out for this machine: the container's own, or the published port from a devcontainer),
 * else its published URL.
 */
export function apiBase(service: ServiceStatus | undefined, published: string): string {
  if (service?.probe?.type === 'http' && service.probe.ok) {
    try {
      return new URL(service.probe.target).origin
    } catch {
      // not a URL: the published one below
    }
  }
  return hostSideUrl(published)
}
