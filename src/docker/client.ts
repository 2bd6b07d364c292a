import {TtaError} from '../errors.js'
import {openEngineApi, type EngineApi} from './api.js'
import type {EngineEndpoint} from './endpoint.js'
import {httpPort} from './http-port.js'
import type {EnginePort} from './port.js'
import {unreachable} from './unreachable.js'

export {unreachable} from './unreachable.js'

export interface EngineConnection {
  /** What services ask of the engine, by capability (docker/port.ts). */
  engine: EnginePort
  endpoint: EngineEndpoint
  /** Engine version, e.g. "20.10.24". */
  version: string
  /** Engine API version, e.g. "1.41": decides which features we may send. */
  apiVersion: string
}

/**
 * The one place that opens a connection for the engine services: the engine port over tta's HTTP
 * client (docker/api.ts), whose transport docker/transport.ts builds. Asks the engine's version
 * first, so a missing engine fails here within ~2 s (~10 s for ssh://) with exit code 3 and a fix.
 */
export async function connectEngine(env: NodeJS.ProcessEnv = process.env): Promise<EngineConnection> {
  const api: EngineApi = await openEngineApi(env)
  try {
    const version = await api.json<{Version: string; ApiVersion: string}>({path: '/version'})
    return {engine: httpPort(api), endpoint: api.endpoint, version: version.Version, apiVersion: version.ApiVersion}
  } catch (error) {
    // openEngineApi's first request already names the engine and the fix when it cannot connect.
    if (error instanceof TtaError) throw error
    throw unreachable(api.endpoint, error as Error)
  }
}

/** API versions compare numerically per component ("1.9" < "1.41"). */
export function apiAtLeast(apiVersion: string, wanted: string): boolean {
  const [aMajor = 0, aMinor = 0] = apiVersion.split('.').map(Number)
  const [bMajor = 0, bMinor = 0] = wanted.split('.').map(Number)
  return aMajor !== bMajor ? aMajor > bMajor : aMinor >= bMinor
}
