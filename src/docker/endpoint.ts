import {existsSync, readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

import {ExitCode, TtaError} from '../errors.js'
import {sha256Hex} from '../hash.js'

/** Where the Docker engine is, and how it was chosen (shown by `tta doctor` and in errors). */
export interface EngineEndpoint {
  /** unix:///path, tcp://host:port, ssh://user@host, npipe://... */
  host: string
  source: 'DOCKER_HOST' | 'DOCKER_CONTEXT' | 'current context' | 'default'
  context?: string
  tls?: {verify: boolean; ca?: string; cert?: string; key?: string}
}

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock'

interface ContextMeta {
  Name?: string
  Endpoints?: {docker?: {Host?: string; SkipTLSVerify?: boolean}}
}

/**
 * Resolves the engine the way the docker CLI does: DOCKER_HOST, else DOCKER_CONTEXT, else the
 * current context in the docker config dir, else the default socket. TLS material comes from
 * DOCKER_TLS_VERIFY/DOCKER_CERT_PATH, or from the context's tls store.
 */
export function resolveEndpoint(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): EngineEndpoint {
  const configDir = env.DOCKER_CONFIG ?? join(home, '.docker')
  if (env.DOCKER_HOST) {
    return {host: env.DOCKER_HOST, source: 'DOCKER_HOST', tls: tlsFromEnv(env, configDir)}
  }
  const fromEnv = env.DOCKER_CONTEXT
  const contextName = fromEnv ?? currentContext(configDir)
  if (contextName && contextName !== 'default') {
    const metaFile = join(configDir, 'contexts', 'meta', contextDigest(contextName), 'meta.json')
    if (!existsSync(metaFile)) {
      throw new TtaError(
        `docker context "${contextName}" not found (${metaFile})`,
        ExitCode.engineUnreachable,
        'run `docker context ls` and `docker context use NAME`, or unset DOCKER_CONTEXT',
      )
    }
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as ContextMeta
    const docker = meta.Endpoints?.docker
    if (!docker?.Host) {
      throw new TtaError(`docker context "${contextName}" has no docker endpoint`, ExitCode.engineUnreachable)
    }
    const tlsDir = join(configDir, 'contexts', 'tls', contextDigest(contextName), 'docker')
    const tls = existsSync(tlsDir)
      ? {
          verify: !docker.SkipTLSVerify,
          ca: readIfExists(join(tlsDir, 'ca.pem')),
          cert: readIfExists(join(tlsDir, 'cert.pem')),
          key: readIfExists(join(tlsDir, 'key.pem')),
        }
      : undefined
    return {host: docker.Host, source: fromEnv ? 'DOCKER_CONTEXT' : 'current context', context: contextName, tls}
  }
  return {host: DEFAULT_DOCKER_HOST, source: 'default'}
}

/** The docker CLI stores a context under the sha256 of its name. */
export function contextDigest(name: string): string {
  return sha256Hex(name)
}

function currentContext(configDir: string): string | undefined {
  const file = join(configDir, 'config.json')
  if (!existsSync(file)) return undefined
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as {currentContext?: string}).currentContext
  } catch {
    // A config.json the docker CLI itself would reject is not ours to report; fall back.
    return undefined
  }
}

function tlsFromEnv(env: NodeJS.ProcessEnv, configDir: string): EngineEndpoint['tls'] {
  const verify = env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== '' && env.DOCKER_TLS_VERIFY !== '0'
  if (!verify && !env.DOCKER_CERT_PATH) return undefined
  const certPath = env.DOCKER_CERT_PATH ?? configDir
  return {
    verify,
    ca: readIfExists(join(certPath, 'ca.pem')),
    cert: readIfExists(join(certPath, 'cert.pem')),
    key: readIfExists(join(certPath, 'key.pem')),
  }
}

function readIfExists(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined
}
