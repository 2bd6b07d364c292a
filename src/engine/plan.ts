import type {Project} from '../compose/model.js'
import {dependencyLevels, dependentsOf} from './graph.js'
import type {Observed, ObservedContainer} from './observe.js'
import {networkName} from './spec.js'

export type ServiceAction = 'create' | 'recreate' | 'start' | 'keep'

export interface ServicePlan {
  service: string
  action: ServiceAction
  reason: string
  /** The container there now, if any (the one to keep, start or replace). */
  current?: ObservedContainer
  /** Extra containers (scaled down, duplicates) to remove. */
  surplus: ObservedContainer[]
}

export interface ResourcePlan {
  key: string
  name: string
  action: 'create' | 'exists' | 'external'
}

export interface UpPlan {
  project: string
  networks: ResourcePlan[]
  volumes: ResourcePlan[]
  /** Dependency levels of the target services, each level sorted by name. */
  levels: string[][]
  services: Record<string, ServicePlan>
}

export interface PlanInput {
  project: Project
  targets: string[]
  observed: Observed
  /** Desired config-hash per service. */
  hashes: Record<string, string>
  /** Current image id per service (after pulls and builds), when known. */
  imageIds: Record<string, string | undefined>
  forceRecreate?: boolean
}

/** Decides, without touching Docker, what `up` must do. Deterministic for the same input. */
export function planUp(input: PlanInput): UpPlan {
  const {project, targets, observed} = input
  const used = usedResources(project, targets)
  const networks = [...used.networks].sort().map((key): ResourcePlan => {
    const config = project.networks[key]
    const name = networkName(project, key)
    return {key, name, action: config?.external ? 'external' : observed.networks.has(name) ? 'exists' : 'create'}
  })
  const volumes = [...used.volumes].sort().map((key): ResourcePlan => {
    const config = project.volumes[key]
    const name = config?.name ?? `${project.name}_${key}`
    return {key, name, action: config?.external ? 'external' : observed.volumes.has(name) ? 'exists' : 'create'}
  })

  const services: Record<string, ServicePlan> = {}
  for (const name of targets) {
    const mine = observed.containers.filter((c) => c.service === name)
    const [current, ...surplus] = mine
    services[name] = {service: name, ...decide(input, name, current), current, surplus}
  }
  // A recreated service's dependents are recreated too, so they attach to the new container.
  for (const name of [...targets].sort()) {
    if (services[name]?.action !== 'recreate') continue
    for (const dependent of dependentsOf(project, name, targets)) {
      const plan = services[dependent]
      if (plan && (plan.action === 'keep' || plan.action === 'start')) {
        plan.action = 'recreate'
        plan.reason = `dependency ${name} recreated`
      }
    }
  }
  return {project: project.name, networks, volumes, levels: dependencyLevels(project, targets), services}
}

function decide(input: PlanInput, name: string, current: ObservedContainer | undefined): Pick<ServicePlan, 'action' | 'reason'> {
  if (!current) return {action: 'create', reason: 'no container'}
  if (input.forceRecreate) return {action: 'recreate', reason: 'forced'}
  if (current.configHash !== input.hashes[name]) return {action: 'recreate', reason: current.configHash ? 'config changed' : 'no config hash'}
  const imageId = input.imageIds[name]
  if (imageId && imageId !== current.imageId) return {action: 'recreate', reason: 'image changed'}
  if (current.state === 'running') return {action: 'keep', reason: 'running, unchanged'}
  if (current.state === 'exited' || current.state === 'created') return {action: 'start', reason: `${current.state}, unchanged`}
  return {action: 'recreate', reason: `container ${current.state}`}
}

function usedResources(project: Project, targets: string[]): {networks: Set<string>; volumes: Set<string>} {
  const networks = new Set<string>()
  const volumes = new Set<string>()
  for (const name of targets) {
    const service = project.services[name]
    if (!service) continue
    if (!service.network_mode) for (const key of Object.keys(service.networks ?? {})) networks.add(key)
    for (const volume of service.volumes ?? []) if (volume.type === 'volume' && volume.source) volumes.add(volume.source)
  }
  return {networks, volumes}
}

/** The plan as text: one aligned line per resource, services in start order. */
export function formatPlan(plan: UpPlan): string {
  const rows: Array<[string, string, string, string]> = []
  for (const n of plan.networks) rows.push(['network', n.name, n.action, ''])
  for (const v of plan.volumes) rows.push(['volume', v.name, v.action, ''])
  for (const level of plan.levels) {
    for (const name of level) {
      const s = plan.services[name]
      if (s) rows.push(['service', name, s.action, s.reason])
    }
  }
  const width = (i: number): number => Math.max(...rows.map((r) => r[i]?.length ?? 0))
  return rows
    .map((r) => `${r[0].padEnd(width(0))}  ${r[1].padEnd(width(1))}  ${r[2].padEnd(width(2))}  ${r[3]}`.trimEnd())
    .join('\n')
}
