import {readdirSync, readFileSync, readlinkSync} from 'node:fs'
import {createServer} from 'node:net'
import {join} from 'node:path'

import type {Project} from '../compose/model.js'
import type {EngineEndpoint} from '../docker/endpoint.js'
import type {EnginePort} from '../docker/port.js'
import {Label} from './labels.js'
import type {UpPlan} from './plan.js'

export interface PortClaim {
  service: string
  host: string
  port: number
  /** The variable the port came from, when the loader saw one with this value (e.g. TTA_REDIS_PORT). */
  variable?: string
  /** Who holds it, when known: "container x (compose project y)" or "process nginx (pid 12)". */
  holder?: string
}

/** A host port a service is about to publish is taken by something else. */
export class PortInUseError extends Error {
  constructor(readonly conflicts: PortClaim[]) {
    super(conflicts.map((c) => `${c.service}: host port ${c.host}:${c.port} is already in use${c.holder ? ` by ${c.holder}` : ''}`).join('\n'))
    this.name = 'PortInUseError'
  }
}

/**
 * Host ports that services about to be started will publish. Containers kept running, and those
 * about to be replaced while running, already hold theirs and are left out.
 */
export function portsToClaim(project: Project, plan: UpPlan, variables: Record<string, string>, defaults: Record<string, string> = {}): PortClaim[] {
  const claims: PortClaim[] = []
  for (const name of plan.levels.flat()) {
    const step = plan.services[name]
    if (!step || step.action === 'keep' || (step.action === 'recreate' && step.current?.state === 'running')) continue
    for (const port of project.services[name]?.ports ?? []) {
      if (!port.published || port.protocol !== 'tcp') continue
      const variable = portVariable(port.published, variables, defaults)
      claims.push({service: name, host: port.host_ip || '0.0.0.0', port: Number(port.published), variable})
    }
  }
  return claims
}

/** The `*_PORT` variable a published port came from: set to that value, or unset and defaulting to it. */
export function portVariable(published: string, variables: Record<string, string>, defaults: Record<string, string> = {}): string | undefined {
  const ports = Object.keys(variables).filter((key) => key.endsWith('_PORT'))
  return ports.find((key) => variables[key] === published) ?? ports.find((key) => variables[key] === '' && defaults[key] === published)
}

/** The engine refused to start a container because a host port was taken after the preflight (a race). */
export class PortTakenError extends Error {
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super(`host port ${host}:${port} is already in use (another program or container listens there)`)
    this.name = 'PortTakenError'
  }
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

export function isFree(host: string, port: number): Promise<boolean> {
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

/** Who holds a host port: a container publishing it, else a local process (from /proc), else unknown. */
export async function findPortHolder(engine: Pick<EnginePort, 'containers'>, port: number): Promise<string | undefined> {
  const containers = await engine.containers.list().catch(() => [])
  const holder = containers.find((c) => c.Ports.some((p) => p.PublicPort === port))
  if (holder) {
    const project = holder.Labels[Label.project]
    return `container ${(holder.Names[0] ?? holder.Id).replace(/^\//, '')}${project ? ` (compose project ${project})` : ''}`
  }
  const process = processListening(port)
  return process ? `process ${process.command} (pid ${process.pid})` : undefined
}

/** The process listening on a TCP port, found through /proc (Linux, same user or root). */
export function processListening(port: number, proc = '/proc'): {pid: number; command: string} | undefined {
  const inodes = new Set<string>()
  for (const table of ['net/tcp', 'net/tcp6']) {
    let text = ''
    try {
      text = readFileSync(join(proc, table), 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      const local = fields[1]
      // st 0A = LISTEN; the port is the hex after the colon.
      if (local && fields[3] === '0A' && Number.parseInt(local.split(':')[1] ?? '', 16) === port && fields[9]) inodes.add(fields[9])
    }
  }
  if (inodes.size === 0) return undefined
  for (const pid of readdirSafe(proc).filter((name) => /^\d+$/.test(name))) {
    for (const fd of readdirSafe(join(proc, pid, 'fd'))) {
      let target = ''
      try {
        target = readlinkSync(join(proc, pid, 'fd', fd))
      } catch {
        continue
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1]
      if (inode && inodes.has(inode)) {
        let command = '?'
        try {
          command = readFileSync(join(proc, pid, 'comm'), 'utf8').trim()
        } catch {
          // The process may have exited between the two reads.
        }
        return {pid: Number(pid), command}
      }
    }
  }
  return undefined
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}
