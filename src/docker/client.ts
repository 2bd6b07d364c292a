import type Dockerode from 'dockerode'

import {dockerodePort} from './engine-port.js'
import {resolveEndpoint, type EngineEndpoint} from './endpoint.js'
import type {EnginePort} from './port.js'
import {traceModem} from './trace.js'
import {engineTransport} from './transport.js'
import {unreachable} from './unreachable.js'

export {unreachable} from './unreachable.js'

export interface EngineConnection {
  /** What services ask of the engine, by capability (docker/port.ts). */
  engine: EnginePort
  docker: Dockerode
  endpoint: EngineEndpoint
  /** Engine version, e.g. "20.10.24". */
  version: string
  /** Engine API version, e.g. "1.41": decides which features we may send. */
  apiVersion: string
}

/** dockerode constructor options for an endpoint: its connection comes from engineTransport. */
export function dockerOptions(endpoint: EngineEndpoint, env: NodeJS.ProcessEnv = process.env): Dockerode.DockerOptions {
  const transport = engineTransport(endpoint, env)
  const where: Dockerode.DockerOptions = 'socketPath' in transport.target ? {socketPath: transport.target.socketPath} : {host: transport.target.host, port: transport.target.port, protocol: transport.secure ? 'https' : 'http'}
  // docker-modem passes `agent` to http.request; @types/dockerode does not list it. TLS material
  // stays on the options too: the modem also sets it per request.
  const tls: Dockerode.DockerOptions = transport.secure ? {ca: endpoint.tls?.ca, cert: endpoint.tls?.cert, key: endpoint.tls?.key} : {}
  const options: Dockerode.DockerOptions & {agent: unknown} = {...where, ...tls, agent: transport.agent}
  return options
}

const CONNECT_TIMEOUT_MS = 2000
/** An SSH handshake to a remote host, plus starting `docker system dial-stdio` there, needs more. */
const SSH_CONNECT_TIMEOUT_MS = 10_000

/**
 * The one place that creates the dockerode client. Fails within ~2 s with exit code 3 and a fix
 * when the engine does not answer. dockerode (and its ssh2 dependency) load only here, lazily,
 * so commands that never touch the engine start fast.
 */
export async function connectEngine(env: NodeJS.ProcessEnv = process.env): Promise<EngineConnection> {
  const endpoint = resolveEndpoint(env)
  const {default: Docker} = await import('dockerode')
  const docker = new Docker({...dockerOptions(endpoint, env), timeout: undefined})
  const timeoutMs = endpoint.host.startsWith('ssh:') ? SSH_CONNECT_TIMEOUT_MS : CONNECT_TIMEOUT_MS
  traceModem(docker.modem as unknown as Parameters<typeof traceModem>[0])
  let timer: NodeJS.Timeout | undefined
  try {
    const version = await Promise.race([
      docker.version(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs)
      }),
    ])
    return {engine: dockerodePort(docker), docker, endpoint, version: version.Version, apiVersion: version.ApiVersion}
  } catch (error) {
    throw unreachable(endpoint, error as Error)
  } finally {
    clearTimeout(timer)
  }
}

/** API versions compare numerically per component ("1.9" < "1.41"). */
export function apiAtLeast(apiVersion: string, wanted: string): boolean {
  const [aMajor = 0, aMinor = 0] = apiVersion.split('.').map(Number)
  const [bMajor = 0, bMinor = 0] = wanted.split('.').map(Number)
  return aMajor !== bMajor ? aMajor > bMajor : aMinor >= bMinor
}
