import {httpGet} from './http.js'
import {exchange, formatTarget, ProbeFailure} from './socket.js'
import type {ProbeResult} from './types.js'

/**
 * Bolt's handshake: the magic 0x6060B017, then four proposed versions (newest first). Each is
 * [0, range, minor, major]; a range lets one slot offer 5.4 down to 5.0.
 */
export const BOLT_HANDSHAKE = Buffer.from([0x60, 0x60, 0xb0, 0x17, 0, 4, 4, 5, 0, 2, 4, 4, 0, 0, 1, 4, 0, 0, 0, 3])

/** The server's 4-byte answer: the version it picked, or none. */
export function judgeBolt(data: Buffer): {ok: boolean; version?: string; error?: string} {
  if (data.length < 4) return {ok: false, error: 'incomplete bolt handshake answer'}
  if (data.toString('latin1', 0, 4) === 'HTTP') return {ok: false, error: 'an HTTP server answered on the bolt port'}
  const major = data[3] as number
  const minor = data[2] as number
  // 0.0: the server speaks bolt but none of our versions; it is up all the same.
  if (major === 0 && minor === 0) return {ok: true, version: 'no common version'}
  return {ok: true, version: `${major}.${minor}`}
}

/** The discovery document at `/`: {"neo4j_version": "5.15.0", "bolt_direct": …}. */
export function judgeDiscovery(status: number, body: string): {ok: boolean; version?: string; error?: string} {
  if (status !== 200) return {ok: false, error: `discovery answered HTTP ${status}`}
  try {
    const doc = JSON.parse(body) as {neo4j_version?: string; bolt_direct?: string; bolt_routing?: string}
    if (doc.neo4j_version) return {ok: true, version: doc.neo4j_version}
    if (doc.bolt_direct || doc.bolt_routing) return {ok: true}
  } catch {
    // not JSON: fall through
  }
  return {ok: false, error: 'no neo4j discovery document at / (is this neo4j?)'}
}

/** HTTP discovery and the bolt handshake, in parallel; up when every configured one passes. */
export async function probeNeo4j(spec: {host: string; httpPort?: number; boltPort?: number; timeoutMs: number}): Promise<ProbeResult> {
  const targets = [spec.httpPort ? formatTarget(spec.host, spec.httpPort) : undefined, spec.boltPort ? `bolt ${formatTarget(spec.host, spec.boltPort)}` : undefined].filter(Boolean).join(', ')
  const failure = (error: unknown): {ok: false; error: string; latencyMs: number} => ({ok: false, error: (error as Error).message, latencyMs: error instanceof ProbeFailure ? error.latencyMs : 0})
  const [http, bolt] = await Promise.all([
    spec.httpPort
      ? httpGet(spec.host, spec.httpPort, '/', spec.timeoutMs, 64 * 1024).then((a) => ({...judgeDiscovery(a.status, a.body), latencyMs: a.latencyMs}), failure)
      : undefined,
    spec.boltPort
      ? exchange(spec.host, spec.boltPort, BOLT_HANDSHAKE, (d) => d.length >= 4, spec.timeoutMs).then((a) => ({...judgeBolt(a.data), latencyMs: a.latencyMs}), failure)
      : undefined,
  ])
  const parts = [http, bolt].filter((p): p is NonNullable<typeof p> => p !== undefined)
  const latencyMs = Math.max(0, ...parts.map((p) => p.latencyMs))
  const errors = [http && !http.ok ? `http: ${http.error}` : undefined, bolt && !bolt.ok ? `bolt: ${bolt.error}` : undefined].filter(Boolean)
  const detail = [http?.ok ? `neo4j ${'version' in http && http.version ? http.version : 'http ok'}` : undefined, bolt?.ok ? `bolt ${'version' in bolt ? bolt.version : 'ok'}` : undefined].filter(Boolean).join(', ')
  return {type: 'neo4j', target: targets, ok: errors.length === 0 && parts.length > 0, latencyMs, detail: detail || undefined, error: errors.length > 0 ? errors.join('; ') : parts.length === 0 ? 'no port to probe' : undefined}
}
