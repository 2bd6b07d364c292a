import {createHash} from 'node:crypto'

import type {LoadedProject} from '../compose/model.js'
import {isFree, PortInUseError, portVariable} from './ports.js'
import {UpFailedError} from './up.js'

/** Allocated host ports come from a block of this many, per project. */
export const BLOCK_SIZE = 100
/** Blocks lie in 20000-29999: below Linux's ephemeral range (32768+), above well-known services. */
const FIRST_BLOCK = 20_000
const BLOCKS = 100

/**
 * The first port of a project's block: derived from the checkout and the project name, so the
 * same checkout gets the same block every time, and different ones (usually) different blocks.
 */
export function blockStart(root: string, project: string): number {
  const digest = createHash('sha256').update(`${root}\0${project}`).digest()
  return FIRST_BLOCK + (digest.readUInt32BE(0) % BLOCKS) * BLOCK_SIZE
}

export interface PortNeed {
  variable: string
  host: string
}

/**
 * A free host port for each need, from the project's block (then the next one), skipping
 * the ones in `avoid` (recorded for other variables) and those handed out here. Returns the
 * variables it could not serve (two hundred ports all taken: practically never).
 */
export async function allocatePorts(
  needs: readonly PortNeed[],
  options: {block: number; avoid: ReadonlySet<number>; free?: (host: string, port: number) => Promise<boolean>},
): Promise<{ports: Record<string, number>; unserved: string[]}> {
  const free = options.free ?? isFree
  const taken = new Set(options.avoid)
  const ports: Record<string, number> = {}
  const unserved: string[] = []
  for (const need of needs) {
    let found: number | undefined
    // The project's own block, then the next one (wrapping around): bounded, each port tried once.
    for (let i = 0; i < 2 * BLOCK_SIZE && found === undefined; i++) {
      const port = FIRST_BLOCK + ((options.block - FIRST_BLOCK + i) % (BLOCKS * BLOCK_SIZE))
      if (!taken.has(port) && (await free(need.host, port))) found = port
    }
    if (found === undefined) {
      unserved.push(need.variable)
      continue
    }
    taken.add(found)
    ports[need.variable] = found
  }
  return {ports, unserved}
}

/**
 * The ports to allocate after `up` failed on taken host ports: each must come from a `*_PORT`
 * variable the user did not set (a default, or an earlier allocation). Undefined when the error
 * is something else, or when any taken port is the user's own choice: that stays a refusal.
 */
export function reassignablePorts(error: unknown, loaded: LoadedProject, userSet: ReadonlySet<string>): PortNeed[] | undefined {
  let taken: Array<{service: string; host: string; port: number}> = []
  if (error instanceof PortInUseError) taken = error.conflicts.map((c) => ({service: c.service, host: c.host, port: c.port}))
  else if (error instanceof UpFailedError && error.failures.length > 0 && error.failures.every((f) => f.portTaken !== undefined)) {
    taken = error.failures.map((f) => ({service: f.service, host: '127.0.0.1', port: f.portTaken as number}))
  } else return undefined
  const needs: PortNeed[] = []
  for (const claim of taken) {
    const published = loaded.project.services[claim.service]?.ports?.find((p) => Number(p.published) === claim.port)
    const variable = published?.published ? portVariable(published.published, loaded.environment, loaded.defaults) : undefined
    if (!variable || userSet.has(variable)) return undefined
    const host = !published?.host_ip || published.host_ip === '0.0.0.0' ? '0.0.0.0' : published.host_ip
    if (!needs.some((n) => n.variable === variable)) needs.push({variable, host})
  }
  return needs.length > 0 ? needs : undefined
}
