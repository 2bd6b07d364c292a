import {exchange, formatTarget} from './socket.js'
import type {ProbeResult} from './types.js'

/** PostgreSQL's StartupMessage (protocol 3.0) for a user and database: what pg_isready sends. */
export function startupMessage(user: string, database: string): Buffer {
  const params = Buffer.from(`user\0${user}\0database\0${database}\0application_name\0tta-status\0\0`, 'utf8')
  const header = Buffer.alloc(8)
  header.writeInt32BE(8 + params.length, 0)
  header.writeInt32BE(196608, 4)
  return Buffer.concat([header, params])
}

/** True once the first whole backend message has arrived. */
export function messageComplete(data: Buffer): boolean {
  return data.length >= 5 && data.length >= 1 + data.readInt32BE(1)
}

const AUTH_METHODS: Record<number, string> = {0: 'trust', 3: 'password', 5: 'md5', 7: 'GSSAPI', 9: 'SSPI', 10: 'SCRAM'}

/** ErrorResponse fields: severity (S/V), SQLSTATE code (C), message (M). */
export function errorFields(data: Buffer): Record<string, string> {
  const fields: Record<string, string> = {}
  const end = Math.min(data.length, 1 + data.readInt32BE(1))
  let offset = 5
  while (offset < end && data[offset] !== 0) {
    const type = String.fromCharCode(data[offset] as number)
    const stop = data.indexOf(0, offset + 1)
    if (stop < 0) break
    fields[type] = data.toString('utf8', offset + 1, stop)
    offset = stop + 1
  }
  return fields
}

/**
 * The verdict on the server's first message. An authentication request means the server accepts
 * connections (that is all pg_isready asks). An error means it is up but refusing, unless the
 * error says it cannot take connections yet: starting up, shutting down, in recovery (57P03),
 * or full (53300).
 */
export function judgePostgres(data: Buffer): {ok: boolean; detail?: string; error?: string} {
  const kind = String.fromCharCode(data[0] ?? 0)
  if (kind === 'R') {
    const code = data.length >= 9 ? data.readInt32BE(5) : -1
    return {ok: true, detail: `accepts connections (auth: ${AUTH_METHODS[code] ?? `method ${code}`})`}
  }
  if (kind === 'E') {
    const fields = errorFields(data)
    const code = fields.C ?? ''
    const message = fields.M ?? 'error'
    if (code === '57P03' || code.startsWith('53')) return {ok: false, error: `${message} (${code})`}
    return {ok: true, detail: `answers, refusing the probe's login: ${message}${code ? ` (${code})` : ''}`}
  }
  return {ok: false, error: `not a PostgreSQL answer (first byte ${JSON.stringify(kind)})`}
}

export async function probePostgres(spec: {host: string; port: number; user: string; database: string; timeoutMs: number}): Promise<ProbeResult> {
  const answer = await exchange(spec.host, spec.port, startupMessage(spec.user, spec.database), messageComplete, spec.timeoutMs)
  return {type: 'postgres', target: formatTarget(spec.host, spec.port), latencyMs: answer.latencyMs, ...judgePostgres(answer.data)}
}
