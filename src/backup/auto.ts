import type {LoadedProject, Service} from '../compose/model.js'
import type {EngineConnection} from '../docker/client.js'
import {observeContainers} from '../engine/observe.js'
import {imageFor} from '../engine/spec.js'
import {backup} from './backup.js'
import type {BackupEmit} from './events.js'
import type {Manifest} from './manifest.js'
import type {BackupStore, StoredBackup} from './store.js'
import {discoverTargets, imageBaseName, inspectTarget, strategyFor} from './targets.js'

/** The label of the snapshots tta takes by itself before deleting or overwriting datastore data. */
export const AUTO_LABEL = 'auto'
/** How many auto snapshots a project keeps (apart from the normal retention of its backups). */
export const AUTO_KEEP = 3

/** The project's auto snapshots, oldest first. */
export function autoSnapshots(store: BackupStore, project: string): Array<StoredBackup & {manifest: Manifest}> {
  return store.list(project).filter((b): b is StoredBackup & {manifest: Manifest} => b.manifest?.label === AUTO_LABEL)
}

/** Keeps the newest AUTO_KEEP auto snapshots of the project; returns the ids removed. */
export function pruneAutoSnapshots(store: BackupStore, project: string, keep = AUTO_KEEP): string[] {
  const all = autoSnapshots(store, project)
  const remove = all.slice(0, Math.max(0, all.length - keep)).map((b) => b.id)
  for (const id of remove) store.remove(id)
  return remove
}

export interface AutoSnapshotRequest {
  conn: EngineConnection
  project: string
  store: BackupStore
  reason: string
  /** Only these services; default every stateful one with a container. */
  services?: string[]
  ttaVersion: string
  readyTimeoutMs: number
  signal?: AbortSignal
  emit?: BackupEmit
}

export type AutoSnapshotResult = {taken: true; id: string; dir: string; services: string[]} | {taken: false; why: string}

/**
 * An automatic safety snapshot (label `auto`) of the project's datastores, running or stopped
 * (stopped ones are copied as volume files). Nothing stateful: nothing taken, and no error. A
 * failed or partial snapshot throws: the caller must not go on to delete the data.
 */
export async function takeAutoSnapshot(request: AutoSnapshotRequest): Promise<AutoSnapshotResult> {
  const targets = await discoverTargets(request.conn.engine, request.project)
  const wanted = [...targets.values()].filter((t) => t.strategy !== null && (t.state === 'running' || t.volumes.length > 0) && (!request.services || request.services.includes(t.service)))
  if (wanted.length === 0) return {taken: false, why: `no datastore with data in project ${request.project}`}
  const {manifest, dir} = await backup({
    conn: request.conn,
    project: request.project,
    store: request.store,
    services: wanted.map((t) => t.service),
    reason: request.reason,
    label: AUTO_LABEL,
    parallel: true,
    offline: true,
    ttaVersion: request.ttaVersion,
    readyTimeoutMs: request.readyTimeoutMs,
    signal: request.signal,
    emit: request.emit ?? (() => undefined),
    discover: async () => targets,
  })
  if (!manifest.complete) {
    request.store.remove(manifest.id)
    throw new Error(`the auto snapshot was partial: ${manifest.failed.map((f) => `${f.service}: ${f.error}`).join('; ')}`)
  }
  pruneAutoSnapshots(request.store, request.project)
  return {taken: true, id: manifest.id, dir, services: Object.keys(manifest.services)}
}

/** The major version in an image's tag (`postgres:15.5-alpine` → 15, `v2.48.1` → 2); undefined without one. */
export function majorVersion(image: string): number | undefined {
  const noDigest = image.split('@')[0] ?? image
  const lastSlash = noDigest.lastIndexOf('/')
  const colon = noDigest.indexOf(':', lastSlash + 1)
  if (colon < 0) return undefined
  const match = /^v?(\d+)/.exec(noDigest.slice(colon + 1))
  return match ? Number(match[1]) : undefined
}

/** A datastore moving to another major version (or another program): its files may not be readable after. */
export function majorChange(current: string, next: string): boolean {
  if (current === next) return false
  if (imageBaseName(current) !== imageBaseName(next)) return true
  const a = majorVersion(current)
  const b = majorVersion(next)
  return a !== undefined && b !== undefined && a !== b
}

/**
 * Before `up` recreates a datastore on an image of another major version: an auto snapshot of
 * those datastores. Undefined when none changes.
 */
export async function snapshotBeforeMajorChange(
  conn: EngineConnection,
  loaded: LoadedProject,
  options: {store: BackupStore; ttaVersion: string; readyTimeoutMs: number; services: string[]},
): Promise<{id: string; services: string[]} | undefined> {
  const {project} = loaded
  const changes = (service: string, image: string): boolean => {
    const wanted = project.services[service] as Service | undefined
    if (!wanted || (options.services.length > 0 && !options.services.includes(service))) return false
    // A database tta dumps with its own tool (by the image's name): volume-only services are not snapshotted here.
    const strategy = strategyFor(image, 0)
    return strategy !== null && majorChange(image, imageFor(project.name, wanted))
  }
  // The listing names each container's image: only a datastore whose image changes is inspected
  // (a warm run of a hundred services must not inspect a hundred containers for this).
  const observed = await observeContainers(conn.engine, project.name)
  const first = new Map<string, string>()
  for (const c of observed) if (!first.has(c.service) && changes(c.service, c.image)) first.set(c.service, c.id)
  if (first.size === 0) return undefined
  const targets = await Promise.all([...first.values()].map((id) => inspectTarget(conn.engine, project.name, id)))
  const changing = targets.filter((t) => changes(t.service, t.image))
  if (changing.length === 0) return undefined
  const result = await takeAutoSnapshot({
    conn,
    project: project.name,
    store: options.store,
    reason: `before ${changing.map((t) => `${t.service} ${t.image} → ${imageFor(project.name, project.services[t.service] as Service)}`).join(', ')}`,
    services: changing.map((t) => t.service),
    ttaVersion: options.ttaVersion,
    readyTimeoutMs: options.readyTimeoutMs,
  })
  return result.taken ? {id: result.id, services: result.services} : undefined
}
