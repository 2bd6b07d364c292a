import {openEngineApi} from '../docker/api.js'
import {ExitCode, TtaError} from '../errors.js'
import {projectNameFor} from '../workspace/project-name.js'
import type {Workspace} from '../workspace/root.js'
import {collectStatus, type CollectOptions} from './collect.js'
import {monitoringServices, refuseUnknownServices} from './groups.js'
import type {StatusReport} from './model.js'

/** What every status mode (once, --watch, --serve) is asked: the services, the probe timeout, stats or not. */
export interface StatusRequest {
  workspace: Workspace
  projectName?: string
  services: string[]
  /** Network probes' timeout in seconds; exec probes get at least 3 s. */
  timeoutSeconds: number
  stats: boolean
}

export function collectOptionsFor(request: StatusRequest): CollectOptions {
  const {workspace} = request
  return {
    project: projectNameFor({projectName: request.projectName, workspace}),
    services: request.services,
    probes: workspace.config.probes,
    images: workspace.config.images,
    monitoring: monitoringServices(),
    timeoutMs: request.timeoutSeconds * 1000,
    execTimeoutMs: Math.max(request.timeoutSeconds * 1000, 3000),
    stats: request.stats,
  }
}

/** A named service with no container is "missing" if the workspace defines it, and a typo otherwise. */
export function rejectUnknownServices(report: StatusReport, workspace: Workspace): Promise<void> {
  const missing = report.services.filter((s) => s.status === 'missing').map((s) => s.service)
  return refuseUnknownServices(missing, workspace.config.composeFiles)
}

/** `tta status` without --watch/--serve: one collection, unknown names refused. */
export async function statusOnce(request: StatusRequest): Promise<StatusReport> {
  const options = collectOptionsFor(request)
  const api = await openEngineApi()
  try {
    const {report} = await collectStatus(api, options)
    await rejectUnknownServices(report, request.workspace)
    return report
  } finally {
    api.close()
  }
}

/** `--check`: the failure to report when not every selected service is healthy. */
export function checkFailure(report: StatusReport): TtaError | undefined {
  if (report.healthy) return undefined
  if (report.counts.total === 0) return new TtaError(`check failed: nothing running in project ${report.project}`, ExitCode.failed)
  const bad = report.services.filter((s) => s.status !== 'healthy')
  return new TtaError(
    `check failed: ${bad.length} of ${report.counts.total} services not healthy: ${bad.map((s) => `${s.service} (${s.status})`).join(', ')}`,
    ExitCode.failed,
  )
}
