import {Agent as HttpAgent} from 'node:http'
import type * as Https from 'node:https'
import {createRequire} from 'node:module'
import {inspect} from 'node:util'

import {ExitCode, TtaError} from '../errors.js'
import type {EngineEndpoint} from './endpoint.js'
import {sshTransport} from './ssh/transport.js'

/**
 * How bytes reach the engine for an endpoint: the one place that decides socket or host:port,
 * TLS material and the SSH channel agent. tta's HTTP client (api.ts), and through it the engine
 * port, connects through it, so unix, tcp with TLS and ssh:// behave the same for every command.
 */
export interface EngineTransport {
  /** A unix socket or named pipe, else host and port (for ssh:// the host is only a label: the agent dials). */
  target: {socketPath: string} | {host: string; port: number}
  /** Requests go out with node:https (tcp with TLS). */
  secure: boolean
  /** Keep-alive agent: TLS material for https, SSH `dial-stdio` channels for ssh://. */
  agent: HttpAgent
}

// node:https pulls in tls and crypto (a few ms at start-up): loaded only for a TLS endpoint.
const requireBuiltin = createRequire(import.meta.url)
export const https = (): typeof Https => requireBuiltin('node:https') as typeof Https

export function engineTransport(endpoint: EngineEndpoint, env: NodeJS.ProcessEnv = process.env): EngineTransport {
  const transport = connectionFor(endpoint, env)
  // docker-modem util.inspect()s every request's options, agent included, at full depth even with
  // its debug output off: an agent holding sockets made that cost seconds of CPU per hundred calls.
  Object.defineProperty(transport.agent, inspect.custom, {value: () => `[engine agent ${endpoint.host}]`})
  return transport
}

function connectionFor(endpoint: EngineEndpoint, env: NodeJS.ProcessEnv): EngineTransport {
  const url = new URL(endpoint.host)
  const tls = endpoint.tls
  switch (url.protocol) {
    case 'unix:':
      // Keep-alive: status asks about every container at once; idle sockets are unref'd by Node.
      return {target: {socketPath: url.pathname}, secure: false, agent: new HttpAgent({keepAlive: true})}
    case 'npipe:':
      return {target: {socketPath: endpoint.host.slice('npipe:'.length)}, secure: false, agent: new HttpAgent({keepAlive: true})}
    case 'tcp:':
    case 'http:':
    case 'https:': {
      const secure = url.protocol === 'https:' || Boolean(tls?.verify || tls?.cert)
      const agent = secure ? new (https().Agent)({keepAlive: true, ca: tls?.ca, cert: tls?.cert, key: tls?.key, rejectUnauthorized: tls?.verify ?? true}) : new HttpAgent({keepAlive: true})
      return {target: {host: url.hostname, port: Number(url.port || (secure ? 2376 : 2375))}, secure, agent}
    }
    case 'ssh:':
      // tta's own ssh transport (docker/ssh/transport.ts): agent and key files, known_hosts checks,
      // one connection for many requests; HTTP runs over its channels.
      return {target: {host: url.hostname, port: Number(url.port || 22)}, secure: false, agent: sshTransport(endpoint.host, env).agent()}
    default:
      throw new TtaError(`unsupported DOCKER_HOST scheme "${url.protocol}" in ${endpoint.host}`, ExitCode.badInput, 'use unix://, tcp://, ssh:// or npipe://')
  }
}
