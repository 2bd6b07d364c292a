/**
 * The watch loop behind `tta dev --watch`: files under the services' develop.watch paths are watched,
 * debounced, matched to rules, and applied to the running containers through the engine API (sync,
 * rebuild, restart, exec). It never prints: everything it does is reported as a WatchEvent.
 */
import {existsSync} from 'node:fs'
import type {Readable} from 'node:stream'


import type {LoadedProject, Service} from '../compose/model.js'
import type {EngineConnection} from '../docker/client.js'
import {jsonLines} from '../docker/json-lines.js'
import type {ContainerSummary, EnginePort} from '../docker/port.js'
import {logTail} from '../engine/container-io.js'
import {buildImage} from '../engine/images.js'
import {Label} from '../engine/labels.js'
import {up} from '../engine/up.js'
import type {HostContext} from '../workspace/devcontainer.js'
import {Debouncer} from './debounce.js'
import {readDockerignore} from './ignore.js'
import {compileRule, isEmptyPlan, planChanges, ruleMatch, type Change, type CompiledRule, type ServicePlan} from './rules.js'
import {execArgv, syncToContainer} from './sync.js'
import {TreeWatcher, watchRoots} from './watcher.js'

export type WatchAction = 'sync' | 'rebuild' | 'restart' | 'exec'

export type WatchEvent =
  | {type: 'watching'; services: string[]; roots: string[]}
  | {type: 'action'; service: string; action: WatchAction; status: 'start'}
  | {type: 'action'; service: string; action: WatchAction; status: 'done'; elapsedMs: number; detail?: string}
  | {type: 'action'; service: string; action: WatchAction; status: 'failed'; elapsedMs: number; error: string}
  | {type: 'retry'; service: string; action: WatchAction; attempt: number; error: string}
  | {type: 'build-output'; service: string; line: string}
  | {type: 'crashed'; service: string; exitCode?: number; logs: string[]}
  | {type: 'state'; service: string; state: string; health?: string}
  | {type: 'paused'; paused: boolean}
  | {type: 'warning'; message: string}

export interface ServiceStatus {
  service: string
  state: string
  health?: string
  containerId?: string
  last?: {action: WatchAction; ok: boolean; elapsedMs: number; at: number; detail?: string}
  busy?: WatchAction
}

export interface WatchSessionOptions {
  /** Services the session watches (those started, with develop.watch rules). */
  services: string[]
  emit: (event: WatchEvent) => void
  host?: HostContext
  /** Quiet time before a batch of changes is applied. */
  debounceMs?: number
  /** Bound on a rebuild's wait for the new container to be ready. */
  readyTimeoutMs?: number
}

export class WatchSession {
  private readonly engine: EnginePort
  private readonly rules = new Map<string, CompiledRule[]>()
  private readonly status = new Map<string, ServiceStatus>()
  private readonly queues = new Map<string, Promise<void>>()
  /** Containers tta itself is stopping (restart, rebuild): their `die` is not a crash. */
  private readonly expectedStops = new Set<string>()
  private readonly debouncer: Debouncer<Change>
  private watcher: TreeWatcher | undefined
  private events: Readable | undefined
  private poller: NodeJS.Timeout | undefined
  private paused = false
  private closed = false

  constructor(
    private readonly conn: EngineConnection,
    private readonly loaded: LoadedProject,
    private readonly options: WatchSessionOptions,
  ) {
    this.engine = conn.engine
    this.debouncer = new Debouncer((batch) => this.applyBatch(batch), options.debounceMs ?? 50)
    for (const name of options.services) {
      const service = loaded.project.services[name] as Service | undefined
      const rules = service?.develop?.watch ?? []
      const context = service?.build?.context
      const dockerignore = context && existsSync(context) ? readDockerignore(context) : []
      this.rules.set(name, rules.map((rule) => compileRule(rule, context, dockerignore)))
      this.status.set(name, {service: name, state: 'unknown'})
    }
  }

  /** Services with at least one watch rule. */
  get watched(): string[] {
    return [...this.rules].filter(([, rules]) => rules.length > 0).map(([name]) => name)
  }

  get isPaused(): boolean {
    return this.paused
  }

  statuses(): ServiceStatus[] {
    return [...this.status.values()]
  }

  async start(): Promise<void> {
    await this.refreshStates()
    const paths = [...this.rules.values()].flat().map((c) => c.rule.path)
    const roots = watchRoots(paths)
    this.watcher = new TreeWatcher(
      roots,
      (change) => {
        if (!this.paused) this.debouncer.add(change.path, change)
      },
      (error) => this.options.emit({type: 'warning', message: `file watching: ${error.message}`}),
    )
    this.options.emit({type: 'watching', services: this.watched, roots})
    await this.followDeaths()
    this.poller = setInterval(() => void this.refreshStates(), 2000)
    this.poller.unref()
    for (const [service, rules] of this.rules) {
      const initial = rules.filter((c) => c.rule.initial_sync && c.rule.action.startsWith('sync') && existsSync(c.rule.path))
      if (initial.length === 0) continue
      const plan: ServicePlan = {rebuild: false, restart: false, exec: [], actions: ['sync'], remove: [], copy: initial.map((c) => ({hostPath: c.rule.path, containerPath: c.rule.target ?? '/'}))}
      this.enqueue(service, () => this.apply(service, plan))
    }
  }

  pause(): void {
    this.paused = true
    this.debouncer.cancel()
    this.options.emit({type: 'paused', paused: true})
  }

  resume(): void {
    this.paused = false
    this.options.emit({type: 'paused', paused: false})
  }

  restart(service: string): Promise<void> {
    return this.enqueue(service, () => this.doRestart(service))
  }

  rebuild(service: string): Promise<void> {
    return this.enqueue(service, () => this.doRebuild(service))
  }

  /** Waits for the work already queued (tests, quitting cleanly). */
  async idle(): Promise<void> {
    this.debouncer.flush()
    await Promise.all([...this.queues.values()])
  }

  close(): void {
    this.closed = true
    this.debouncer.cancel()
    this.watcher?.close()
    this.events?.destroy()
    clearInterval(this.poller)
  }

  private applyBatch(batch: Change[]): void {
    // Existence is read again now: a file written then removed within the batch is a deletion.
    const changes = batch.map((c) => ({path: c.path, exists: existsSync(c.path)}))
    for (const [service, rules] of this.rules) {
      if (rules.length === 0) continue
      const plan = planChanges(rules, changes)
      if (isEmptyPlan(plan)) continue
      void this.enqueue(service, () => this.apply(service, plan))
    }
  }

  /** One thing at a time per service, in order; a failure never stops the queue. */
  private enqueue(service: string, work: () => Promise<void>): Promise<void> {
    const previous = this.queues.get(service) ?? Promise.resolve()
    const next = previous.then(work).catch((error: Error) => this.options.emit({type: 'warning', message: `${service}: ${error.message}`}))
    this.queues.set(service, next)
    return next
  }

  private async apply(service: string, plan: ServicePlan): Promise<void> {
    if (this.closed) return
    if (plan.rebuild) return this.doRebuild(service)
    const containerId = await this.containerOf(service)
    if (!containerId) {
      this.options.emit({type: 'warning', message: `${service}: no container to sync to (start it with \`b\` to rebuild, or tta dev)`})
      return
    }
    if (plan.copy.length > 0 || plan.remove.length > 0) {
      const t = Date.now()
      this.begin(service, 'sync')
      const rules = this.rules.get(service) ?? []
      try {
        const result = await syncToContainer(this.engine, containerId, plan, {
          keep: (hostPath) => rules.some((c) => c.rule.action.startsWith('sync') && ruleMatch(c, hostPath) !== undefined),
          onRetry: (error, attempt) => this.options.emit({type: 'retry', service, action: 'sync', attempt, error: error.message}),
        })
        const parts = [result.copied > 0 ? `${result.copied} file${result.copied === 1 ? '' : 's'}` : '', result.removed > 0 ? `${result.removed} deleted` : ''].filter(Boolean)
        this.finish(service, 'sync', t, parts.join(', ') || 'nothing to copy')
      } catch (error) {
        this.fail(service, 'sync', t, error as Error)
        return
      }
    }
    // A crashed container gets the new files and is started again: the change may be the fix.
    const info = await this.engine.containers.inspect(containerId).catch(() => undefined)
    if (info && !info.State.Running && !plan.restart) {
      await this.doRestart(service)
      return
    }
    if (plan.restart) await this.doRestart(service)
    for (const exec of plan.exec) {
      const t = Date.now()
      this.begin(service, 'exec')
      try {
        await execArgv(this.engine, containerId, exec.command, exec)
        this.finish(service, 'exec', t, exec.command.join(' '))
      } catch (error) {
        this.fail(service, 'exec', t, error as Error)
      }
    }
  }

  private async doRestart(service: string): Promise<void> {
    const containerId = await this.containerOf(service)
    const t = Date.now()
    this.begin(service, 'restart')
    if (!containerId) {
      this.fail(service, 'restart', t, new Error('no container (start the stack with tta dev)'))
      return
    }
    this.expectedStops.add(containerId)
    try {
      await this.engine.containers.restart(containerId, {timeoutS: 10})
      this.finish(service, 'restart', t)
    } catch (error) {
      this.fail(service, 'restart', t, error as Error)
    } finally {
      // The die event may arrive just after restart() returns; a crash later on must still count.
      setTimeout(() => this.expectedStops.delete(containerId), 500).unref()
    }
  }

  /**
   * Builds the service's image; only when that succeeded is its container recreated (through the
   * same convergence `tta dev` uses, for this service alone). A failed build leaves the old one running.
   */
  private async doRebuild(service: string): Promise<void> {
    const definition = this.loaded.project.services[service] as Service
    const t = Date.now()
    this.begin(service, 'rebuild')
    if (!definition.build) {
      this.fail(service, 'rebuild', t, new Error('no build section: nothing to rebuild'))
      return
    }
    try {
      await buildImage(this.engine, {project: this.loaded.project.name, service: definition, onOutput: (line) => this.options.emit({type: 'build-output', service, line})})
    } catch (error) {
      this.fail(service, 'rebuild', t, new Error(`build failed, the running container is kept: ${(error as Error).message}`))
      return
    }
    const old = await this.containerOf(service)
    if (old) this.expectedStops.add(old)
    try {
      const result = await up(this.conn, this.loaded, {services: [service], timeoutMs: this.options.readyTimeoutMs ?? 300_000, emit: () => undefined, host: this.options.host})
      const outcome = result.outcomes.find((o) => o.service === service)
      this.finish(service, 'rebuild', t, outcome?.action === 'recreate' ? 'recreated' : outcome?.action === 'start' ? 'image unchanged, started' : 'image unchanged')
    } catch (error) {
      this.fail(service, 'rebuild', t, error as Error)
    } finally {
      // Removed (its die came while up() ran) or kept untouched: either way its next death is a crash.
      if (old) this.expectedStops.delete(old)
    }
    await this.refreshStates()
  }

  private begin(service: string, action: WatchAction): void {
    const status = this.status.get(service)
    if (status) status.busy = action
    this.options.emit({type: 'action', service, action, status: 'start'})
  }

  private finish(service: string, action: WatchAction, t: number, detail?: string): void {
    const elapsedMs = Date.now() - t
    const status = this.status.get(service)
    if (status) {
      status.busy = undefined
      status.last = {action, ok: true, elapsedMs, at: Date.now(), detail}
    }
    this.options.emit({type: 'action', service, action, status: 'done', elapsedMs, detail})
  }

  private fail(service: string, action: WatchAction, t: number, error: Error): void {
    const elapsedMs = Date.now() - t
    const status = this.status.get(service)
    if (status) {
      status.busy = undefined
      status.last = {action, ok: false, elapsedMs, at: Date.now(), detail: error.message}
    }
    this.options.emit({type: 'action', service, action, status: 'failed', elapsedMs, error: error.message})
  }

  /** The service's container id (a running one first). */
  private async containerOf(service: string): Promise<string | undefined> {
    const list = await this.engine.containers.list({all: true, filters: {label: [`${Label.project}=${this.loaded.project.name}`, `${Label.service}=${service}`, `${Label.oneoff}=False`]}})
    const running = list.find((c) => c.State === 'running') ?? list[0]
    return running?.Id
  }

  private async refreshStates(): Promise<void> {
    if (this.closed) return
    let list: ContainerSummary[]
    try {
      list = await this.engine.containers.list({all: true, filters: {label: [`${Label.project}=${this.loaded.project.name}`, `${Label.oneoff}=False`]}})
    } catch {
      return
    }
    for (const status of this.status.values()) {
      const found = list.filter((c) => c.Labels[Label.service] === status.service)
      const info = found.find((c) => c.State === 'running') ?? found[0]
      const state = info?.State ?? 'missing'
      const health = info?.Status.match(/\((healthy|unhealthy|health: starting)\)/)?.[1]
      if (state !== status.state || health !== status.health || info?.Id !== status.containerId) {
        status.state = state
        status.health = health
        status.containerId = info?.Id
        this.options.emit({type: 'state', service: status.service, state, health})
      }
    }
  }

  /** A container that dies on its own is reported with its log tail; watching goes on. */
  private async followDeaths(): Promise<void> {
    const stream = await this.engine.events.follow({type: ['container'], event: ['die'], label: [`${Label.project}=${this.loaded.project.name}`]})
    this.events = stream
    const lines = jsonLines<{id?: string; Actor?: {Attributes?: Record<string, string>}}>((event) => void this.onDie(event))
    stream.on('data', (chunk: Buffer) => lines.push(chunk))
    stream.on('error', () => undefined)
  }

  private async onDie(event: {id?: string; Actor?: {Attributes?: Record<string, string>}}): Promise<void> {
    const service = event.Actor?.Attributes?.[Label.service]
    if (!service || !this.status.has(service) || !event.id || this.expectedStops.has(event.id) || this.closed) return
    const info = await this.engine.containers.inspect(event.id).catch(() => undefined)
    // A clean exit or SIGTERM (tta stop, docker stop) is not a crash; SIGKILL (137) may be the OOM killer.
    const exitCode = Number(event.Actor?.Attributes?.exitCode ?? info?.State.ExitCode)
    if (exitCode === 0 || exitCode === 143) return
    const logs = await logTail(this.engine, event.id, 15, info?.Config.Tty ?? false)
    this.options.emit({type: 'crashed', service, exitCode: Number.isNaN(exitCode) ? undefined : exitCode, logs})
    await this.refreshStates()
  }
}
