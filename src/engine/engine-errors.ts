import type {EnginePort} from '../docker/port.js'
import {ExitCode, TtaError} from '../errors.js'

/**
 * Engine failures a user cannot read in their raw form: the engine going away mid-command, and
 * engine quirks with a known fix. Pure classification here; the commands render the messages.
 */

/** Socket-level errors of a request to the engine (not HTTP answers: those carry a statusCode). */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOENT', 'ENOTCONN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNABORTED'])

/** Did this error come from the connection to the engine breaking (rather than from the engine's answer)? */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const err = error as Error & {code?: string; syscall?: string; statusCode?: number}
  if (err.statusCode !== undefined) return false
  // ENOENT is also a missing file: only a failed connect() means a missing socket.
  if (err.code === 'ENOENT') return err.syscall === 'connect'
  if (err.code && CONNECTION_CODES.has(err.code)) return true
  return /socket hang up|connect ECONNREFUSED|read ECONNRESET/.test(err.message)
}

/** A short reason for a connection error: "connection refused", "socket closed". */
export function connectionReason(error: unknown): string {
  const err = error as {code?: string; message?: string}
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused'
    case 'ENOENT':
      return 'its socket is gone'
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection closed'
    default:
      return err.message ?? 'connection lost'
  }
}

/** Why the engine does not answer a ping within `timeoutMs`; undefined when it answers. */
export async function pingFailure(engine: Pick<EnginePort, 'system'>, timeoutMs = 1500): Promise<Error | undefined> {
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      engine.system.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs)
      }),
    ])
    return undefined
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error))
  } finally {
    clearTimeout(timer)
  }
}

/** The engine stopped answering in the middle of a command. */
export class EngineLostError extends Error {
  constructor(
    readonly endpoint: string,
    readonly reason: string,
  ) {
    super(`the Docker engine at ${endpoint} stopped answering (${reason})`)
    this.name = 'EngineLostError'
  }
}

/**
 * `error` if it is not the engine going away; an EngineLostError if it is a connection error and
 * the engine no longer answers a ping (a single dropped connection to a live engine stays as is).
 */
export async function asEngineLost(engine: Pick<EnginePort, 'system'>, endpoint: string, error: unknown): Promise<unknown> {
  if (error instanceof EngineLostError || !isConnectionError(error)) return error
  const failure = await pingFailure(engine)
  if (!failure) return error
  // The ping's failure says how things stand now (refused, socket gone); the request's, how it broke.
  return new EngineLostError(endpoint, connectionReason(isConnectionError(failure) ? failure : error))
}

/** Is this the engine refusing `network rm` because of endpoints it still lists? */
export function isActiveEndpointsError(error: unknown): boolean {
  return /has active endpoints/i.test(error instanceof Error ? error.message : String(error))
}

/**
 * Docker 20.10 can keep a stale endpoint on a network after many parallel container removals:
 * `network rm` then fails with "has active endpoints" although no container is attached, until
 * the engine restarts. The message and the fix, for the networks that could not be removed.
 */
export function staleEndpointsError(networks: readonly string[]): TtaError {
  const which = networks.length === 1 ? `network ${networks[0]}` : `networks ${networks.join(', ')}`
  return new TtaError(
    `${which} could not be removed: the engine says "has active endpoints" although no container is attached ` +
      '(a stale endpoint: a known Docker engine 20.10 bug after many parallel removals); everything else was removed',
    ExitCode.failed,
    'run the command again in a moment; if it keeps failing, restart the Docker engine (`sudo systemctl restart docker`, or restart Docker Desktop), then run it again',
  )
}
