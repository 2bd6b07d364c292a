import type {Service} from '../compose/model.js'
import type {EnginePort} from '../docker/port.js'
import {observeContainers} from '../engine/observe.js'
import {readinessFor, waitReady} from '../engine/readiness.js'
import {imageBase} from '../probes/derive.js'
import type {StrategyName} from './manifest.js'

/**
 * A service's container as backup and restore see it: found by Compose's labels, described by
 * its own inspect data (image, env, command, mounts), so backups work on what runs even when the
 * compose files have changed since.
 */
export interface Target {
  service: string
  id: string
  name: string
  state: string
  image: string
  imageId: string
  env: Record<string, string>
  cmd: string[]
  workingDir: string
  labels: Record<string, string>
  /** Named volumes (anonymous ones hold nothing a user would restore). */
  volumes: Array<{name: string; key: string; destination: string}>
  /** The strategy its image calls for: a database's own dump tool, else volume, else null (no data). */
  strategy: StrategyName | null
}

const ANONYMOUS_VOLUME = /^[0-9a-f]{64}$/

/** `registry:5000/library/postgres:15@sha256:…` → `postgres`. */
export function imageBaseName(image: string): string {
  return imageBase(image)
}

/** The strategy for an image: its database's own tool when it is one we know, else volume when it has named volumes. */
export function strategyFor(image: string, namedVolumes: number): StrategyName | null {
  const base = imageBaseName(image)
  if (base === 'postgres' || base === 'postgresql') return 'postgres'
  if (base === 'redis' || base === 'redis-stack-server') return 'redis'
  if (base === 'neo4j') return 'neo4j'
  return namedVolumes > 0 ? 'volume' : null
}

export function envMap(env: string[] | undefined | null): Record<string, string> {
  const result: Record<string, string> = {}
  for (const entry of env ?? []) {
    const eq = entry.indexOf('=')
    if (eq > 0) result[entry.slice(0, eq)] = entry.slice(eq + 1)
  }
  return result
}

export async function inspectTarget(engine: Pick<EnginePort, 'containers'>, project: string, id: string): Promise<Target> {
  const info = await engine.containers.inspect(id)
  const labels = (info.Config.Labels ?? {}) as Record<string, string>
  const volumes = (info.Mounts ?? [])
    .filter((m) => m.Type === 'volume' && m.Name && !ANONYMOUS_VOLUME.test(m.Name))
    .map((m) => ({name: m.Name as string, key: (m.Name as string).startsWith(`${project}_`) ? (m.Name as string).slice(project.length + 1) : (m.Name as string), destination: m.Destination}))
    .sort((a, b) => (a.destination < b.destination ? -1 : 1))
  return {
    service: labels['com.docker.compose.service'] ?? info.Name.replace(/^\//, ''),
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    state: info.State.Status,
    image: info.Config.Image,
    imageId: info.Image,
    env: envMap(info.Config.Env),
    cmd: info.Config.Cmd ?? [],
    workingDir: info.Config.WorkingDir ?? '',
    labels,
    volumes,
    strategy: strategyFor(info.Config.Image, volumes.length),
  }
}

/** One target per service (its first container), by service name. */
export async function discoverTargets(engine: Pick<EnginePort, 'containers'>, project: string): Promise<Map<string, Target>> {
  const observed = await observeContainers(engine, project)
  const first = new Map<string, string>()
  for (const c of observed) if (!first.has(c.service)) first.set(c.service, c.id)
  const targets = await Promise.all([...first.values()].map((id) => inspectTarget(engine, project, id)))
  return new Map(targets.map((t) => [t.service, t]))
}

/** Stops a container; already stopped is fine. */
export async function stopContainer(engine: Pick<EnginePort, 'containers'>, containerId: string): Promise<void> {
  await engine.containers.stop(containerId).catch((error: {statusCode?: number}) => {
    if (error.statusCode !== 304) throw error
  })
}

/** Starts a container and waits until it is ready (its healthcheck passes, else it runs), bounded. */
export async function startAndWait(engine: Pick<EnginePort, 'containers' | 'exec'>, target: Pick<Target, 'id' | 'service'>, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  await engine.containers.start(target.id).catch((error: {statusCode?: number}) => {
    if (error.statusCode !== 304) throw error
  })
  await waitContainerReady(engine, target.id, target.service, timeoutMs, signal)
}

export async function waitContainerReady(engine: Pick<EnginePort, 'containers' | 'exec'>, containerId: string, service: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const info = await engine.containers.inspect(containerId)
  // The compose healthcheck is part of the container's config: probe that, as `tta dev` does.
  const minimal: Service = {name: service, command: null, entrypoint: null}
  const readiness = readinessFor(minimal, info.Config.Healthcheck as {Test?: string[]; Timeout?: number} | undefined)
  await waitReady(engine, containerId, minimal, readiness, {deadline: Date.now() + timeoutMs, signal})
}
