import type {Project, Service} from '../compose/model.js'
import type {EngineConnection} from '../docker/client.js'
import type {ContainerSpec, ContainerTaskSpec, EnginePort, ServiceSpec, SwarmFileSpec, TaskSpec} from '../docker/port.js'
import {logTail} from '../engine/container-io.js'
import {canonicalJson} from '../engine/labels.js'
import {dependencyLevels} from '../engine/graph.js'
import {ExitCode, TtaError} from '../errors.js'
import type {DeployEmit} from './events.js'
import {isRecord, TARGET_HISTORY_LIMIT, type DeployRecord} from './history.js'
import type {RegistryAuth} from './registry.js'
import {DeployLabel, swarmNetworks, type SwarmFile, type SwarmServiceSpec} from './swarm-spec.js'

/** The parts of `GET /services` tta reads (the port types it loosely). */
export interface SwarmServiceInfo {
  ID: string
  Version: {Index: number}
  Spec: ServiceSpec & {Labels?: Record<string, string>}
  PreviousSpec?: ServiceSpec
  UpdateStatus?: {State?: string; StartedAt?: string; CompletedAt?: string; Message?: string}
}

export interface SwarmTaskInfo {
  ID: string
  ServiceID: string
  Slot?: number
  NodeID?: string
  DesiredState: string
  Spec: {ContainerSpec?: ContainerSpec}
  Status: {State: string; Message?: string; Err?: string; Timestamp?: string; ContainerStatus?: {ContainerID?: string; ExitCode?: number}}
}

/** A service that did not converge: what swarm and its containers said. */
export interface SwarmFailure {
  service: string
  reason: string
  logs: string[]
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** The target must be a swarm manager: only managers accept service definitions. */
export async function assertSwarmManager(conn: EngineConnection, env: string): Promise<number> {
  const info = await conn.engine.system.info()
  const state = info.Swarm?.LocalNodeState ?? 'inactive'
  if (state !== 'active' || !info.Swarm?.ControlAvailable) {
    throw new TtaError(
      `target ${env}: the engine at ${conn.endpoint.host} is not a swarm manager (swarm: ${state}${state === 'active' ? ', worker' : ''})`,
      ExitCode.failed,
      state === 'active' ? 'point host: at a manager node' : 'run `docker swarm init` on it (or join it to a swarm as a manager), or deploy with type: compose',
    )
  }
  const nodes = (await conn.engine.swarm.listNodes()) as Array<{Status?: {State?: string}; Spec?: {Availability?: string}}>
  return Math.max(1, nodes.filter((n) => n.Status?.State === 'ready' && n.Spec?.Availability === 'active').length)
}

/** The stack's services on the target, by compose service name. */
export async function observeStack(engine: Pick<EnginePort, 'swarm'>, stack: string): Promise<Map<string, SwarmServiceInfo>> {
  const list = (await engine.swarm.listServices({filters: {label: [`${DeployLabel.namespace}=${stack}`]}})) as unknown as SwarmServiceInfo[]
  return new Map(list.map((s) => [String(s.Spec.Name).slice(stack.length + 1), s]))
}

export interface ApplyOptions {
  conn: EngineConnection
  project: Project
  stack: string
  specs: SwarmServiceSpec[]
  files: SwarmFile[]
  /** Labels every service gets: the version, who, when. Not part of the spec hash. */
  deployLabels: Record<string, string>
  auth: RegistryAuth
  deadline: number
  signal?: AbortSignal
  emit: DeployEmit
}

export interface ApplyResult {
  changed: string[]
  failures: SwarmFailure[]
  /** Services whose update swarm itself already rolled back. */
  rolledBackBySwarm: string[]
  created: string[]
  updated: string[]
  /** Unchanged services whose deployment labels were updated. */
  relabelled: string[]
}

/** Creates what the stack needs that is missing: overlay networks, secrets, configs. Returns object ids by name. */
export async function ensureStackObjects(engine: Pick<EnginePort, 'networks' | 'swarm'>, project: Project, stack: string, files: SwarmFile[], services: string[]): Promise<Record<string, string>> {
  const existing = new Set((await engine.networks.list()).map((n) => n.Name))
  for (const network of swarmNetworks(project, services)) {
    if (existing.has(network.name)) continue
    if (network.external) throw new TtaError(`network ${network.name} is external but does not exist on the target`, ExitCode.failed, `create it there: docker network create -d overlay ${network.name}`)
    await engine.networks.create({Name: network.name, Driver: network.driver, Attachable: network.attachable, CheckDuplicate: true, Labels: {...network.labels, [DeployLabel.namespace]: stack, [DeployLabel.managedBy]: 'tta'}})
  }
  const ids: Record<string, string> = {}
  const secrets = await engine.swarm.listSecrets()
  const configs = await engine.swarm.listConfigs()
  for (const s of [...secrets, ...configs]) if (s.Spec?.Name) ids[s.Spec.Name] = s.ID
  for (const file of files) {
    if (ids[file.name]) continue
    if (file.data.length === 0) throw new TtaError(`${file.kind} ${file.name} is external but does not exist on the target`, ExitCode.failed, `create it there: docker ${file.kind} create ${file.name} FILE`)
    const spec: SwarmFileSpec = {
      Name: file.name,
      Data: file.data.toString('base64'),
      Labels: {[DeployLabel.namespace]: stack, [DeployLabel.managedBy]: 'tta'},
      ...(file.templateDriver ? {Templating: {Name: file.templateDriver}} : {}),
    }
    ids[file.name] = file.kind === 'secret' ? await engine.swarm.createSecret(spec) : await engine.swarm.createConfig(spec)
  }
  return ids
}

/**
 * Applies the specs level by level (a service's dependencies converge before it is touched):
 * creates new services, updates changed ones (swarm starts the new task first and rolls back by
 * itself when it fails), relabels unchanged ones. Stops at the first level that fails.
 */
export async function applySwarm(options: ApplyOptions): Promise<ApplyResult> {
  const {conn, project, stack, emit} = options
  const {engine} = conn
  const result: ApplyResult = {changed: [], failures: [], rolledBackBySwarm: [], created: [], updated: [], relabelled: []}
  const bySpec = new Map(options.specs.map((s) => [s.service, s]))
  const levels = dependencyLevels(project, options.specs.map((s) => s.service))
  const current = await observeStack(engine, stack)
  for (const level of levels) {
    const waits: Array<Promise<void>> = []
    for (const name of level) {
      // Interrupted: nothing more is changed; what was sent goes on under swarm's update_config.
      if (options.signal?.aborted) break
      const desired = bySpec.get(name) as SwarmServiceSpec
      const spec: ServiceSpec = {...desired.spec, Labels: {...desired.spec.Labels, ...options.deployLabels}}
      const existing = current.get(name)
      if (!existing) {
        emit({type: 'service', service: name, phase: 'creating', detail: desired.image})
        const id = await engine.swarm.createService(spec, options.auth)
        result.created.push(name)
        result.changed.push(name)
        waits.push(track(name, waitConverged(engine, id, name, desired, undefined, options)))
      } else if (existing.Spec.Labels?.[DeployLabel.specHash] !== desired.hash) {
        emit({type: 'service', service: name, phase: 'updating', detail: `${desired.order}, ${desired.image}`})
        await updateService(engine, existing, spec, options.auth)
        result.updated.push(name)
        result.changed.push(name)
        waits.push(track(name, waitConverged(engine, existing.ID, name, desired, existing.UpdateStatus?.StartedAt, options)))
      } else {
        // Same tasks: only the deployment labels change, which restarts nothing.
        await updateService(engine, existing, {...existing.Spec, Labels: {...existing.Spec.Labels, ...options.deployLabels}}, options.auth)
        result.relabelled.push(name)
        emit({type: 'service', service: name, phase: 'unchanged'})
      }
    }
    await Promise.all(waits)
    if (result.failures.length > 0 || options.signal?.aborted) break
  }
  return result

  async function track(name: string, wait: Promise<SwarmFailure | undefined>): Promise<void> {
    const failure = await wait.catch((error: Error): SwarmFailure => ({service: name, reason: error.message, logs: []}))
    if (failure && options.signal?.aborted) {
      emit({type: 'service', service: name, phase: 'interrupted', detail: 'swarm goes on with this update (or rolls it back) by itself'})
      return
    }
    if (!failure) {
      emit({type: 'service', service: name, phase: 'healthy'})
      return
    }
    if (/rolled back by swarm/.test(failure.reason)) result.rolledBackBySwarm.push(name)
    result.failures.push(failure)
    emit({type: 'service', service: name, phase: 'failed', detail: failure.reason})
  }
}

async function updateService(engine: Pick<EnginePort, 'swarm'>, existing: SwarmServiceInfo, spec: ServiceSpec, auth: RegistryAuth, rollback = false): Promise<void> {
  await engine.swarm.updateService(existing.ID, existing.Version.Index, spec, {auth, rollback})
}

/** A task runs a spec when its container spec is the service's, as the engine stores both. */
export function specKey(spec: ServiceSpec | TaskSpec | undefined): string {
  const task = (spec && 'TaskTemplate' in spec ? spec.TaskTemplate : spec) as ContainerTaskSpec | undefined
  return canonicalJson(task?.ContainerSpec ?? {})
}

/** The tasks that should be running, with how many of them run the given container spec. */
async function taskState(engine: Pick<EnginePort, 'swarm'>, id: string, key: string): Promise<{running: number; desired: SwarmTaskInfo[]; failed: SwarmTaskInfo[]}> {
  const tasks = (await engine.swarm.listTasks({filters: {service: [id]}})) as SwarmTaskInfo[]
  const mine = tasks.filter((t) => canonicalJson(t.Spec.ContainerSpec ?? {}) === key)
  const desired = mine.filter((t) => t.DesiredState === 'running')
  return {
    running: desired.filter((t) => t.Status.State === 'running').length,
    desired,
    failed: mine.filter((t) => ['failed', 'rejected', 'complete', 'shutdown', 'orphaned'].includes(t.Status.State) && t.DesiredState !== 'running').sort((a, b) => String(b.Status.Timestamp).localeCompare(String(a.Status.Timestamp))),
  }
}

/**
 * Waits until every task of the service runs the new spec (with a healthcheck, swarm reports a
 * task running only once it is healthy), or swarm rolls the update back, or the deadline passes.
 * Resolves with the failure, if any.
 */
async function waitConverged(engine: Pick<EnginePort, 'swarm' | 'containers'>, id: string, name: string, desired: SwarmServiceSpec, previousUpdate: string | undefined, options: ApplyOptions): Promise<SwarmFailure | undefined> {
  let lastPhase = ''
  // Right after the create or update call the service holds the new spec: its tasks are the new version.
  const key = specKey(((await engine.swarm.inspectService(id)) as SwarmServiceInfo).Spec)
  for (;;) {
    if (options.signal?.aborted) return {service: name, reason: 'interrupted', logs: []}
    const info = (await engine.swarm.inspectService(id)) as SwarmServiceInfo
    const status = info.UpdateStatus
    const fresh = status?.StartedAt !== undefined && status.StartedAt !== previousUpdate
    const state = fresh ? (status?.State ?? '') : ''
    if (state.startsWith('rollback') || state === 'paused') {
      if (state === 'rollback_started') {
        if (lastPhase !== state) options.emit({type: 'service', service: name, phase: 'rolling back', detail: status?.Message})
        lastPhase = state
        if (Date.now() < options.deadline + 120_000) {
          await sleep(500)
          continue
        }
      }
      const failure = await describeTaskFailure(engine, name, id, key)
      const by = state === 'rollback_completed' ? 'rolled back by swarm' : state === 'paused' ? 'update paused by swarm' : `swarm ${state.replace('_', ' ')}`
      return {...failure, reason: `${failure.reason} (${by}: ${status?.Message ?? ''})`.replace(/: \)$/, ')')}
    }
    const tasks = await taskState(engine, id, key)
    const want = desired.replicas === 'global' ? Math.max(1, tasks.desired.length) : desired.replicas
    if (tasks.running >= want && tasks.desired.length === want && state !== 'updating') return undefined
    const phase = `${tasks.running}/${want} running`
    if (phase !== lastPhase) options.emit({type: 'service', service: name, phase: 'converging', detail: phase})
    lastPhase = phase
    // A new service has no update to roll back: repeated task failures are the answer.
    if (!previousUpdate && !status && tasks.failed.length >= 3 && tasks.running === 0) return describeTaskFailure(engine, name, id, key)
    if (Date.now() >= options.deadline) {
      const failure = await describeTaskFailure(engine, name, id, key)
      return {...failure, reason: `not healthy before the timeout: ${failure.reason}`}
    }
    await sleep(500)
  }
}

/** Why the newest failed task of a service failed: swarm's words, plus its healthcheck output and logs when the container is on this engine. */
export async function describeTaskFailure(engine: Pick<EnginePort, 'swarm' | 'containers'>, name: string, id: string, key: string): Promise<SwarmFailure> {
  const tasks = await taskState(engine, id, key).catch(() => undefined)
  // Prefer a task that got as far as a container: its healthcheck output and logs say the most.
  const withContainer = (t: SwarmTaskInfo): boolean => Boolean(t.Status.ContainerStatus?.ContainerID)
  const task = tasks?.failed.find(withContainer) ?? tasks?.failed[0] ?? tasks?.desired.find((t) => t.Status.State !== 'running')
  if (!task) return {service: name, reason: 'no task of the new version ran', logs: []}
  const parts = [task.Status.Err, task.Status.Message].filter((s): s is string => Boolean(s))
  let logs: string[] = []
  const containerId = task.Status.ContainerStatus?.ContainerID
  if (containerId) {
    const inspected = await engine.containers.inspect(containerId).catch(() => undefined)
    const health = (inspected?.State as {Health?: {Status?: string; Log?: Array<{ExitCode?: number; Output?: string}>}} | undefined)?.Health
    const last = health?.Log?.[health.Log.length - 1]
    if (health?.Status === 'unhealthy') parts.unshift(`healthcheck failed${last?.Output ? `: ${last.Output.trim().split('\n').slice(-1)[0]}` : ''}`)
    else if (inspected && task.Status.ContainerStatus?.ExitCode) parts.unshift(`exited with code ${task.Status.ContainerStatus.ExitCode}`)
    if (inspected) logs = await logTail(engine, containerId, 20, inspected.Config.Tty ?? false)
  }
  return {service: name, reason: parts.join('; ') || task.Status.State, logs}
}

/**
 * Undoes this run: services it updated go back to their previous spec (swarm keeps it), services
 * it created are removed. Waits (bounded) for the old tasks to run again.
 */
export async function rollbackSwarm(options: ApplyOptions, result: ApplyResult): Promise<string[]> {
  const {engine} = options.conn
  const problems: string[] = []
  const current = await observeStack(engine, options.stack)
  for (const name of result.created) {
    const info = current.get(name)
    options.emit({type: 'service', service: name, phase: 'removing', detail: 'new in this version'})
    if (info) await engine.swarm.removeService(info.ID).catch((error: Error) => problems.push(`${name}: ${error.message}`))
  }
  const waits: Array<Promise<void>> = []
  for (const name of [...result.updated, ...result.relabelled]) {
    if (result.rolledBackBySwarm.includes(name)) continue
    const info = current.get(name)
    if (!info?.PreviousSpec) continue
    const relabel = result.relabelled.includes(name)
    options.emit({type: 'service', service: name, phase: relabel ? 'labels back to the previous version' : 'rolling back'})
    try {
      await updateService(engine, info, info.Spec, options.auth, true)
    } catch (error) {
      problems.push(`${name}: ${(error as Error).message}`)
      continue
    }
    if (relabel) continue
    const replicas = info.PreviousSpec.Mode?.Replicated?.Replicas ?? 'global'
    waits.push(
      (async () => {
        const key = specKey(((await engine.swarm.inspectService(info.ID)) as SwarmServiceInfo).Spec)
        const deadline = Date.now() + 180_000
        for (;;) {
          if (options.signal?.aborted) {
            problems.push(`${name}: interrupted while waiting for the previous version (swarm goes on rolling it back)`)
            return
          }
          const tasks = await taskState(engine, info.ID, key)
          const want = replicas === 'global' ? Math.max(1, tasks.desired.length) : replicas
          if (tasks.running >= want) return
          if (Date.now() > deadline) {
            problems.push(`${name}: the previous version did not run again within 180 s`)
            return
          }
          await sleep(500)
        }
      })(),
    )
  }
  await Promise.all(waits)
  return problems
}

/** Final check: every service of the stack has all its tasks running its current spec. */
export async function verifySwarm(engine: Pick<EnginePort, 'swarm'>, stack: string, services: string[]): Promise<SwarmFailure[]> {
  const current = await observeStack(engine, stack)
  const failures: SwarmFailure[] = []
  for (const name of services) {
    const info = current.get(name)
    if (!info) {
      failures.push({service: name, reason: 'service missing', logs: []})
      continue
    }
    const tasks = await taskState(engine, info.ID, specKey(info.Spec))
    const want = info.Spec.Mode?.Replicated ? (info.Spec.Mode.Replicated.Replicas ?? 1) : Math.max(1, tasks.desired.length)
    if (tasks.running < want) failures.push({service: name, reason: `${tasks.running} of ${want} tasks running`, logs: []})
  }
  return failures
}

/** Services a compose file lists, in dependency order: the order swarm sees them. */
export function stackServices(project: Project): string[] {
  return dependencyLevels(project, Object.keys(project.services)).flat()
}

export type {Service}

/** The history kept on a swarm: one small config object per deployment, labelled with the stack. */
export async function readSwarmRecords(engine: Pick<EnginePort, 'swarm'>, stack: string): Promise<DeployRecord[]> {
  const configs = await engine.swarm.listConfigs({filters: {label: [`${DeployLabel.namespace}=${stack}`, `${DeployLabel.record}=true`]}})
  const records: DeployRecord[] = []
  for (const config of configs) {
    try {
      const parsed: unknown = JSON.parse(Buffer.from(config.Spec?.Data ?? '', 'base64').toString('utf8'))
      if (isRecord(parsed)) records.push(parsed)
    } catch {
      // Not ours after all, or damaged: the workspace history still has it.
    }
  }
  return records
}

export async function writeSwarmRecord(engine: Pick<EnginePort, 'swarm'>, stack: string, record: DeployRecord): Promise<void> {
  const stamp = record.startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
  await engine.swarm.createConfig({
    Name: `${stack}_tta-deploy-${stamp}-${record.id.slice(0, 8)}`,
    Data: Buffer.from(JSON.stringify(record)).toString('base64'),
    Labels: {[DeployLabel.namespace]: stack, [DeployLabel.record]: 'true', [DeployLabel.env]: record.env, [DeployLabel.version]: record.version, [DeployLabel.managedBy]: 'tta'},
  })
  const all = await engine.swarm.listConfigs({filters: {label: [`${DeployLabel.namespace}=${stack}`, `${DeployLabel.record}=true`]}})
  const oldest = all.sort((a, b) => String(a.Spec?.Name).localeCompare(String(b.Spec?.Name))).slice(0, Math.max(0, all.length - TARGET_HISTORY_LIMIT))
  for (const config of oldest) await engine.swarm.removeConfig(config.ID).catch(() => undefined)
}
