import {existsSync} from 'node:fs'

import type {Reach} from './derive.js'

/**
 * The one place that decides how tta reaches a service's ports, for readiness (`tta dev`), status,
 * backup and deploy verification alike:
 *  - local engine (unix socket, on this machine or in a VM that forwards published ports to
 *    localhost, as Docker Desktop does): the bound address (0.0.0.0 → 127.0.0.1), and the
 *    container's own address when its bridge is in our network namespace;
 *  - remote engine (tcp://, ssh://, a remote context): the engine's host, for ports it publishes on
 *    every interface; a port bound to a loopback address there has no route from here, and such a
 *    probe is not attempted at all (never 127.0.0.1, which would be some local program);
 *  - tta in a container of the engine it drives (a devcontainer, docker outside of docker): the
 *    containers' addresses on the networks it shares with them.
 * TTA_PROBE_HOST names the address to probe and overrides all of it.
 */
export function reachFor(engineHost: string, env: NodeJS.ProcessEnv, sharedNetworks?: ReadonlySet<string>): Reach {
  if (sharedNetworks && !env.TTA_PROBE_HOST) return {via: 'network', networks: sharedNetworks}
  const local = engineHost.startsWith('unix:') || engineHost.startsWith('npipe:')
  return {via: 'published', hostFor: probeHostFor(engineHost, env), direct: local && !env.TTA_PROBE_HOST ? bridgeIsLocal : undefined}
}

const LOOPBACK = /^(127\.|::1$|localhost$)/

/**
 * The address that reaches a port the engine publishes on `hostIp`, from where tta runs; undefined
 * when there is no route (a remote engine's loopback-bound port).
 */
export function probeHostFor(engineHost: string, env: NodeJS.ProcessEnv): (hostIp: string | undefined) => string | undefined {
  if (env.TTA_PROBE_HOST) {
    const fixed = env.TTA_PROBE_HOST
    return () => fixed
  }
  const remote = remoteHost(engineHost)
  return (hostIp) => {
    if (remote) return !hostIp || hostIp === '0.0.0.0' || hostIp === '::' ? remote : LOOPBACK.test(hostIp) ? undefined : hostIp
    if (!hostIp || hostIp === '0.0.0.0') return '127.0.0.1'
    if (hostIp === '::') return '::1'
    return hostIp
  }
}

/** The engine's host name when it is reached over the network (tcp, http(s), ssh), else undefined. */
export function remoteHost(engineHost: string): string | undefined {
  try {
    const url = new URL(engineHost)
    if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:' && url.protocol !== 'ssh:') return undefined
    const host = url.hostname.replace(/^\[|\]$/g, '')
    // An engine on this machine's loopback publishes ports here too.
    return LOOPBACK.test(host) ? undefined : host
  } catch {
    return undefined
  }
}

/**
 * Docker names a user-defined bridge network's interface br-<first 12 of its id> (the default
 * network's is docker0, not probed this way). Seen in /sys/class/net, the bridge is in our network
 * namespace and its containers' addresses are routable from here.
 */
export function bridgeIsLocal(networkId: string): boolean {
  return process.platform === 'linux' && /^[0-9a-f]{12,}$/.test(networkId) && existsSync(`/sys/class/net/br-${networkId.slice(0, 12)}`)
}
