
import type {LoadedProject, Service} from '../compose/model.js'
import type {EngineConnection} from '../docker/client.js'
import type {EnginePort} from '../docker/port.js'
import type {HostContext} from '../workspace/devcontainer.js'
import type {Reach} from '../probes/derive.js'
import {reachFor} from '../probes/reach.js'
import {ContainerEvents} from './container-events.js'
import {VerdictNeeds} from './verdicts.js'
import {logTail} from './container-io.js'
import {asEngineLost, EngineLostError, isConnectionError} from './engine-errors.js'
import type {Emit} from './events.js'
import {withDependencies} from './graph.js'
import {ensureImages, type ImageHealthcheck} from './images.js'

export {ImageError} from './images.js'
import {COMPOSE_LABEL_VERSION, Label, projectFilter} from './labels.js'
import {observe} from './observe.js'
import {planUp, type UpPlan} from './plan.js'
import {findPortConflicts, findPortHolder, portFromEngineError, PortInUseError, portsAreLocal, portsToClaim, PortTakenError} from './ports.js'
import {AbortedError, NotReadyError, readinessFor, readyFromListing, waitCompleted, waitReady, type ReadyBy} from './readiness.js'
import {apiAtLeast} from '../docker/client.js'
import {containerSpec, droppedFeatures, START_INTERVAL_API, endpointSettings, ignoredSettings, networkName, networkSpec, serviceHash, serviceNetworks} from './spec.js'

export interface UpOptions {
  /** Services to start (with their dependencies); all when empty. */
  services?: string[]
  build?: boolean
  forceRecreate?: boolean
  timeoutMs: number
  signal?: AbortSignal
  emit: Emit
  /** Where tta runs relative to the engine (devcontainer); decides how ports are probed. */
  host?: HostContext
  /** The environment DOCKER_HOST and TTA_PROBE_HOST come from (probes/reach.ts). */
  env?: NodeJS.ProcessEnv
}

export interface ServiceOutcome {
  service: string
  containerId?: string
  action: string
  readyBy?: ReadyBy
  elapsedMs: number
}

export interface ServiceFailure {
  service: string
  reason: string
  state?: string
  exitCode?: number
  logs: string[]
  /** The host port the engine found taken when starting the container (a race with another program). */
  portTaken?: number
}

/** `up` did not bring everything to ready: which services failed, and why. */
export class UpFailedError extends Error {
  constructor(
    readonly failures: ServiceFailure[],
    readonly outcomes: ServiceOutcome[],
  ) {
    super(`${failures.map((f) => f.service).join(', ')} did not get ready`)
    this.name = 'UpFailedError'
  }
}

interface Deferred<T> {
  promise: Promise<T>
  resolve: (value: T) => void
  reject: (error: Error) => void
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (error: Error) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  // Rejections are observed by whoever awaits; silence the unobserved ones.
  promise.catch(() => undefined)
  return {promise, resolve, reject}
}

/**
 * Converges Docker to the project and waits until every target service is ready: images first
 * (pull / build), then networks and volumes, then services in dependency order, independent
 * ones in parallel. Nothing is left created-but-not-started: on failure or interrupt such
 * containers are removed, so the next run converges.
 */
export async function up(conn: EngineConnection, loaded: LoadedProject, options: UpOptions): Promise<{plan: UpPlan; outcomes: ServiceOutcome[]}> {
  try {
    return await converge(conn, loaded, options)
  } catch (error) {
    // The engine dying mid-run surfaces as whatever request was in flight: say what happened.
    if (options.signal?.aborted) throw error
    throw await asEngineLost(conn.engine, conn.endpoint.host, error)
  }
}

async function converge(conn: EngineConnection, loaded: LoadedProject, options: UpOptions): Promise<{plan: UpPlan; outcomes: ServiceOutcome[]}> {
  const {engine} = conn
  const {project} = loaded
  const emit = options.emit
  for (const name of options.services ?? []) {
    if (!project.services[name]) throw new UnknownServiceError(name, Object.keys(project.services))
  }
  const targets = withDependencies(project, options.services)

  for (const name of targets) {
    for (const dropped of droppedFeatures(project.services[name] as Service, conn.apiVersion)) {
      emit({type: 'note', message: `${name}: dropped ${dropped}`})
    }
    for (const ignored of ignoredSettings(project, project.services[name] as Service)) {
      emit({type: 'note', message: `${name}: ignored ${ignored}`})
    }
  }

  const {ids: imageIds, healthchecks: imageHealthchecks} = await ensureImages(engine, loaded, targets, options)
  const observed = await observe(engine, project.name)
  const hashes = Object.fromEntries(targets.map((name) => [name, serviceHash(project.services[name] as Service, conn.apiVersion)]))
  const plan = planUp({project, targets, observed, hashes, imageIds, forceRecreate: options.forceRecreate})
  emit({type: 'plan', plan})
  const outside = options.host?.engineIsOutside ?? false
  if (portsAreLocal(conn.endpoint, outside)) {
    const conflicts = await findPortConflicts(portsToClaim(project, plan, loaded.environment, loaded.defaults))
    if (conflicts.length > 0) {
      for (const conflict of conflicts) conflict.holder = await findPortHolder(engine, conflict.port)
      throw new PortInUseError(conflicts)
    }
  }

  // Every network's options first: one the engine cannot make as written stops the run before anything is created.
  const networkSpecs = new Map(
    plan.networks
      .filter((network) => network.action === 'create')
      .map((network) => [network.name, networkSpec(loaded, network.key, network.name, conn.apiVersion, {[Label.project]: project.name, [Label.network]: network.key, [Label.version]: COMPOSE_LABEL_VERSION})]),
  )
  for (const network of plan.networks) {
    emit({type: 'resource', kind: 'network', name: network.name, action: network.action})
    const spec = networkSpecs.get(network.name)
    if (spec) await engine.networks.create(spec)
  }
  for (const volume of plan.volumes) {
    emit({type: 'resource', kind: 'volume', name: volume.name, action: volume.action})
    if (volume.action !== 'create') continue
    const config = project.volumes[volume.key]
    await engine.volumes.create({
      Name: volume.name,
      Driver: config?.driver ?? 'local',
      DriverOpts: config?.driver_opts,
      Labels: {...config?.labels, [Label.project]: project.name, [Label.volume]: volume.key, [Label.version]: COMPOSE_LABEL_VERSION},
    })
  }

  // From inside a container the engine runs, published ports are the host's, not ours: join the
  // project's networks so services are reachable at their container addresses.
  const selfId = options.host?.selfContainerId
  if (selfId) {
    for (const network of plan.networks) {
      const info = await engine.networks.inspect(network.name)
      if (!Object.keys(info.Containers ?? {}).includes(selfId)) await engine.networks.connect(network.name, selfId)
    }
  }

  // How readiness probes reach the services (probes/reach.ts): from inside the engine's own
  // container, at their addresses on the networks joined above.
  const reach: Reach = reachFor(conn.endpoint.host, options.env ?? process.env, selfId ? new Set(plan.networks.map((n) => n.name)) : undefined)
  // A warm run whose every container is kept and ready by what the listing says waits on nothing:
  // no event stream to open (a round trip on the way to "ready").
  const startInterval = apiAtLeast(conn.apiVersion, START_INTERVAL_API)
  const nothingToWait = targets.every((name) => {
    const planned = plan.services[name]
    const service = project.services[name] as Service
    return planned?.action === 'keep' && planned.current !== undefined && readyFromListing(service, readinessFor(service, imageHealthchecks[name], {reach, startInterval}), planned.current) !== undefined
  })
  const events = nothingToWait ? new ContainerEvents() : await ContainerEvents.follow(engine, project.name)
  try {
    return await startAll({conn, loaded, options, plan, targets, reach, events, imageHealthchecks})
  } finally {
    events.close()
  }
}

interface StartContext {
  conn: EngineConnection
  loaded: LoadedProject
  options: UpOptions
  plan: UpPlan
  targets: string[]
  reach: Reach
  events: ContainerEvents
  imageHealthchecks: Record<string, ImageHealthcheck | undefined>
}

/** Services in dependency order, each waited for until ready; see converge. */
async function startAll({conn, loaded, options, plan, targets, reach, events, imageHealthchecks}: StartContext): Promise<{plan: UpPlan; outcomes: ServiceOutcome[]}> {
  const {engine} = conn
  const {project} = loaded
  const emit = options.emit
  /** Each service's container id, once started (or kept). */
  const started = new Map<string, Deferred<string>>()
  const ready = new Map<string, Deferred<void>>()
  const needs = new VerdictNeeds(project, targets)
  for (const name of targets) {
    started.set(name, deferred())
    ready.set(name, deferred())
  }
  const createdNotStarted = new Set<string>()
  const deadline = Date.now() + options.timeoutMs
  const t0 = Date.now()
  const outcomes: ServiceOutcome[] = []
  const failures: ServiceFailure[] = []
  const connectionErrors = new Map<string, Error>()

  /** Creates the service's container on all its networks; removed again unless it gets started. */
  const createFor = async (service: Service): Promise<string> => {
    options.signal?.throwIfAborted()
    const id = await engine.containers.create(containerSpec({loaded, apiVersion: conn.apiVersion}, service))
    createdNotStarted.add(id)
    for (const key of serviceNetworks(service).slice(1)) {
      await engine.networks.connect(networkName(project, key), id, endpointSettings(service, key, project))
    }
    return id
  }

  const runService = async (name: string): Promise<void> => {
    const service = project.services[name] as Service
    const servicePlan = plan.services[name]
    if (!servicePlan) return
    const elapsed = (): number => Date.now() - t0
    const deps = Object.entries(service.depends_on ?? {}).filter(([dep]) => targets.includes(dep))
    // A new container is created while its dependencies start, as Compose creates all before it
    // starts any: its create is then off the critical path. Not one that names another container
    // (it must exist first), nor a recreate (the old one keeps running until its turn).
    const createEarly = servicePlan.action === 'create' && !servicePlan.current && deps.length > 0 && !refersToContainers(service)
    const early = createEarly ? createFor(service) : undefined
    early?.catch(() => undefined)
    if (deps.length > 0) emit({type: 'service', service: name, phase: 'waiting', detail: deps.map(([d]) => d).join(', '), elapsedMs: elapsed()})
    for (const [dep, condition] of deps) {
      try {
        const depId = await (started.get(dep) as Deferred<string>).promise
        if (condition.condition === 'service_healthy') await (ready.get(dep) as Deferred<void>).promise
        if (condition.condition === 'service_completed_successfully') {
          await waitCompleted(engine, depId, project.services[dep] as Service, {deadline, signal: options.signal})
        }
      } catch (error) {
        if (error instanceof AbortedError) throw error
        if (!condition.required) continue
        throw new DependencyFailed(name, dep)
      }
    }

    let containerId: string
    /** When (local clock) this run started the container: its settle time counts from then. */
    let startedAt: number | undefined
    const current = servicePlan.current
    for (const extra of servicePlan.surplus) await engine.containers.remove(extra.id, {force: true})
    if (servicePlan.action === 'keep' && current) {
      containerId = current.id
      emit({type: 'service', service: name, phase: 'kept', detail: servicePlan.reason, elapsedMs: elapsed()})
    } else if (servicePlan.action === 'start' && current) {
      containerId = current.id
      emit({type: 'service', service: name, phase: 'starting', elapsedMs: elapsed()})
      try {
        await engine.containers.start(containerId)
      } catch (error) {
        // A container that never ran, left by an engine killed while starting it: the restarted
        // engine's containerd may still hold that start's task ("task <id>: already exists") and
        // refuse every start. Nothing of it is lost by making it anew.
        if (current.state !== 'created' || !isStaleTaskError(error)) throw error
        emit({type: 'service', service: name, phase: 'recreating', detail: 'the engine kept a stale task of it from before a restart', elapsedMs: elapsed()})
        await engine.containers.remove(current.id, {force: true})
        containerId = await createFor(service)
        await engine.containers.start(containerId)
        createdNotStarted.delete(containerId)
      }
      startedAt = Date.now()
    } else {
      if (early) {
        containerId = await early
      } else {
        if (servicePlan.action === 'recreate' && current) {
          emit({type: 'service', service: name, phase: 'recreating', detail: servicePlan.reason, elapsedMs: elapsed()})
          await engine.containers.remove(current.id, {force: true})
        } else {
          emit({type: 'service', service: name, phase: 'creating', elapsedMs: elapsed()})
        }
        containerId = await createFor(service)
      }
      options.signal?.throwIfAborted()
      emit({type: 'service', service: name, phase: 'starting', elapsedMs: elapsed()})
      try {
        await engine.containers.start(containerId)
      } catch (error) {
        // Taken between the preflight and now, or not checkable from here: say it plainly.
        const taken = portFromEngineError((error as Error).message)
        if (taken) throw new PortTakenError(taken.host, taken.port)
        throw error
      }
      startedAt = Date.now()
      createdNotStarted.delete(containerId)
    }
    started.get(name)?.resolve(containerId)
    needs.startedService(name)
    emit({type: 'service', service: name, phase: 'checking', elapsedMs: elapsed()})
    // The image's healthcheck was read with the image: no container inspect before waiting (with a
    // hundred services starting, every inspect spared is engine time given to the starts).
    const readiness = readinessFor(service, imageHealthchecks[name], {reach, startInterval: apiAtLeast(conn.apiVersion, START_INTERVAL_API)})
    if (readiness.kind === 'running' && readiness.note) emit({type: 'note', message: `${name}: ${readiness.note}`})
    // A container tta just started has a fresh restart count; a kept one's earlier restarts are history.
    const restartsBefore = servicePlan.action === 'keep' ? undefined : 0
    const listed = servicePlan.action === 'keep' && current ? readyFromListing(service, readiness, current) : undefined
    const readyBy = listed ?? (await waitReady(engine, containerId, service, readiness, {deadline, signal: options.signal, events, restartsBefore, startedAt, verdict: {neededNow: () => needs.neededNow(name), answers: () => needs.answers(name), onChange: (l) => needs.onChange(l)}}))
    needs.answers(name)
    ready.get(name)?.resolve()
    outcomes.push({service: name, containerId, action: servicePlan.action, readyBy, elapsedMs: elapsed()})
    emit({type: 'service', service: name, phase: 'ready', readyBy, elapsedMs: elapsed()})
  }

  await Promise.all(
    targets.map(async (name) => {
      try {
        await runService(name)
      } catch (error) {
        const err = error as Error
        started.get(name)?.reject(err)
        ready.get(name)?.reject(err)
        if (err instanceof AbortedError || options.signal?.aborted) return
        if (isConnectionError(err)) {
          // Decided after all services settle: the engine is gone (one message), or a connection dropped.
          connectionErrors.set(name, err)
          return
        }
        const failure = await describeFailure(engine, project.name, name, err)
        if (err instanceof PortTakenError) failure.portTaken = err.port
        if (!(err instanceof DependencyFailed)) failures.push(failure)
        emit({type: 'service', service: name, phase: err instanceof DependencyFailed ? 'skipped' : 'failed', detail: failure.reason, elapsedMs: Date.now() - t0})
      }
    }),
  )

  for (const id of createdNotStarted) await engine.containers.remove(id, {force: true}).catch(() => undefined)
  if (options.signal?.aborted) throw new AbortedError()
  if (connectionErrors.size > 0) {
    const [first] = connectionErrors.values()
    const lost = await asEngineLost(engine, conn.endpoint.host, first)
    if (lost instanceof EngineLostError) throw lost
    for (const [name, err] of connectionErrors) {
      const failure = await describeFailure(engine, project.name, name, err)
      failures.push(failure)
      emit({type: 'service', service: name, phase: 'failed', detail: failure.reason, elapsedMs: Date.now() - t0})
    }
  }
  // In start order, not completion order: the same failure reads the same every run.
  failures.sort((a, b) => targets.indexOf(a.service) - targets.indexOf(b.service))
  if (failures.length > 0) throw new UpFailedError(failures, outcomes)
  return {plan, outcomes}
}

class DependencyFailed extends Error {
  constructor(service: string, dependency: string) {
    super(`not started: dependency ${dependency} failed`)
    this.name = 'DependencyFailed'
  }
}

export class UnknownServiceError extends Error {
  constructor(
    readonly service: string,
    readonly known: string[],
  ) {
    super(`no such service: ${service} (services: ${known.sort().join(', ')})`)
    this.name = 'UnknownServiceError'
  }
}

async function describeFailure(engine: Pick<EnginePort, 'containers'>, project: string, service: string, error: Error): Promise<ServiceFailure> {
  const containers = await engine.containers.list({all: true, filters: projectFilter(project, [`${Label.service}=${service}`])}).catch(() => [])
  const first = containers[0]
  if (!first) return {service, reason: error.message, logs: []}
  const info = await engine.containers.inspect(first.Id).catch(() => undefined)
  const logs = await logTail(engine, first.Id, 20, info?.Config.Tty ?? false)
  const reason = error instanceof NotReadyError ? error.reason : error.message
  return {service, reason, state: info?.State.Status, exitCode: info?.State.ExitCode, logs}
}

/** The engine's refusal to start a container whose task containerd still has (after an engine restart). */
export function isStaleTaskError(error: unknown): boolean {
  return (error as {statusCode?: number}).statusCode === 500 && /\btask [0-9a-f]{12,}: already exists/.test((error as Error).message)
}

/** Whether the service's create names another container (shared namespaces, volumes_from, links), which must exist first. */
function refersToContainers(service: Service): boolean {
  if ((service.volumes_from?.length ?? 0) > 0 || (service.links?.length ?? 0) > 0) return true
  return [service.network_mode, service.ipc, service.pid].some((mode) => mode?.startsWith('service:') || mode?.startsWith('container:'))
}
