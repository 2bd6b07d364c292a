import type {ContainerTaskSpec, EnginePort, ServiceSpec} from '../docker/port.js'
import type {DeployEmit} from './events.js'
import {DeployLabel} from './swarm-spec.js'
import {observeStack, type SwarmServiceInfo} from './swarm.js'

/**
 * What a successful swarm deployment leaves behind and removes: services the compose files no
 * longer have, and secrets/configs no service of the stack uses any more. Only objects carrying
 * this stack's label and tta's (so never a service made by hand or by `docker stack deploy`),
 * and never a secret or config a service's previous spec uses: swarm's own rollback (and
 * `tta deploy --rollback` right after) returns to that spec, which must still find its objects.
 */

export interface StackObject {
  id: string
  name: string
  labels: Record<string, string>
}

export interface StackService {
  /** The compose service name (without the stack prefix). */
  service: string
  id: string
  labels: Record<string, string>
  spec: ServiceSpec
  previousSpec?: ServiceSpec
}

export interface CleanupInput {
  stack: string
  /** The services of the compose files just deployed. */
  wanted: readonly string[]
  services: readonly StackService[]
  secrets: readonly StackObject[]
  configs: readonly StackObject[]
}

export interface CleanupPlan {
  services: Array<{service: string; id: string}>
  secrets: StackObject[]
  configs: StackObject[]
  /** Services no longer in the files that tta leaves alone (not created by tta). */
  kept: string[]
}

const ownedBy = (labels: Record<string, string> | undefined, stack: string): boolean => labels?.[DeployLabel.namespace] === stack && labels?.[DeployLabel.managedBy] === 'tta'

/** Secret and config names and ids a service spec mounts. Pure. */
export function specReferences(spec: ServiceSpec | undefined): {secrets: Set<string>; configs: Set<string>} {
  const container = (spec?.TaskTemplate as ContainerTaskSpec | undefined)?.ContainerSpec
  const secrets = new Set<string>()
  const configs = new Set<string>()
  for (const ref of container?.Secrets ?? []) {
    if (ref.SecretID) secrets.add(ref.SecretID)
    if (ref.SecretName) secrets.add(ref.SecretName)
  }
  for (const ref of container?.Configs ?? []) {
    if (ref.ConfigID) configs.add(ref.ConfigID)
    if (ref.ConfigName) configs.add(ref.ConfigName)
  }
  return {secrets, configs}
}

/** What to remove after a successful rollout. Pure. */
export function planSwarmCleanup(input: CleanupInput): CleanupPlan {
  const plan: CleanupPlan = {services: [], secrets: [], configs: [], kept: []}
  const staying: StackService[] = []
  for (const service of input.services) {
    if (input.wanted.includes(service.service)) staying.push(service)
    else if (ownedBy(service.labels, input.stack)) plan.services.push({service: service.service, id: service.id})
    else {
      plan.kept.push(service.service)
      staying.push(service)
    }
  }
  const usedSecrets = new Set<string>()
  const usedConfigs = new Set<string>()
  for (const service of staying) {
    for (const spec of [service.spec, service.previousSpec]) {
      const refs = specReferences(spec)
      refs.secrets.forEach((s) => usedSecrets.add(s))
      refs.configs.forEach((c) => usedConfigs.add(c))
    }
  }
  const unused = (object: StackObject, used: Set<string>): boolean =>
    ownedBy(object.labels, input.stack) && object.labels[DeployLabel.record] !== 'true' && !used.has(object.id) && !used.has(object.name)
  plan.secrets = input.secrets.filter((s) => unused(s, usedSecrets))
  plan.configs = input.configs.filter((c) => unused(c, usedConfigs))
  plan.kept.sort()
  plan.services.sort((a, b) => (a.service < b.service ? -1 : 1))
  return plan
}

export interface CleanupResult {
  services: string[]
  secrets: string[]
  configs: string[]
  problems: string[]
}

export function stackServiceOf(name: string, info: SwarmServiceInfo): StackService {
  return {service: name, id: info.ID, labels: info.Spec.Labels ?? {}, spec: info.Spec, previousSpec: info.PreviousSpec}
}

interface ListedObject {
  ID: string
  Spec?: {Name?: string; Labels?: Record<string, string>}
}

const listed = (objects: ListedObject[]): StackObject[] => objects.map((o) => ({id: o.ID, name: o.Spec?.Name ?? o.ID, labels: o.Spec?.Labels ?? {}}))

/** Reads the stack and plans its cleanup; the deploy plan shows the services part before anything changes. */
export async function swarmCleanupPlan(engine: Pick<EnginePort, 'swarm'>, stack: string, wanted: readonly string[]): Promise<CleanupPlan> {
  const filters = {label: [`${DeployLabel.namespace}=${stack}`]}
  const [services, secrets, configs] = await Promise.all([observeStack(engine, stack), engine.swarm.listSecrets({filters}), engine.swarm.listConfigs({filters})])
  return planSwarmCleanup({
    stack,
    wanted,
    services: [...services].map(([name, info]) => stackServiceOf(name, info)),
    secrets: listed(secrets),
    configs: listed(configs),
  })
}

/** Removes what planSwarmCleanup chose: services first, then the secrets and configs only they used. */
export async function cleanupSwarm(engine: Pick<EnginePort, 'swarm'>, stack: string, wanted: readonly string[], emit: DeployEmit): Promise<CleanupResult> {
  const plan = await swarmCleanupPlan(engine, stack, wanted)
  const result: CleanupResult = {services: [], secrets: [], configs: [], problems: []}
  for (const {service, id} of plan.services) {
    emit({type: 'service', service, phase: 'removing', detail: 'no longer in the compose files'})
    try {
      await engine.swarm.removeService(id)
      result.services.push(service)
    } catch (error) {
      result.problems.push(`service ${service}: ${(error as Error).message}`)
    }
  }
  for (const [kind, objects] of [
    ['secret', plan.secrets],
    ['config', plan.configs],
  ] as const) {
    for (const object of objects) {
      try {
        if (kind === 'secret') await engine.swarm.removeSecret(object.id)
        else await engine.swarm.removeConfig(object.id)
        ;(kind === 'secret' ? result.secrets : result.configs).push(object.name)
      } catch (error) {
        // A task of a removed service may still hold it for a moment; the next deployment retries.
        result.problems.push(`${kind} ${object.name}: ${(error as Error).message.split('\n')[0]}`)
      }
    }
  }
  return result
}
