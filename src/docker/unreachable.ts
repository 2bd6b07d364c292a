import {ExitCode, TtaError} from '../errors.js'
import type {EngineEndpoint} from './endpoint.js'

/**
 * The exit-3 error for an engine that does not answer, with how to fix it. Kept apart from
 * client.ts so the fast paths (api.ts) report it without loading the ssh transport.
 */
export function unreachable(endpoint: EngineEndpoint, error: Error & {code?: string; hint?: string}): TtaError {
  // The ssh transport's own errors (SshError, matched by name to keep ssh.ts unloaded) say what
  // failed (refused key, changed host key, ...) and what to do.
  if (error.name === 'SshError' && error.hint) return new TtaError(`cannot reach the Docker engine at ${endpoint.host}: ${error.message}`, ExitCode.engineUnreachable, error.hint)
  const via = endpoint.context ? `${endpoint.host} (docker context "${endpoint.context}")` : `${endpoint.host} (${endpoint.source})`
  const reason = error.code === 'ENOENT' ? 'no socket there' : error.code === 'EACCES' ? 'permission denied' : error.code === 'ECONNREFUSED' ? 'connection refused' : error.message
  const hint =
    error.code === 'EACCES'
      ? 'add yourself to the docker group (`sudo usermod -aG docker $USER`, then log in again) or run as root'
      : 'start the Docker engine (Docker Desktop, `sudo systemctl start docker`, or `sudo dockerd &`), or point DOCKER_HOST / `docker context use` at a running one'
  return new TtaError(`cannot reach the Docker engine at ${via}: ${reason}`, ExitCode.engineUnreachable, hint)
}
