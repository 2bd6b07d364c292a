import type {EngineApi} from '../docker/api.js'
import {Label} from '../engine/labels.js'
import {tsToUnix, type LogLine} from './decode.js'
import {listLogSources, readHistory, sourceFrom, streamLogs, type LogQuery, type LogSource} from './read.js'

export interface FollowOptions {
  project: string
  /** Only these services; all when empty. */
  services: string[]
  query: LogQuery
  keep: (text: string) => boolean
  signal: AbortSignal
  /** A container whose lines may follow: known at the start, or one that appeared later. */
  onSource: (source: LogSource) => void
  onLine: (line: LogLine, source: LogSource) => void
  /** Something worth a dim note: a container (re)attached after a start. */
  onNote?: (text: string, source: LogSource) => void
}

interface Followed {
  source: LogSource
  attached: boolean
  /** A start event arrived while the previous stream had not ended yet: attach again when it does. */
  again: boolean
  last?: {ts: string; texts: Set<string>}
}

interface EngineEvent {
  Type?: string
  Action?: string
  Actor?: {ID?: string; Attributes?: Record<string, string>}
}

/**
 * `tta logs -f`: the history of every selected container merged in time order, then their lines
 * as they come. Subscribes to the engine's start events before listing, so a container that
 * restarts, or appears (a new service, a recreated container) after the start, is followed
 * too, picking up exactly after the last line already shown. Ends when `signal` aborts.
 */
export async function followLogs(api: EngineApi, options: FollowOptions): Promise<void> {
  const {signal} = options
  const events = await api.stream({
    path: '/events',
    // With --until the event stream ends then too, and so does the follow.
    query: {until: options.query.until, filters: {type: ['container'], event: ['start'], label: [`${Label.project}=${options.project}`, `${Label.oneoff}=False`]}},
    signal,
  })
  const {sources} = await listLogSources(api, options.project, options.services)
  for (const source of sources) options.onSource(source)
  const history = await readHistory(api, sources, options.query, options.keep)
  for (const line of history.lines) options.onLine(line, line.source)

  const followed = new Map<string, Followed>()
  const failures: Error[] = []
  const active = new Set<Promise<void>>()
  const attach = (entry: Followed): void => {
    entry.attached = true
    // Pick up at the newest timestamp shown. `since` is inclusive, so the lines shown at exactly
    // that timestamp come again: skip those, once each.
    const boundary = entry.last ? {ts: entry.last.ts, texts: new Set(entry.last.texts)} : undefined
    const since = boundary ? tsToUnix(boundary.ts) : options.query.since
    const done: Promise<void> = streamLogs(api, entry.source, {follow: true, since, until: options.query.until}, (ts, stream, text) => {
      if (boundary && ts === boundary.ts && boundary.texts.delete(text)) return
      const last = entry.last
      if (!last || ts > last.ts) entry.last = {ts, texts: new Set([text])}
      else if (ts === last.ts) last.texts.add(text)
      if (options.keep(text)) options.onLine({ts, stream, text}, entry.source)
    }, signal)
      .catch((error: Error & {statusCode?: number}) => {
        // A container removed under us (404) just stops; anything else ends the follow.
        if (!signal.aborted && error.statusCode !== 404) {
          failures.push(error)
          events.destroy(error)
        }
      })
      .finally(() => {
        active.delete(done)
        entry.attached = false
        if (entry.again && !signal.aborted) {
          entry.again = false
          attach(entry)
        }
      })
    active.add(done)
  }
  for (const source of sources) {
    const entry: Followed = {source, attached: false, again: false, last: history.last.get(source.id)}
    followed.set(source.id, entry)
    if (source.running) attach(entry)
  }

  const onEvent = (event: EngineEvent): void => {
    const id = event.Actor?.ID
    if (event.Type !== 'container' || event.Action !== 'start' || !id) return
    let entry = followed.get(id)
    if (!entry) {
      const attributes = event.Actor?.Attributes ?? {}
      const source = sourceFrom(id, attributes.name ?? id.slice(0, 12), attributes, true)
      if (options.services.length > 0 && !options.services.includes(source.service)) return
      entry = {source, attached: false, again: false}
      followed.set(id, entry)
      options.onSource(source)
      options.onNote?.(`${source.name} appeared, following it`, source)
    } else {
      options.onNote?.(`${entry.source.name} started again, following it`, entry.source)
    }
    if (entry.attached) entry.again = true
    else attach(entry)
  }

  let buffered = ''
  try {
    for await (const chunk of events) {
      buffered += (chunk as Buffer).toString('utf8')
      let nl = buffered.indexOf('\n')
      while (nl >= 0) {
        const text = buffered.slice(0, nl).trim()
        buffered = buffered.slice(nl + 1)
        if (text) {
          try {
            onEvent(JSON.parse(text) as EngineEvent)
          } catch {
            // A line that is not an event: nothing to follow.
          }
        }
        nl = buffered.indexOf('\n')
      }
    }
  } catch (error) {
    if (!signal.aborted) throw failures[0] ?? error
  }
  if (signal.aborted) return
  if (failures.length > 0) throw failures[0]
  if (options.query.until === undefined) throw new Error('the engine closed its event stream')
  // --until reached: let the streams deliver their last lines (they end at the same moment).
  while (active.size > 0) await Promise.all([...active])
}
