/**
 * Protocol-level health probes. A ProbeSpec is concrete (host, host port, what to send); it is
 * derived from what a service publishes and runs (derive.ts) or set in tta.config.yaml `probes:`.
 */

/** Which HTTP answers count as up: one status code, or a class such as "2xx". */
export type HttpExpectation = number | `${1 | 2 | 3 | 4 | 5}xx`

export type ProbeSpec =
  | {type: 'http'; host: string; port: number; path: string; expect?: HttpExpectation[]; timeoutMs: number}
  /** `direct`: the container's own address, no userland proxy in between: open means listening, no hold needed. */
  | {type: 'tcp'; host: string; port: number; timeoutMs: number; direct?: boolean}
  | {type: 'redis'; host: string; port: number; password?: string; timeoutMs: number}
  | {type: 'postgres'; host: string; port: number; user: string; database: string; timeoutMs: number}
  | {type: 'neo4j'; host: string; httpPort?: number; boltPort?: number; timeoutMs: number}
  /** Runs a command inside the service's container (its healthcheck, or one from the config). */
  | {type: 'exec'; command: string[]; timeoutMs: number}

export type ProbeType = ProbeSpec['type']

export const PROBE_TYPES = ['http', 'tcp', 'redis', 'postgres', 'neo4j', 'exec', 'none'] as const

export interface ProbeResult {
  type: ProbeType
  /** What was probed, without secrets: `127.0.0.1:6379`, `http://127.0.0.1:8001/health`, `exec: pg_isready …`. */
  target: string
  ok: boolean
  /** Time to the deciding answer (or to the failure), in milliseconds. */
  latencyMs: number
  /** What the service answered, e.g. `PONG`, `HTTP 200`, `neo4j 5.15.0, bolt 5.4`. */
  detail?: string
  /** Why it failed, in words a developer acts on. */
  error?: string
}

/**
 * A `probes:` entry of tta.config.yaml for one service. Ports are container ports (the ones in
 * the compose file's `ports:` targets); status finds the host port they are published on.
 */
export interface ProbeOverride {
  type: ProbeType | 'none'
  port?: number
  path?: string
  expect?: HttpExpectation[]
  timeoutMs?: number
  password?: string
  user?: string
  database?: string
  httpPort?: number
  boltPort?: number
  command?: string[]
}
