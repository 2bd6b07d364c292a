
import type {Project} from '../compose/model.js'
import type {EngineConnection} from '../docker/client.js'
import type {EnginePort} from '../docker/port.js'
import {isActiveEndpointsError, staleEndpointsError} from './engine-errors.js'
import {dependencyLevels} from './graph.js'
import {Label, projectFilter} from './labels.js'
import {observeContainers, type ObservedContainer} from './observe.js'

export interface StopEvent {
  service: string
  container: string
  status: 'stopping' | 'stopped' | 'already stopped'
  elapsedMs: number
}

/**
 * Stops the project's containers in reverse dependency order: dependents first, each level in
 * parallel. Dependencies come from the containers' own depends_on labels, so stop works on
 * what is running even when the compose files have changed or do not load.
 */
export async function stop(conn: EngineConnection, projectName: string, services: string[], onEvent: (e: StopEvent) => void): Promise<ObservedContainer[]> {
  const containers = (await observeContainers(conn.engine, projectName)).filter((c) => services.length === 0 || services.includes(c.service))
  const graph = graphFromLabels(containers)
  const levels = dependencyLevels(graph, Object.keys(graph.services)).reverse()
  const t0 = Date.now()
  for (const level of levels) {
    await Promise.all(
      containers
        .filter((c) => level.includes(c.service))
        .map(async (c) => {
          if (c.state !== 'running' && c.state !== 'restarting' && c.state !== 'paused') {
            onEvent({service: c.service, container: c.name, status: 'already stopped', elapsedMs: Date.now() - t0})
            return
          }
          onEvent({service: c.service, container: c.name, status: 'stopping', elapsedMs: Date.now() - t0})
          await conn.engine.containers.stop(c.id).catch(ignoreNotModified)
          onEvent({service: c.service, container: c.name, status: 'stopped', elapsedMs: Date.now() - t0})
        }),
    )
  }
  return containers
}

/**
 * Restarts the named services' containers (stop, then start; every container of a service at
 * once). A stopped container is started. Returns the containers restarted.
 */
export async function restart(conn: EngineConnection, projectName: string, services: string[], onEvent: (e: StopEvent | {service: string; container: string; status: 'restarting' | 'restarted'; elapsedMs: number}) => void): Promise<ObservedContainer[]> {
  const containers = (await observeContainers(conn.engine, projectName)).filter((c) => services.includes(c.service))
  const t0 = Date.now()
  await Promise.all(
    containers.map(async (c) => {
      onEvent({service: c.service, container: c.name, status: 'restarting', elapsedMs: Date.now() - t0})
      await conn.engine.containers.restart(c.id)
      onEvent({service: c.service, container: c.name, status: 'restarted', elapsedMs: Date.now() - t0})
    }),
  )
  return containers
}

/** A minimal Project (services and their depends_on) rebuilt from Compose's container labels. */
export function graphFromLabels(containers: Array<Pick<ObservedContainer, 'service' | 'labels'>>): Project {
  const services: Project['services'] = {}
  for (const c of containers) {
    const depends: Record<string, {condition: 'service_started'; required: boolean}> = {}
    for (const entry of (c.labels[Label.dependsOn] ?? '').split(',').filter(Boolean)) {
      const dep = entry.split(':')[0]
      if (dep) depends[dep] = {condition: 'service_started', required: true}
    }
    services[c.service] = {name: c.service, command: null, entrypoint: null, depends_on: depends}
  }
  return {name: '', services, networks: {}, volumes: {}}
}

function ignoreNotModified(error: {statusCode?: number}): void {
  if (error.statusCode !== 304) throw error
}

export interface CleanItem {
  kind: 'container' | 'network' | 'volume' | 'image'
  id: string
  name: string
  /** Bytes on disk, where the engine reports it (volumes, images). */
  size?: number
  detail?: string
}

/** Exactly what `tta clean` would remove: only resources carrying the project's label. */
export async function planClean(conn: EngineConnection, projectName: string, options: {volumes: boolean; images: boolean}): Promise<CleanItem[]> {
  const {engine} = conn
  const filters = projectFilter(projectName)
  const [containers, networks] = await Promise.all([engine.containers.list({all: true, filters}), engine.networks.list({filters})])
  const items: CleanItem[] = [
    ...containers.map((c): CleanItem => ({kind: 'container', id: c.Id, name: (c.Names[0] ?? '').replace(/^\//, ''), detail: c.State})),
    ...networks.map((n): CleanItem => ({kind: 'network', id: n.Id, name: n.Name})),
  ]
  if (options.volumes) {
    const volumes = await engine.volumes.list({filters})
    const sizes = await volumeSizes(engine, volumes.map((v) => v.Name))
    items.push(...volumes.map((v): CleanItem => ({kind: 'volume', id: v.Name, name: v.Name, size: sizes.get(v.Name)})))
  }
  if (options.images) {
    const images = await engine.images.list({filters})
    items.push(...images.map((i): CleanItem => ({kind: 'image', id: i.Id, name: i.RepoTags?.[0] ?? i.Id, size: i.Size})))
  }
  return items
}

async function volumeSizes(engine: Pick<EnginePort, 'system'>, names: string[]): Promise<Map<string, number>> {
  if (names.length === 0) return new Map()
  try {
    return new Map((await engine.system.volumeSizes()).filter((v) => names.includes(v.Name)).map((v) => [v.Name, v.UsageData?.Size ?? -1]))
  } catch {
    // Sizes are a courtesy; an engine that cannot compute them still gets cleaned.
    return new Map()
  }
}

/** Removes the planned items: containers, then networks, volumes, images. Each checked for the label again. */
export async function clean(conn: EngineConnection, projectName: string, items: CleanItem[], onRemoved: (item: CleanItem) => void): Promise<void> {
  const {engine} = conn
  const order: CleanItem['kind'][] = ['container', 'network', 'volume', 'image']
  const stale: string[] = []
  for (const kind of order) {
    await Promise.all(
      items
        .filter((i) => i.kind === kind)
        .map(async (item) => {
          if (!(await stillLabelled(engine, item, projectName))) return
          if (kind === 'container') await engine.containers.remove(item.id, {force: true})
          else if (kind === 'network') {
            // Anything still attached (a devcontainer tta joined to the network) would block removal.
            for (const id of Object.keys((await engine.networks.inspect(item.id)).Containers ?? {})) await engine.networks.disconnect(item.id, id, {force: true}).catch(() => undefined)
            try {
              await engine.networks.remove(item.id)
            } catch (error) {
              if (!isActiveEndpointsError(error)) throw error
              // An engine quirk with a known fix: finish the rest, then say so.
              stale.push(item.name)
              return
            }
          }
          else if (kind === 'volume') await engine.volumes.remove(item.id)
          else await engine.images.remove(item.id)
          onRemoved(item)
        }),
    )
  }
  if (stale.length > 0) throw staleEndpointsError(stale)
}

/** Guards against a resource replaced by an unlabelled one of the same id/name between list and remove. */
async function stillLabelled(engine: Pick<EnginePort, 'containers' | 'networks' | 'volumes' | 'images'>, item: CleanItem, projectName: string): Promise<boolean> {
  try {
    const labels =
      item.kind === 'container'
        ? (await engine.containers.inspect(item.id)).Config.Labels
        : item.kind === 'network'
          ? (await engine.networks.inspect(item.id)).Labels
          : item.kind === 'volume'
            ? (await engine.volumes.inspect(item.id)).Labels
            : (await engine.images.inspect(item.id)).Config.Labels
    return (labels as Record<string, string> | null)?.[Label.project] === projectName
  } catch (error) {
    if ((error as {statusCode?: number}).statusCode === 404) return false
    throw error
  }
}
