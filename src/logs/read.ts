import {EngineApiError, type EngineApi} from '../docker/api.js'
import {Label} from '../engine/labels.js'
import {LogDecoder, type LogLine, type OnLine} from './decode.js'

/** A container whose logs are read, and how its lines are labelled. */
export interface LogSource {
  id: string
  service: string
  name: string
  number: number
  running: boolean
  /** The prefix: the service name, with `-N` when it has several containers. */
  label: string
}

/** Engine parameters of one read: per-container tail, and since/until as Unix seconds. */
export interface LogQuery {
  tail?: number
  since?: string
  until?: string
}

export interface SourcedLine extends LogLine {
  source: LogSource
}

interface ListedContainer {
  Id: string
  Names: string[]
  Labels: Record<string, string>
  State: string
}

export function sourceFrom(id: string, name: string, labels: Record<string, string>, running: boolean): LogSource {
  const service = labels[Label.service] ?? name
  const number = Number(labels[Label.containerNumber] ?? 1)
  return {id, service, name: name.replace(/^\//, ''), number, running, label: number > 1 ? `${service}-${number}` : service}
}

/** The project's containers (Compose's labels; one-off `run` containers left out), optionally some services only. */
export async function listLogSources(api: EngineApi, project: string, services: string[] = []): Promise<{sources: LogSource[]; missing: string[]}> {
  const listed = await api.json<ListedContainer[]>({
    path: '/containers/json',
    query: {all: 1, filters: {label: [`${Label.project}=${project}`, `${Label.oneoff}=False`]}},
  })
  const sources = listed
    .map((c) => sourceFrom(c.Id, c.Names[0] ?? c.Id.slice(0, 12), c.Labels, c.State === 'running' || c.State === 'restarting'))
    .filter((s) => services.length === 0 || services.includes(s.service))
    .sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : a.number - b.number))
  const counts = new Map<string, number>()
  for (const s of sources) counts.set(s.service, (counts.get(s.service) ?? 0) + 1)
  for (const s of sources) if ((counts.get(s.service) ?? 0) > 1) s.label = `${s.service}-${s.number}`
  return {sources, missing: services.filter((name) => !sources.some((s) => s.service === name))}
}

/** Streams one container's logs (timestamps on, both streams) into `onLine`, until the body ends. */
export async function streamLogs(api: EngineApi, source: LogSource, query: LogQuery & {follow?: boolean}, onLine: OnLine, signal?: AbortSignal): Promise<void> {
  const body = await api.stream({
    path: `/containers/${source.id}/logs`,
    query: {stdout: 1, stderr: 1, timestamps: 1, follow: query.follow ? 1 : undefined, tail: query.tail ?? 'all', since: query.since, until: query.until},
    signal,
    timeoutMs: 30_000,
  })
  const decoder = new LogDecoder(onLine)
  try {
    for await (const chunk of body) decoder.push(chunk as Buffer)
  } catch (error) {
    // Stopping on purpose (Ctrl-C) is not an error; the lines read so far still count.
    if (!signal?.aborted) throw error
  }
  decoder.end()
}

/** A container removed since it was listed has nothing left to show: not an error. */
export function ignoreGone(error: Error): void {
  if (!(error instanceof EngineApiError && error.statusCode === 404)) throw error
}

export interface History {
  /** Every kept line of every source, in timestamp order (file order on ties). */
  lines: SourcedLine[]
  /** The newest timestamp read per container (kept or not) and the lines at it: where following picks up. */
  last: Map<string, {ts: string; texts: Set<string>}>
}

const byTime = (a: SourcedLine, b: SourcedLine): number => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0)

/**
 * The logs of several containers, read in parallel and merged in timestamp order. Each source is
 * (nearly) in order already, so the stable sort mostly interleaves runs, which is cheap.
 */
export async function readHistory(api: EngineApi, sources: LogSource[], query: LogQuery, keep: (text: string) => boolean = () => true): Promise<History> {
  const last = new Map<string, {ts: string; texts: Set<string>}>()
  const perSource = await Promise.all(
    sources.map(async (source) => {
      const lines: SourcedLine[] = []
      let lastTs = ''
      // The lines at the newest timestamp; one array reused, not a set per line.
      const atLast: string[] = []
      await streamLogs(api, source, query, (ts, stream, text) => {
        // The newest timestamp, not the last line: stdout and stderr reach the log file through
        // separate copiers, so file order can step back in time by a little.
        if (ts > lastTs) {
          lastTs = ts
          atLast.length = 0
        }
        if (ts === lastTs) atLast.push(text)
        if (keep(text)) lines.push({ts, stream, text, source})
      }).catch(ignoreGone)
      if (lastTs) last.set(source.id, {ts: lastTs, texts: new Set(atLast)})
      return lines
    }),
  )
  const lines = perSource.flat().sort(byTime)
  return {lines, last}
}
