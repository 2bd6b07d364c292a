import {constants} from 'node:fs'
import {access, open, readFile} from 'node:fs/promises'

import type {EngineApi} from '../docker/api.js'
import {portsAreLocal} from '../engine/ports.js'
import {normalizeTs, type LogLine} from './decode.js'
import type {LogQuery} from './read.js'

/**
 * Reading a container's history straight from the json-file log driver's file, the way log
 * shippers (promtail, fluentd) do: the engine decodes that same file and re-frames every line,
 * which costs it about five times more than parsing it here. Only for a local engine, the
 * json-file driver, and a file this process may read (root); anything else goes through the
 * Engine API. TTA_LOGS_FROM_ENGINE=1 always uses the API.
 */
export async function localLogFile(api: EngineApi, containerId: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (env.TTA_LOGS_FROM_ENGINE || !portsAreLocal(api.endpoint, env)) return undefined
  try {
    const info = await api.json<{LogPath?: string; HostConfig?: {LogConfig?: {Type?: string; Config?: Record<string, string>}}}>({path: `/containers/${containerId}/json`})
    const config = info.HostConfig?.LogConfig
    // With rotation (max-file > 1) older lines are in other, maybe compressed, files: the engine reads those.
    if (config?.Type !== 'json-file' || !info.LogPath || Number(config.Config?.['max-file'] ?? 1) > 1) return undefined
    await access(info.LogPath, constants.R_OK)
    return info.LogPath
  } catch {
    return undefined
  }
}

/** `1795300986.260953289` (the engine's since/until form) as a sortable RFC 3339 timestamp. */
export function unixToTs(unix: string): string {
  const [seconds = '0', fraction = ''] = unix.split('.')
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${fraction.padEnd(9, '0').slice(0, 9)}Z`
}

/** The last `count` complete lines of a file, reading backwards in blocks (a tail of a big log stays cheap). */
async function tailText(path: string, count: number): Promise<string> {
  const handle = await open(path, 'r')
  try {
    const {size} = await handle.stat()
    const block = 1 << 16
    let position = size
    const chunks: Buffer[] = []
    let newlines = 0
    while (position > 0 && newlines <= count) {
      const length = Math.min(block, position)
      position -= length
      const buffer = Buffer.alloc(length)
      await handle.read(buffer, 0, length, position)
      chunks.unshift(buffer)
      for (let i = 0; i < length; i++) if (buffer[i] === 0x0a) newlines++
    }
    const text = Buffer.concat(chunks).toString('utf8')
    // Drop a last line still being written, and everything before the wanted lines.
    const complete = text.slice(0, text.lastIndexOf('\n') + 1)
    let start = complete.length
    for (let i = 0; i < count && start > 0; i++) start = complete.lastIndexOf('\n', start - 2) + 1
    return complete.slice(start)
  } finally {
    await handle.close()
  }
}

interface Entry {
  log?: string
  stream?: string
  time?: string
}

/**
 * The json-file log of one container as lines: `{"log":"text\n","stream":"stdout","time":"…"}`
 * per entry. An entry without a final newline is the first part of a long message; the parts are
 * joined, keeping the first part's time. `tail`, then `since`/`until`, as the engine applies them.
 */
export async function readLocalLog(path: string, query: LogQuery, onLine: (line: LogLine) => void): Promise<void> {
  const text = query.tail !== undefined ? await tailText(path, query.tail) : await readFile(path, 'utf8')
  const since = query.since ? unixToTs(query.since) : undefined
  const until = query.until ? unixToTs(query.until) : undefined
  const partial: {stdout?: {ts: string; text: string}; stderr?: {ts: string; text: string}} = {}
  let start = 0
  for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
    const raw = text.slice(start, nl)
    start = nl + 1
    let entry: Entry
    try {
      entry = JSON.parse(raw) as Entry
    } catch {
      continue
    }
    if (entry.time === undefined || entry.log === undefined) continue
    const ts = normalizeTs(entry.time)
    if ((since && ts < since) || (until && ts > until)) continue
    const stream = entry.stream === 'stderr' ? 'stderr' : 'stdout'
    let log = entry.log
    const started = partial[stream]
    if (!log.endsWith('\n')) {
      partial[stream] = started ? {ts: started.ts, text: started.text + log} : {ts, text: log}
      continue
    }
    log = log.slice(0, log.endsWith('\r\n') ? -2 : -1)
    if (started) {
      partial[stream] = undefined
      onLine({ts: started.ts, stream, text: started.text + log})
    } else onLine({ts, stream, text: log})
  }
  for (const stream of ['stdout', 'stderr'] as const) {
    const rest = partial[stream]
    if (rest) onLine({ts: rest.ts, stream, text: rest.text})
  }
}
