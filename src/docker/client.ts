import type Dockerode from 'dockerode'

import {ExitCode, TtaError} from '../errors.js'
import {resolveEndpoint, type EngineEndpoint} from './endpoint.js'
import {sshTransport} from './ssh/transport.js'
import {traceModem} from './trace.js'
import {unreachable} from './unreachable.js'

export {unreachable} from './unreachable.js'

export interface EngineConnection {
  docker: Dockerode
  endpoint: EngineEndpoint
  /** Engine version, e.g. "20.10.24". */
  version: string
  /** Engine API version, e.g. "1.41": decides which features we may send. */
  apiVersion: string
}

/** dockerode constructor options for an endpoint. */
export function dockerOptions(endpoint: EngineEndpoint, env: NodeJS.ProcessEnv = process.env): Dockerode.DockerOptions {
  const url = new URL(endpoint.host)
  const tls = endpoint.tls
  switch (url.protocol) {
    case 'unix:':
      return {socketPath: url.pathname}
    case 'npipe:':
      return {socketPath: endpoint.host.slice('npipe:'.length)}
    case 'tcp:':
    case 'http:':
    case 'https:': {
      const secure = url.protocol === 'https:' || Boolean(tls?.verify || tls?.cert)
      return {
        host: url.hostname,
        port: url.port || (secure ? 2376 : 2375),
        protocol: secure ? 'https' : 'http',
        ca: tls?.ca,
        cert: tls?.cert,
        key: tls?.key,
      }
    }
    case 'ssh:':
      // tta's own ssh transport (src/docker/ssh.ts): agent and key files, known_hosts checks, one
      // connection for many requests. The modem sees plain HTTP over the agent's channels.
      // docker-modem passes `agent` to http.request; @types/dockerode does not list it.
      return {host: url.hostname, port: url.port || 22, protocol: 'http', agent: sshTransport(endpoint.host, env).agent()} as Dockerode.DockerOptions
    default:
      throw new TtaError(
        `unsupported DOCKER_HOST scheme "${url.protocol}" in ${endpoint.host}`,
        ExitCode.badInput,
        'use unix://, tcp://, ssh:// or npipe://',
      )
  }
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
    return {docker, endpoint, version: version.Version, apiVersion: version.ApiVersion}
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
