import {setMaxListeners} from 'node:events'

import {applyRetention, backup} from '../backup/backup.js'
import {listBackups} from '../backup/list.js'
import type {BackupSettings} from '../backup/settings.js'
import {BackupStore} from '../backup/store.js'
import type {EngineApi} from '../docker/api.js'
import {jsonLines} from '../docker/json-lines.js'
import {Label} from '../engine/labels.js'
import {followLogs} from '../logs/follow.js'
import {listLogSources, readHistory, type LogSource} from '../logs/read.js'
import type {LogLine} from '../logs/decode.js'
import {collectStatus, type CollectOptions, type ListedContainer} from '../status/collect.js'
import type {StatusReport} from '../status/model.js'
import {reachFor} from '../status/reach.js'
import type {StatsSample} from '../status/stats.js'
import type {Workspace} from '../workspace/workspace.js'
import {apiBase, firingAlerts, graphPositions, isNewFailure, maskSecrets, modeOf, monitoringLinks, type Seen} from './derive.js'
import {ActionRefused, ServiceActions} from './actions.js'
import {DASHBOARD_SCHEMA_VERSION, type ActionEvent, type DashboardState, type Failure, type LogEntry, type MonitoringView, type ServiceAction} from './model.js'

export interface LiveOptions {
  api: EngineApi
  workspace: Workspace
  collect: CollectOptions
  backup: BackupSettings
  ttaVersion: string
  /** Show the stack's generated secrets in the page, and leave them unmasked in logs. */
  showSecrets: boolean
  /** name/value of the workspace's secrets: shown with showSecrets, masked in logs otherwise. */
  secrets: Array<{name: string; value: string}>
  /** Probe cadence while a page is open (engine events refresh at once in between). */
  intervalMs?: number
  /** Seconds `start`/`rebuild` wait for the service to be ready. */
  readyTimeoutMs?: number
}

export type LiveEvent = {type: 'state'; state: DashboardState} | {type: 'action'; event: ActionEvent}

interface EngineEventLine {
  Type?: string
  Action?: string
}

const ALERTS_EVERY_MS = 5_000
const BACKUPS_EVERY_MS = 10_000

/**
 * The dashboard's live model of the environment: the status (the same collection as `tta status`)
 * refreshed at once on every engine event of the project and every `intervalMs` while someone
 * listens, each service's graph position and last failure, Alertmanager's firing alerts, the
 * backups; and the actions the page may ask for, run through the CLI's own engine services.
 * Never prints: it hands states and action events to its listeners.
 */
export class LiveEnvironment {
  private readonly listeners = new Set<(event: LiveEvent) => void>()
  private readonly controller = new AbortController()
  private latest: DashboardState | undefined
  private firstState: Promise<DashboardState> | undefined
  private collecting: Promise<void> | undefined
  private again = false
  private timer: NodeJS.Timeout | undefined
  private dueAt = 0
  private previous: Map<string, StatsSample> | undefined
  private readonly seen = new Map<string, Seen>()
  private readonly failures = new Map<string, Failure>()
  private monitoring: MonitoringView = {links: {}, alerts: null, alertsError: null}
  private alertsAt = 0
  private backups: DashboardState['backups']
  private backupsAt = 0
  private labels: Array<{service: string; labels: Record<string, string>}> = []
  private readonly secretValues: string[]
  private readonly actions: ServiceActions

  constructor(private readonly options: LiveOptions) {
    setMaxListeners(0, this.controller.signal)
    this.backups = {dir: options.backup.dir, list: [], running: false, error: null}
    this.secretValues = options.showSecrets ? [] : options.secrets.map((s) => s.value)
    this.actions = new ServiceActions({
      project: this.project,
      workspace: options.workspace,
      readyTimeoutMs: options.readyTimeoutMs ?? 300_000,
      signal: this.controller.signal,
      hasContainer: (service) => Boolean(this.latest?.status.services.some((s) => s.service === service && s.container)),
      labelsOf: (service) => this.labels.find((l) => l.service === service)?.labels ?? {},
      emit: (event) => this.emit({type: 'action', event}),
      changed: () => this.poke(),
      forget: (service) => this.seen.delete(service),
    })
  }

  /** Runs restart, stop, start or rebuild on one service; resolves with what happened in words. */
  act(service: string, action: ServiceAction): Promise<string> {
    return this.actions.act(service, action)
  }

  get project(): string {
    return this.options.collect.project
  }

  /** Starts listening to the engine and collects the first state. */
  async start(): Promise<void> {
    this.options.collect.reach ??= await reachFor(this.options.api)
    void this.watchEngine()
    await this.current()
  }

  close(): void {
    this.controller.abort()
    this.unschedule()
    this.listeners.clear()
  }

  /** The latest state (collecting one first if there is none yet). */
  async current(): Promise<DashboardState> {
    if (this.latest) return this.latest
    this.firstState ??= this.refresh().then(() => this.latest as DashboardState)
    return this.firstState
  }

  subscribe(listener: (event: LiveEvent) => void): () => void {
    this.listeners.add(listener)
    if (this.listeners.size === 1) this.schedule(0)
    return () => {
      this.listeners.delete(listener)
      if (this.listeners.size === 0) this.unschedule()
    }
  }

  private emit(event: LiveEvent): void {
    for (const listener of this.listeners) listener(event)
  }

  /** Plans a round in `ms`, unless one is already planned sooner (an engine event's must not wait for the next tick). */
  private schedule(ms: number): void {
    if (this.controller.signal.aborted || this.listeners.size === 0) return
    const due = Date.now() + ms
    if (this.timer && due >= this.dueAt) return
    clearTimeout(this.timer)
    this.dueAt = due
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.poke()
    }, ms)
  }

  private unschedule(): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  /** A refresh nobody waits for: a failed round keeps the last state (the next tick or event tries again). */
  private poke(): void {
    this.refresh().catch(() => undefined)
  }

  /** One collection at a time; a request during one runs another right after it. */
  refresh(): Promise<void> {
    if (this.collecting) {
      this.again = true
      return this.collecting
    }
    this.collecting = (async () => {
      try {
        do {
          this.again = false
          await this.collectOnce()
        } while (this.again && !this.controller.signal.aborted)
      } finally {
        this.collecting = undefined
        this.schedule(this.options.intervalMs ?? 2_000)
      }
    })()
    return this.collecting
  }

  private async collectOnce(): Promise<void> {
    const {api} = this.options
    let report: StatusReport
    try {
      const collected = await collectStatus(api, {...this.options.collect, previous: this.previous})
      this.previous = collected.samples
      report = collected.report
    } catch (error) {
      // The engine went away: keep the last state, try again at the next tick or event.
      if (this.latest) return
      throw error
    }
    const listed = await api.json<ListedContainer[]>({path: '/containers/json', query: {all: 1, filters: {label: [`${Label.project}=${this.project}`, `${Label.oneoff}=False`]}}}).catch(() => [])
    this.labels = listed.map((c) => ({service: c.Labels[Label.service] ?? '', labels: c.Labels}))
    const failed = this.trackFailures(report)
    // Alertmanager's answer does not hold the round up: it is pushed when it comes.
    const alerts = this.refreshAlerts(report)
    await this.refreshBackups(false)
    this.latest = this.compose(report)
    this.emit({type: 'state', state: this.latest})
    void alerts.then((fetched) => {
      if (!fetched || !this.latest || this.controller.signal.aborted) return
      this.latest = this.compose(this.latest.status)
      this.emit({type: 'state', state: this.latest})
    })
    if (failed.length > 0) {
      await Promise.all(failed.map((name) => this.attachLogTail(name)))
      this.latest = this.compose(report)
      this.emit({type: 'state', state: this.latest})
      // A stopping service is seen before its last words (shutdown messages): read the tail again shortly.
      const later = setTimeout(() => {
        void Promise.all(failed.map((name) => this.attachLogTail(name))).then(() => {
          if (!this.latest || this.controller.signal.aborted) return
          this.latest = this.compose(this.latest.status)
          this.emit({type: 'state', state: this.latest})
        })
      }, 1_000)
      later.unref()
    }
  }

  private compose(report: StatusReport): DashboardState {
    const graph = graphPositions(this.labels)
    const {mode, hotReload} = modeOf(this.labels.map((l) => l.labels))
    const services: DashboardState['services'] = {}
    for (const s of report.services) {
      services[s.service] = {
        graph: graph[s.service] ?? {level: 0, dependsOn: [], dependents: []},
        buildable: this.actions.buildable(s.service),
        lastFailure: this.failures.get(s.service) ?? null,
        busy: this.actions.busyWith(s.service) ?? null,
      }
    }
    return {
      schemaVersion: DASHBOARD_SCHEMA_VERSION,
      project: this.project,
      mode,
      hotReload,
      status: report,
      services,
      monitoring: this.monitoring,
      backups: this.backups,
      secrets: this.options.showSecrets ? this.options.secrets : null,
    }
  }

  /** Services that just failed (recorded now, log tail to follow). */
  private trackFailures(report: StatusReport): string[] {
    const failed: string[] = []
    for (const s of report.services) {
      const before = this.seen.get(s.service)
      this.seen.set(s.service, {status: s.status, restarts: s.restarts, startedAt: s.startedAt})
      // What the page itself stopped or restarted is not a failure, nor a service a backup stops for its dump.
      if (this.actions.busyWith(s.service) || this.backups.running) continue
      if (!isNewFailure(before, s)) continue
      this.failures.set(s.service, {at: new Date().toISOString(), status: s.status, reason: s.reason, exitCode: s.exitCode, restarts: s.restarts, logs: []})
      failed.push(s.service)
    }
    return failed
  }

  private async attachLogTail(service: string): Promise<void> {
    const failure = this.failures.get(service)
    if (!failure) return
    const lines = await this.logs(service, 20).catch(() => [])
    // Only the lines up to a little after the failure: a later re-read must not show the next run's.
    const until = new Date(Date.parse(failure.at) + 2_000).toISOString()
    failure.logs = lines.filter((l) => l.time <= until).map((l) => l.message)
  }

  /** Reads the firing alerts every ALERTS_EVERY_MS at most; true when it asked Alertmanager. Never rejects. */
  private async refreshAlerts(report: StatusReport): Promise<boolean> {
    const links = monitoringLinks(report)
    const alertmanager = links.alertmanager
    if (!alertmanager) {
      this.monitoring = {links, alerts: null, alertsError: null}
      return false
    }
    const fresh = this.monitoring.links.alertmanager === alertmanager
    this.monitoring = {...this.monitoring, links}
    if (Date.now() - this.alertsAt < ALERTS_EVERY_MS && fresh) return false
    this.alertsAt = Date.now()
    try {
      const base = apiBase(report.services.find((x) => x.service === 'alertmanager'), alertmanager)
      const response = await fetch(`${base}/api/v2/alerts?active=true&silenced=false&inhibited=false`, {signal: AbortSignal.timeout(2_000)})
      if (!response.ok) throw new Error(`Alertmanager answered HTTP ${response.status}`)
      this.monitoring = {links, alerts: firingAlerts(await response.json()), alertsError: null}
    } catch (error) {
      this.monitoring = {links, alerts: null, alertsError: (error as Error).message}
    }
    return true
  }

  private async refreshBackups(force: boolean): Promise<void> {
    if (!force && Date.now() - this.backupsAt < BACKUPS_EVERY_MS) return
    this.backupsAt = Date.now()
    try {
      this.backups = {...this.backups, list: listBackups(new BackupStore(this.options.backup.dir, {workspaceRoot: this.options.workspace.root}), this.project), error: this.backups.running ? null : this.backups.error}
    } catch (error) {
      this.backups = {...this.backups, list: [], error: (error as Error).message}
    }
  }

  /** Refreshes at once on every container event of the project; reconnects (every 2 s) if the stream ends. */
  private async watchEngine(): Promise<void> {
    const {signal} = this.controller
    while (!signal.aborted) {
      try {
        const events = await this.options.api.stream({
          path: '/events',
          query: {filters: {type: ['container'], label: [`${Label.project}=${this.project}`]}},
          signal,
        })
        const lines = jsonLines<EngineEventLine>((event) => {
          // exec_* events are the healthchecks and probes themselves: no news.
          if (event.Type === 'container' && !event.Action?.startsWith('exec_')) this.schedule(20)
        })
        for await (const chunk of events) lines.push(chunk as Buffer)
      } catch {
        // The engine closed the stream or went away: try again below.
      }
      if (signal.aborted) return
      await new Promise((resolve) => setTimeout(resolve, 2_000))
    }
  }

  private entry(line: LogLine, source: LogSource): LogEntry {
    return {time: line.ts, service: source.service, container: source.name, stream: line.stream, message: this.secretValues.length > 0 ? maskSecrets(line.text, this.secretValues) : line.text}
  }

  /** The last `tail` lines of a service (all services when empty), merged in time order. */
  async logs(service: string, tail: number, keep: (text: string) => boolean = () => true): Promise<LogEntry[]> {
    const {sources} = await listLogSources(this.options.api, this.project, service ? [service] : [])
    const {lines} = await readHistory(this.options.api, sources, {tail}, keep)
    return lines.map((l) => this.entry(l, l.source))
  }

  /** Follows a service's logs (all when empty) from its last `tail` lines until `signal` aborts. */
  async follow(service: string, tail: number, signal: AbortSignal, onLine: (entry: LogEntry) => void): Promise<void> {
    await followLogs(this.options.api, {
      project: this.project,
      services: service ? [service] : [],
      query: {tail},
      keep: () => true,
      signal,
      onSource: () => undefined,
      onLine: (line, source) => onLine(this.entry(line, source)),
    }).catch((error: Error) => {
      if (!signal.aborted) throw error
    })
  }

  /** `tta backup` from the page: every stateful service that runs, then retention. */
  async backupNow(): Promise<string> {
    if (this.backups.running) throw new ActionRefused(409, 'a backup is already under way')
    const id = this.actions.nextId()
    this.backups = {...this.backups, running: true, error: null}
    this.actions.report('backup', 'backup', 'start', 'backing up', id)
    this.poke()
    try {
      const conn = await this.actions.connection()
      const store = new BackupStore(this.options.backup.dir, {workspaceRoot: this.options.workspace.root})
      const result = await backup({
        conn,
        project: this.project,
        store,
        reason: 'manual',
        ttaVersion: this.options.ttaVersion,
        readyTimeoutMs: this.options.readyTimeoutMs ?? 300_000,
        signal: this.controller.signal,
        emit: (e) => {
          if (e.type === 'service' && e.phase !== 'start') this.actions.report('backup', 'backup', 'progress', `${e.service} ${e.phase}${e.detail ? `: ${e.detail}` : ''}`, id)
        },
      })
      const {manifest} = result
      if (manifest.complete) applyRetention(store, this.project, this.options.backup.policy)
      const message = manifest.complete ? `backup ${manifest.id} complete` : `backup ${manifest.id} is partial: ${manifest.failed.map((f) => `${f.service}: ${f.error}`).join('; ')}`
      this.backups = {...this.backups, running: false, error: manifest.complete ? null : message}
      this.actions.report('backup', 'backup', manifest.complete ? 'done' : 'failed', message, id)
      return message
    } catch (error) {
      const message = (error as Error).message
      this.backups = {...this.backups, running: false, error: message}
      this.actions.report('backup', 'backup', 'failed', message, id)
      throw error
    } finally {
      await this.refreshBackups(true)
      this.poke()
    }
  }
}
