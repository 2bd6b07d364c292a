import type {EngineApi} from '../docker/api.js'
import {probeExec} from './exec.js'
import {probeHttp} from './http.js'
import {probeNeo4j} from './neo4j.js'
import {probePostgres} from './postgres.js'
import {probeRedis} from './redis.js'
import {formatTarget, ProbeFailure, tcpOpen} from './socket.js'
import type {ProbeResult, ProbeSpec} from './types.js'

export interface ProbeContext {
  /** Needed by exec probes only. */
  api?: EngineApi
  containerId?: string
}

/** The target of a spec as shown to the user (never a password). */
export function probeTarget(spec: ProbeSpec): string {
  switch (spec.type) {
    case 'http':
      return `http://${formatTarget(spec.host, spec.port)}${spec.path}`
    case 'neo4j':
      return [spec.httpPort ? formatTarget(spec.host, spec.httpPort) : undefined, spec.boltPort ? `bolt ${formatTarget(spec.host, spec.boltPort)}` : undefined].filter(Boolean).join(', ')
    case 'exec':
      return `exec: ${spec.command.join(' ')}`
    default:
      return formatTarget(spec.host, spec.port)
  }
}

/** Runs one probe; never throws: a failure is a result with ok false and the reason. */
export async function runProbe(spec: ProbeSpec, ctx: ProbeContext = {}): Promise<ProbeResult> {
  const t0 = process.hrtime.bigint()
  try {
    switch (spec.type) {
      case 'http':
        return await probeHttp(spec)
      case 'tcp': {
        const open = await tcpOpen(spec.host, spec.port, spec.timeoutMs, spec.direct ? 0 : undefined)
        return {type: 'tcp', target: probeTarget(spec), ok: true, latencyMs: open.latencyMs, detail: open.greeting ? 'open (server spoke first)' : 'open'}
      }
      case 'redis':
        return await probeRedis(spec)
      case 'postgres':
        return await probePostgres(spec)
      case 'neo4j':
        return await probeNeo4j(spec)
      case 'exec':
        if (!ctx.api || !ctx.containerId) return {type: 'exec', target: probeTarget(spec), ok: false, latencyMs: 0, error: 'no running container to exec in'}
        return await probeExec(ctx.api, ctx.containerId, spec)
    }
  } catch (error) {
    const latencyMs = error instanceof ProbeFailure ? error.latencyMs : Number(process.hrtime.bigint() - t0) / 1e6
    return {type: spec.type, target: probeTarget(spec), ok: false, latencyMs, error: (error as Error).message}
  }
}
