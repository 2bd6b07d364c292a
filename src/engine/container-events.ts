import type {Readable} from 'node:stream'

import {jsonLines} from '../docker/json-lines.js'
import type {EnginePort} from '../docker/port.js'
import {Label} from './labels.js'

/** One engine event about a container, as readiness needs it. */
export interface ContainerEvent {
  id: string
  /** die, start, restart, oom, kill, health_status: healthy|unhealthy|starting, ... */
  action: string
  exitCode?: number
  /** exec_start / exec_die: which exec (the engine's healthcheck runs are execs too). */
  execId?: string
}

type Listener = (event: ContainerEvent) => void

/**
 * The engine's event stream for one compose project's containers, followed once per command so
 * readiness learns of a healthy verdict, an exit or a restart the moment the engine has it, instead
 * of polling inspect. Events are kept per container, so a waiter that subscribes after its
 * container started still sees what happened before.
 */
export class ContainerEvents {
  private readonly seen = new Map<string, ContainerEvent[]>()
  private readonly listeners = new Map<string, Set<Listener>>()
  private stream?: Readable
  private readonly lines = jsonLines<RawEvent>((raw) => this.dispatch(eventFrom(raw)))
  /** False when the engine gave no event stream: waiters then rely on their slower inspect. */
  following = false

  /** Follows `project`'s container events from now on; never throws (a failed follow just means no events). */
  static async follow(engine: Pick<EnginePort, 'events'>, project: string): Promise<ContainerEvents> {
    const events = new ContainerEvents()
    try {
      const stream = await engine.events.follow({type: ['container'], label: [`${Label.project}=${project}`]})
      events.stream = stream
      events.following = true
      stream.on('data', (chunk: Buffer) => events.feed(chunk.toString('utf8')))
      stream.on('error', () => {
        events.following = false
      })
      stream.on('close', () => {
        events.following = false
      })
    } catch {
      events.following = false
    }
    return events
  }

  /** Newline-delimited JSON from the engine; a message may arrive in pieces. */
  feed(text: string): void {
    this.lines.push(text)
  }

  private dispatch(event: ContainerEvent | undefined): void {
    if (!event) return
    const list = this.seen.get(event.id) ?? []
    list.push(event)
    this.seen.set(event.id, list)
    for (const listener of this.listeners.get(event.id) ?? []) listener(event)
  }

  /** Calls `listener` for every event of container `id`, past ones first; returns the unsubscribe. */
  on(id: string, listener: Listener): () => void {
    for (const event of this.seen.get(id) ?? []) listener(event)
    const set = this.listeners.get(id) ?? new Set<Listener>()
    set.add(listener)
    this.listeners.set(id, set)
    return () => set.delete(listener)
  }

  close(): void {
    this.following = false
    this.stream?.removeAllListeners('data')
    this.stream?.on('error', () => undefined)
    this.stream?.destroy()
    this.stream = undefined
  }
}

interface RawEvent {
  Type?: string
  Action?: string
  status?: string
  id?: string
  Actor?: {ID?: string; Attributes?: Record<string, string>}
}

/** An engine event (the API's JSON message) as a ContainerEvent; undefined for anything else. */
function eventFrom(raw: RawEvent): ContainerEvent | undefined {
  if (raw.Type !== undefined && raw.Type !== 'container') return undefined
  const id = raw.Actor?.ID ?? raw.id
  const action = raw.Action ?? raw.status
  if (!id || !action) return undefined
  const code = raw.Actor?.Attributes?.exitCode
  const execId = raw.Actor?.Attributes?.execID
  return {id, action, exitCode: code === undefined ? undefined : Number(code), ...(execId ? {execId} : {})}
}

/** One event line as a ContainerEvent; undefined for anything else. */
export function parseEvent(line: string): ContainerEvent | undefined {
  try {
    return eventFrom(JSON.parse(line) as RawEvent)
  } catch {
    return undefined
  }
}
