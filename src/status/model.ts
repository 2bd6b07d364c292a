import type {ProbeResult, ProbeType} from '../probes/types.js'
import type {ProbeSource} from '../probes/derive.js'

/**
 * `tta status --json`, schema version 1 (documented in docs/status-logs.md). Every key is always
 * present; unknown values are null. Additions bump nothing; renames or removals bump the version.
 */
export const STATUS_SCHEMA_VERSION = 1

/** The verdict on one service, from its container state, Docker's health and tta's probe. */
export const VERDICTS = ['healthy', 'starting', 'unhealthy', 'down', 'stopped', 'missing'] as const
export type Verdict = (typeof VERDICTS)[number]

export type Group = 'core' | 'monitoring'

export interface StatusProbe {
  type: ProbeType
  /** Where the probe came from: tta.config.yaml, the image, the healthcheck, a published port. */
  source: ProbeSource
  target: string
  ok: boolean
  latencyMs: number
  detail: string | null
  error: string | null
}

export interface ServiceStatus {
  service: string
  group: Group
  status: Verdict
  /** Why the status is not healthy (or what stands in for a probe), in words; null when healthy. */
  reason: string | null
  /** Docker's container state (running, exited, restarting, paused, created, dead); null when missing. */
  state: string | null
  /** Docker's healthcheck status; null without a healthcheck. */
  health: 'healthy' | 'unhealthy' | 'starting' | null
  container: {id: string; name: string; number: number; image: string} | null
  startedAt: string | null
  uptimeSeconds: number | null
  restarts: number | null
  exitCode: number | null
  urls: string[]
  probe: StatusProbe | null
  cpuPercent: number | null
  memoryBytes: number | null
  memoryLimitBytes: number | null
}

export interface StatusReport {
  schemaVersion: typeof STATUS_SCHEMA_VERSION
  project: string
  /** The engine endpoint asked, e.g. unix:///var/run/docker.sock. */
  engine: string
  generatedAt: string
  durationMs: number
  /** True when at least one service was reported and every one is healthy. */
  healthy: boolean
  counts: Record<Verdict, number> & {total: number}
  services: ServiceStatus[]
  /** Every published endpoint, flat, with its real host port (allocated ones included): for scripts and agents. */
  endpoints: StatusEndpoint[]
}

export interface StatusEndpoint {
  service: string
  url: string
  scheme: string
  host: string
  port: number
}

export function endpointsOf(services: readonly ServiceStatus[]): StatusEndpoint[] {
  return services.flatMap((s) =>
    s.urls.map((url) => {
      const parsed = new URL(url)
      return {service: s.service, url, scheme: parsed.protocol.replace(/:$/, ''), host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port)}
    }),
  )
}

export function toStatusProbe(result: ProbeResult, source: ProbeSource): StatusProbe {
  return {
    type: result.type,
    source,
    target: result.target,
    ok: result.ok,
    latencyMs: Math.round(result.latencyMs * 100) / 100,
    detail: result.detail ?? null,
    error: result.error ?? null,
  }
}

/**
 * The verdict. tta's own probe is the fresh truth (Docker's health lags by its interval and
 * retries), so a failing probe means down even while Docker still says healthy or starting;
 * Docker's "unhealthy" still counts against a passing probe, since its check may look deeper.
 */
export function verdictFor(state: string | null, health: ServiceStatus['health'], probe: StatusProbe | null, noProbeReason?: string): {status: Verdict; reason: string | null} {
  if (state === null) return {status: 'missing', reason: 'no container: start it with `tta dev` (or `tta monitoring`, `tta full`)'}
  if (state === 'restarting') return {status: 'down', reason: 'restarting (it keeps exiting: see `tta logs`)'}
  if (state === 'paused') return {status: 'down', reason: 'paused (`docker unpause` it)'}
  if (state !== 'running') return {status: 'stopped', reason: `container ${state}`}
  if (probe) {
    if (probe.ok) return health === 'unhealthy' ? {status: 'unhealthy', reason: "Docker's healthcheck fails although the probe passes"} : {status: 'healthy', reason: null}
    // Not answering is down, even in Docker's start period: Docker says "starting" until its
    // first check passes, which lags well behind a service that answered (tta dev waits for
    // that) and then stopped. The reason still says it may be booting.
    const booting = health === 'starting' ? " (Docker's healthcheck has not passed yet: it may still be starting)" : ''
    return {status: 'down', reason: `probe failed: ${probe.error ?? 'no answer'}${booting}`}
  }
  if (health === 'unhealthy') return {status: 'unhealthy', reason: "Docker's healthcheck fails"}
  if (health === 'starting') return {status: 'starting', reason: "Docker's healthcheck has not passed yet"}
  return {status: 'healthy', reason: noProbeReason ?? null}
}

export function countVerdicts(services: ServiceStatus[]): StatusReport['counts'] {
  const counts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>
  for (const s of services) counts[s.status] += 1
  return {...counts, total: services.length}
}
