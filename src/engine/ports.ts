import {createServer} from 'node:net'

import type {Project} from '../compose/model.js'
import type {EngineEndpoint} from '../docker/endpoint.js'
import type {UpPlan} from './plan.js'

export interface PortClaim {
  service: string
  host: string
  port: number
  /** The variable the port came from, when the loader saw one with this value (e.g. TTA_REDIS_PORT). */
  variable?: string
}

/** A host port a service is about to publish is taken by something else. */
export class PortInUseError extends Error {
  constructor(readonly conflicts: PortClaim[]) {
    super(conflicts.map((c) => `${c.service}: host port ${c.host}:${c.port} is already in use`).join('\n'))
    this.name = 'PortInUseError'
  }
}

/**
 * Host ports that services about to be started will publish. Containers kept running, and those
 * about to be replaced while running, already hold theirs and are left out.
 */
export function portsToClaim(project: Project, plan: UpPlan, variables: Record<string, string>): PortClaim[] {
  const claims: PortClaim[] = []
  for (const name of plan.levels.flat()) {
    const step = plan.services[name]
    if (!step || step.action === 'keep' || (step.action === 'recreate' && step.current?.state === 'running')) continue
    for (const port of project.services[name]?.ports ?? []) {
      if (!port.published || port.protocol !== 'tcp') continue
      const variable = Object.entries(variables).find(([key, value]) => key.endsWith('_PORT') && value === port.published)?.[0]
      claims.push({service: name, host: port.host_ip || '0.0.0.0', port: Number(port.published), variable})
    }
  }
  return claims
}

/**
 * Only when the engine publishes ports on this very machine can we test them by binding: not
 * for a remote engine, nor from inside a container the engine runs (docker outside of docker).
 */
export function portsAreLocal(endpoint: EngineEndpoint, engineIsOutside: boolean): boolean {
  return endpoint.host.startsWith('unix://') && !engineIsOutside
}

/** The engine's own words for a taken host port, e.g. "listen tcp4 127.0.0.1:8001: bind: address already in use". */
export function portFromEngineError(message: string): {host: string; port: number} | undefined {
  const match = /listen tcp[46]? ([^\s]+):(\d+): bind: address already in use|Bind for ([^\s]+):(\d+) failed: port is already allocated/.exec(message)
  if (!match) return undefined
  return {host: match[1] ?? match[3] ?? '', port: Number(match[2] ?? match[4])}
}

function isFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code !== 'EADDRINUSE'))
    server.listen({host, port, exclusive: true}, () => server.close(() => resolve(true)))
  })
}

export async function findPortConflicts(claims: PortClaim[]): Promise<PortClaim[]> {
  const results = await Promise.all(claims.map(async (claim) => ((await isFree(claim.host, claim.port)) ? undefined : claim)))
  return results.filter((c): c is PortClaim => c !== undefined)
}
