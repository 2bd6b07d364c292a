import type {LoadedProject, Service} from '../compose/model.js'
import type {EngineConnection} from '../docker/client.js'
import type {ContainerCreate, ContainerDetails, EndpointSettings, EnginePort, HealthConfig, NetworkInfo} from '../docker/port.js'
import {logTail} from '../engine/container-io.js'
import {dependencyLevels} from '../engine/graph.js'
import {Label} from '../engine/labels.js'
import {observeContainers} from '../engine/observe.js'
import {readinessFor, waitReady} from '../engine/readiness.js'
import {reachFor} from '../probes/reach.js'
import type {DeployEmit} from './events.js'
import {isRecord, TARGET_HISTORY_LIMIT, type DeployRecord} from './history.js'
import {DeployLabel} from './swarm-spec.js'

/** The containers of a project as they were before a rollout: enough to recreate each exactly. */
export type ComposeSnapshot = Map<string, ContainerDetails>

export async function snapshotProject(engine: Pick<EnginePort, 'containers'>, project: string): Promise<ComposeSnapshot> {
  const snapshot: ComposeSnapshot = new Map()
  for (const container of await observeContainers(engine, project)) {
    if (snapshot.has(container.service)) continue
    snapshot.set(container.service, await engine.containers.inspect(container.id))
  }
  return snapshot
}

/** create-container options that rebuild a container from its own inspect output. Pure. */
export function recreateOptions(info: ContainerDetails): ContainerCreate {
  const networks = Object.entries(info.NetworkSettings.Networks ?? {})
  const shortId = info.Id.slice(0, 12)
  const endpoint = (settings: NetworkInfo): EndpointSettings => ({
    // The engine adds the container's short id as an alias; the new container gets its own.
    Aliases: (settings.Aliases ?? []).filter((alias: string) => !info.Id.startsWith(alias)),
    IPAMConfig: settings.IPAMConfig ?? undefined,
  })
  const first = networks[0]
  const config = info.Config
  return {
    name: info.Name.replace(/^\//, ''),
    Image: config.Image,
    Cmd: config.Cmd ?? undefined,
    Entrypoint: config.Entrypoint ?? undefined,
    Env: config.Env ?? undefined,
    Labels: config.Labels,
    ExposedPorts: config.ExposedPorts,
    WorkingDir: config.WorkingDir || undefined,
    User: config.User || undefined,
    Hostname: config.Hostname && config.Hostname !== shortId ? config.Hostname : undefined,
    Domainname: config.Domainname || undefined,
    Tty: config.Tty,
    OpenStdin: config.OpenStdin,
    StopSignal: (config as {StopSignal?: string}).StopSignal,
    StopTimeout: (config as {StopTimeout?: number}).StopTimeout,
    Healthcheck: (config as {Healthcheck?: HealthConfig}).Healthcheck,
    HostConfig: info.HostConfig,
    NetworkingConfig: first ? {EndpointsConfig: {[first[0]]: endpoint(first[1])}} : undefined,
  }
}

export interface RestoreResult {
  restored: string[]
  removed: string[]
  problems: string[]
}

/**
 * Puts the project back as the snapshot had it: every service whose container was replaced gets
 * its old container back (same settings, image, labels and config hash, so the next deployment
 * sees it unchanged), services that are new are removed; each restored one must get ready again.
 */
export async function restoreSnapshot(conn: EngineConnection, loaded: LoadedProject, snapshot: ComposeSnapshot, options: {deadline: number; emit: DeployEmit}): Promise<RestoreResult> {
  const {engine} = conn
  const project = loaded.project.name
  const result: RestoreResult = {restored: [], removed: [], problems: []}
  const now = await observeContainers(engine, project)
  const services = [...new Set([...snapshot.keys(), ...now.map((c) => c.service)])]
  const known = services.filter((s) => loaded.project.services[s])
  const levels = [...dependencyLevels(loaded.project, known), services.filter((s) => !loaded.project.services[s])]
  for (const level of levels) {
    await Promise.all(
      level.map(async (service) => {
        const before = snapshot.get(service)
        const mine = now.filter((c) => c.service === service)
        if (before && mine.length === 1 && mine[0]?.id === before.Id) return
        try {
          // Without the previous image the old container cannot come back: keep the new one rather than lose both.
          if (before && !(await imageExists(engine, before.Config.Image))) {
            result.problems.push(`${service}: the previous image ${before.Config.Image} is gone from the engine; the new container was left in place`)
            return
          }
          for (const container of mine) await engine.containers.remove(container.id, {force: true})
          if (!before) {
            result.removed.push(service)
            options.emit({type: 'service', service, phase: 'removed', detail: 'new in this version'})
            return
          }
          options.emit({type: 'service', service, phase: 'restoring', detail: before.Config.Image})
          const id = await engine.containers.create(recreateOptions(before))
          for (const [network, settings] of Object.entries(before.NetworkSettings.Networks ?? {}).slice(1)) {
            await engine.networks.connect(network, id, {Aliases: (settings.Aliases ?? []).filter((a: string) => !before.Id.startsWith(a))})
          }
          await engine.containers.start(id)
          if (before.State.Running) {
            const service_: Service = {name: service, command: null, entrypoint: null}
            const healthcheck = (before.Config as {Healthcheck?: {Test?: string[]; Timeout?: number}}).Healthcheck
            await waitReady(engine, id, service_, readinessFor(service_, healthcheck, reachFor(conn.endpoint.host, process.env)), {deadline: options.deadline})
          }
          result.restored.push(service)
          options.emit({type: 'service', service, phase: 'restored'})
        } catch (error) {
          result.problems.push(`${service}: ${(error as Error).message}`)
        }
      }),
    )
  }
  return result
}

/** Every service of the project runs, and passes its healthcheck, right now. */
/** `engineHost` decides where ports are probed (probes/reach.ts): a remote target's own address, never ours. */
export async function verifyCompose(engine: Pick<EnginePort, 'containers' | 'exec'>, loaded: LoadedProject, deadline: number, engineHost: string): Promise<Array<{service: string; reason: string; logs: string[]}>> {
  const reach = reachFor(engineHost, process.env)
  const containers = await observeContainers(engine, loaded.project.name)
  const failures: Array<{service: string; reason: string; logs: string[]}> = []
  await Promise.all(
    Object.values(loaded.project.services).map(async (service) => {
      const current = containers.find((c) => c.service === service.name)
      if (!current) return failures.push({service: service.name, reason: 'no container', logs: []})
      try {
        const info = await engine.containers.inspect(current.id)
        await waitReady(engine, current.id, service, readinessFor(service, (info.Config as {Healthcheck?: {Test?: string[]}}).Healthcheck, reach), {deadline})
      } catch (error) {
        failures.push({service: service.name, reason: (error as {reason?: string}).reason ?? (error as Error).message, logs: await logTail(engine, current.id, 20)})
      }
      return undefined
    }),
  )
  return failures
}

export const recordContainerName = (project: string): string => `${project}-tta-deploy-record`

/** The history kept on a compose target: labels of a container that is created, never started. */
export async function readComposeRecords(engine: Pick<EnginePort, 'containers'>, project: string): Promise<DeployRecord[]> {
  try {
    const info = await engine.containers.inspect(recordContainerName(project))
    const parsed: unknown = JSON.parse(info.Config.Labels?.[DeployLabel.history] ?? '[]')
    return Array.isArray(parsed) ? parsed.filter(isRecord) : []
  } catch {
    return []
  }
}

/**
 * Rewrites the record container with the newest records. It carries the project's label (so
 * `tta clean` and `docker compose down` remove it with the project) as a one-off, which
 * `tta status` and `docker compose ps` leave out.
 */
export async function writeComposeRecords(engine: Pick<EnginePort, 'containers'>, project: string, image: string, records: DeployRecord[]): Promise<void> {
  const name = recordContainerName(project)
  const last = records[records.length - 1]
  await engine.containers.remove(name, {force: true}).catch(() => undefined)
  await engine.containers.create({
    name,
    Image: image,
    Entrypoint: ['true'],
    Cmd: [],
    Labels: {
      [Label.project]: project,
      [Label.oneoff]: 'True',
      [Label.service]: 'tta-deploy-record',
      [Label.managedBy]: 'tta',
      [DeployLabel.record]: 'true',
      [DeployLabel.env]: last?.env ?? '',
      [DeployLabel.version]: last?.activeVersion ?? '',
      [DeployLabel.at]: last?.finishedAt ?? '',
      [DeployLabel.by]: last?.by ?? '',
      [DeployLabel.history]: JSON.stringify(records.slice(-TARGET_HISTORY_LIMIT)),
    },
    HostConfig: {NetworkMode: 'none'},
  })
}

async function imageExists(engine: Pick<EnginePort, 'images'>, ref: string): Promise<boolean> {
  try {
    await engine.images.inspect(ref)
    return true
  } catch (error) {
    if ((error as {statusCode?: number}).statusCode === 404) return false
    throw error
  }
}
