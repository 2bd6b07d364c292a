// The dashboard's actions on one service (restart, stop, start, rebuild): run through the CLI's own
// engine services, one at a time per service, reported as action events.
import type {LoadedProject} from '../compose/model.js'
import {connectEngine, type EngineConnection} from '../docker/client.js'
import {Label} from '../engine/labels.js'
import {prepareUpProject} from '../engine/prepare.js'
import {restart, stop} from '../engine/stop.js'
import {up, UpFailedError} from '../engine/up.js'
import {loadWorkspaceProject} from '../workspace/project.js'
import type {Workspace} from '../workspace/workspace.js'
import type {ActionEvent, ServiceAction} from './model.js'

/** An action refused before it ran (unknown service, one already running): the server answers 4xx. */
export class ActionRefused extends Error {
  constructor(
    readonly statusCode: 400 | 404 | 409,
    message: string,
  ) {
    super(message)
    this.name = 'ActionRefused'
  }
}

/** What the actions need of the live model they belong to. */
export interface ActionHost {
  readonly project: string
  readonly workspace: Workspace
  readonly readyTimeoutMs: number
  /** Aborted when the dashboard closes. */
  readonly signal: AbortSignal
  /** Whether the latest state has a container of the service. */
  hasContainer(service: string): boolean
  /** The labels of the service's container, from the latest listing. */
  labelsOf(service: string): Record<string, string>
  emit(event: ActionEvent): void
  /** An action started or ended: collect a new state soon. */
  changed(): void
  /** The action's own stop or restart is not a failure: start watching the service afresh. */
  forget(service: string): void
}

export class ServiceActions {
  private readonly busy = new Map<string, ServiceAction>()
  private readonly loadedByFiles = new Map<string, LoadedProject | Error>()
  private conn: Promise<EngineConnection> | undefined
  private counter = 0

  constructor(private readonly host: ActionHost) {}

  /** The action under way on the service, if any. */
  busyWith(service: string): ServiceAction | undefined {
    return this.busy.get(service)
  }

  /** A new action id (backups count among the actions). */
  nextId(): number {
    return ++this.counter
  }

  connection(): Promise<EngineConnection> {
    if (!this.conn) {
      this.conn = connectEngine()
      this.conn.catch(() => (this.conn = undefined))
    }
    return this.conn
  }

  /** The compose files the service's container was made from (its config-files label). */
  private filesOf(service: string): string[] {
    return (this.host.labelsOf(service)[Label.configFiles] ?? '').split(',').filter(Boolean)
  }

  private load(files: string[]): LoadedProject | Error {
    const key = files.join(',')
    let loaded = this.loadedByFiles.get(key)
    if (!loaded) {
      try {
        loaded = loadWorkspaceProject({workspace: this.host.workspace, cwd: this.host.workspace.root, files, projectName: this.host.project})
      } catch (error) {
        loaded = error as Error
      }
      this.loadedByFiles.set(key, loaded)
    }
    return loaded
  }

  buildable(service: string): boolean {
    const files = this.filesOf(service)
    if (files.length === 0) return false
    const loaded = this.load(files)
    return !(loaded instanceof Error) && Boolean(loaded.project.services[service]?.build)
  }

  report(target: string, action: ActionEvent['action'], phase: ActionEvent['phase'], message: string, id: number): void {
    this.host.emit({id, target, action, phase, message, at: new Date().toISOString()})
  }

  /** Runs restart, stop, start or rebuild on one service; resolves with what happened in words. */
  async act(service: string, action: ServiceAction): Promise<string> {
    if (!this.host.hasContainer(service)) throw new ActionRefused(404, `no container of service "${service}" in project ${this.host.project}`)
    const running = this.busy.get(service)
    if (running) throw new ActionRefused(409, `${service}: ${running} is already under way`)
    if (action === 'rebuild' && !this.buildable(service)) throw new ActionRefused(400, `${service} has no build section: nothing to rebuild (restart it instead)`)
    const id = this.nextId()
    this.busy.set(service, action)
    this.report(service, action, 'start', `${action} ${service}`, id)
    this.host.changed()
    try {
      const message = await this.perform(service, action, id)
      this.report(service, action, 'done', message, id)
      return message
    } catch (error) {
      const message = describeActionError(error as Error)
      this.report(service, action, 'failed', message, id)
      throw new Error(message)
    } finally {
      this.busy.delete(service)
      this.host.forget(service)
      this.host.changed()
    }
  }

  private async perform(service: string, action: ServiceAction, id: number): Promise<string> {
    const conn = await this.connection()
    const t0 = Date.now()
    const took = (): string => `${((Date.now() - t0) / 1000).toFixed(1)} s`
    if (action === 'restart') {
      const done = await restart(conn, this.host.project, [service], (e) => this.report(service, action, 'progress', `${e.container} ${e.status}`, id))
      return `restarted ${done.map((c) => c.name).join(', ')} in ${took()}`
    }
    if (action === 'stop') {
      const done = await stop(conn, this.host.project, [service], (e) => this.report(service, action, 'progress', `${e.container} ${e.status}`, id))
      return `stopped ${done.map((c) => c.name).join(', ')} in ${took()}`
    }
    const files = this.filesOf(service)
    const {loaded, host} = await prepareUpProject(Promise.resolve(conn), {workspace: this.host.workspace, cwd: this.host.workspace.root, files, projectName: this.host.project})
    await up(conn, loaded, {
      services: [service],
      build: action === 'rebuild',
      timeoutMs: this.host.readyTimeoutMs,
      signal: this.host.signal,
      host,
      emit: (event) => {
        if (event.type === 'service' && (event.phase === 'ready' || event.phase === 'starting' || event.phase === 'recreating' || event.phase === 'failed')) this.report(service, action, 'progress', `${event.service} ${event.phase}${event.detail ? `: ${event.detail}` : ''}`, id)
        if (event.type === 'image') this.report(service, action, 'progress', `${event.service}: ${event.phase} ${event.status}${event.error ? `: ${event.error}` : ''}`, id)
      },
    })
    return `${service} ${action === 'rebuild' ? 'rebuilt and' : ''} ready in ${took()}`.replace('  ', ' ')
  }
}

function describeActionError(error: Error): string {
  if (error instanceof UpFailedError) {
    return [error.message, ...error.failures.map((f) => `${f.service}: ${f.reason}${f.logs.length > 0 ? `\n  ${f.logs.slice(-10).join('\n  ')}` : ''}`)].join('\n')
  }
  return error.message
}

