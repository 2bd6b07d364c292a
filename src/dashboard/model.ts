// The dashboard's wire format: what /api/status and the `state` server-sent event carry, and what
// the page (web/) renders. Types only, so the page's bundle imports nothing of the server.
import type {BackupListEntry} from '../backup/list.js'
import type {ServiceStatus, StatusReport} from '../status/model.js'

export const DASHBOARD_SCHEMA_VERSION = 1

/** `tta ui`'s port unless --port says otherwise (forwarded by .devcontainer/devcontainer.json). */
export const DEFAULT_UI_PORT = 7373

export const ACTIONS = ['restart', 'stop', 'start', 'rebuild'] as const
export type ServiceAction = (typeof ACTIONS)[number]

/** A service's place in the dependency graph, read from Compose's depends_on labels. */
export interface GraphPosition {
  /** 0: depends on nothing; n: only on services of lower levels. */
  level: number
  dependsOn: string[]
  /** Services that depend on this one, directly. */
  dependents: string[]
}

/** The last time a service went from fine to not (or was not fine when first seen). */
export interface Failure {
  at: string
  status: ServiceStatus['status']
  reason: string | null
  exitCode: number | null
  restarts: number | null
  /** The container's last log lines at that moment (secrets masked unless --secrets). */
  logs: string[]
}

export interface ServiceExtra {
  graph: GraphPosition
  /** The compose file gives it a build section: rebuild can build its image. */
  buildable: boolean
  lastFailure: Failure | null
  /** An action under way on it, e.g. "restart". */
  busy: ServiceAction | null
}

export interface MonitoringView {
  /** Links by tool, when its service runs: grafana, prometheus, alertmanager. */
  links: Record<string, string>
  /** Firing alerts from Alertmanager's API; null when Alertmanager is not up or did not answer. */
  alerts: Array<{name: string; severity: string | null; summary: string | null; startsAt: string; labels: Record<string, string>}> | null
  alertsError: string | null
}

export interface DashboardState {
  schemaVersion: typeof DASHBOARD_SCHEMA_VERSION
  project: string
  /** dev | monitoring | full | custom (-f files) | none (nothing running). */
  mode: string
  hotReload: boolean
  status: StatusReport
  services: Record<string, ServiceExtra>
  monitoring: MonitoringView
  backups: {dir: string; list: BackupListEntry[]; running: boolean; error: string | null}
  /** Only with `tta ui --secrets`. */
  secrets: Array<{name: string; value: string}> | null
}

/** Pushed while an action runs and when it ends. */
export interface ActionEvent {
  id: number
  target: string
  action: ServiceAction | 'backup'
  phase: 'start' | 'progress' | 'done' | 'failed'
  message: string
  at: string
}

/** One log line as /api/logs and the `line` event carry it (the shape of `tta logs --json`). */
export interface LogEntry {
  time: string
  service: string
  container: string
  stream: 'stdout' | 'stderr'
  message: string
}
