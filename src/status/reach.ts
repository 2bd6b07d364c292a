import {existsSync} from 'node:fs'
import {hostname} from 'node:os'

import type {EngineApi} from '../docker/api.js'
import type {Reach} from '../probes/derive.js'
import {reachFor as reachFrom} from '../probes/reach.js'
import {detectContainer, selfContainerCandidates} from '../workspace/devcontainer.js'

/**
 * How this tta reaches the services' ports. On the engine's machine, or talking to a remote
 * engine: their published host ports. Inside a container of the engine we talk to (a devcontainer
 * using the host's engine), published ports are the host's, not ours: the containers' own
 * addresses on the networks we share with them (`tta dev` joins the project's networks).
 */
export async function reachFor(api: EngineApi, env: NodeJS.ProcessEnv = process.env): Promise<Reach> {
  // TTA_PROBE_HOST names the address to probe: the containers' own addresses are not tried then.
  const published = reachFrom(api.endpoint.host, env)
  if (env.TTA_PROBE_HOST || !api.endpoint.host.startsWith('unix:') || !detectContainer(env).inContainer) return published
  // In a container, but in the engine's own network namespace (its default bridge is here): the
  // engine runs in this container with us, and published ports are ours. No need to look for
  // ourselves among its containers.
  if (process.platform === 'linux' && existsSync('/sys/class/net/docker0')) return published
  for (const candidate of selfContainerCandidates()) {
    try {
      const self = await api.json<{Config?: {Hostname?: string}; NetworkSettings?: {Networks?: Record<string, unknown>}}>({path: `/containers/${candidate}/json`, timeoutMs: 2_000})
      // Only our own container has our hostname (an id alone could be another engine's).
      if (self.Config?.Hostname === hostname()) return reachFrom(api.endpoint.host, env, new Set(Object.keys(self.NetworkSettings?.Networks ?? {})))
    } catch {
      // Not a container of this engine: the next candidate, or the engine runs in here with us.
    }
  }
  return published
}
