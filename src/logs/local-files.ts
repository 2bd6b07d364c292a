import {constants} from 'node:fs'
import {access, open, readFile} from 'node:fs/promises'

import type {EngineApi} from '../docker/api.js'
import {normalizeTs, type OnLine} from './decode.js'
import type {LogQuery} from './read.js'

/**
 * Reading a container's history straight from the json-file log driver's file, the way log
 * shippers (promtail, fluentd) do: the engine decodes that same file and re-frames every line,
 * which costs it more than parsing it here. An explicit opt-in (TTA_LOGS_FROM_FILE=1): it depends
 * on the engine's internals and works only as root, for an engine on a unix socket, the json-file
 * driver without rotation. By default, and for anything else, logs come through the Engine API.
 */
export async function localLogFile(api: EngineApi, containerId: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  // A file at the engine's LogPath that we can read is that container's log: container ids are
  // unique, so a devcontainer using the host's engine simply finds no such file.
  if (env.TTA_LOGS_FROM_FILE !== '1' || !api.endpoint.host.startsWith('unix:')) return undefined
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

/** One entry: its text without the final newline, and whether it had one (else it is the first part of a long message). */
export interface Entry {
  text: string
  complete: boolean
  stream: 'stdout' | 'stderr'
  time: string
}

const HEAD = '{"log":"'
const TIME = '","time":"'
const STREAM = '","stream":"stdout'

/**
 * The entry on text[start, end) into `out`; false when there is none. The driver writes
 * `{"log":"…","stream":"…","time":"…"}` (with `"attrs"` when log labels are set); that layout
 * is read in place, without building objects (100k lines make that count), and the text is
 * unescaped only when it has more escaped than its final newline. Anything else goes through
 * JSON.parse; a line still being written (not JSON yet) is skipped.
 */
export function parseEntry(text: string, start: number, end: number, out: Entry): boolean {
  const time = text.lastIndexOf(TIME, end)
  const streamAt = time - STREAM.length
  if (time > start && text.startsWith(HEAD, start) && text.charCodeAt(end - 1) === 125 /* } */ && text.startsWith('","stream":"std', streamAt)) {
    const stream = text.startsWith('out', time - 3) ? 'stdout' : text.startsWith('err', time - 3) ? 'stderr' : undefined
    if (stream) {
      out.stream = stream
      out.time = text.slice(time + TIME.length, end - 2)
      const from = start + HEAD.length
      const firstEscape = text.indexOf('\\', from)
      if (firstEscape < 0 || firstEscape >= streamAt) {
        out.text = text.slice(from, streamAt)
        out.complete = false
      } else if (firstEscape === streamAt - 2 && text.charCodeAt(streamAt - 1) === 110 /* n */) {
        out.text = text.slice(from, streamAt - 2)
        out.complete = true
      } else {
        setLog(out, JSON.parse(`"${text.slice(from, streamAt)}"`) as string)
      }
      return true
    }
  }
  try {
    const parsed = JSON.parse(text.slice(start, end)) as {log?: string; stream?: string; time?: string}
    if (typeof parsed.log !== 'string' || typeof parsed.time !== 'string') return false
    out.stream = parsed.stream === 'stderr' ? 'stderr' : 'stdout'
    out.time = parsed.time
    setLog(out, parsed.log)
    return true
  } catch {
    return false
  }
}

function setLog(out: Entry, log: string): void {
  out.complete = log.endsWith('\n')
  out.text = out.complete ? log.slice(0, -1) : log
}

/**
 * The json-file log of one container as lines: `{"log":"text\n","stream":"stdout","time":"…"}`
 * per entry. An entry without a final newline is the first part of a long message; the parts are
 * joined, keeping the first part's time. `tail`, then `since`/`until`, as the engine applies them.
 */
export async function readLocalLog(path: string, query: LogQuery, onLine: OnLine): Promise<void> {
  const text = query.tail !== undefined ? await tailText(path, query.tail) : await readFile(path, 'utf8')
  const since = query.since ? unixToTs(query.since) : undefined
  const until = query.until ? unixToTs(query.until) : undefined
  const partial: {stdout?: {ts: string; text: string}; stderr?: {ts: string; text: string}} = {}
  const entry: Entry = {text: '', complete: false, stream: 'stdout', time: ''}
  let start = 0
  for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
    const found = parseEntry(text, start, nl, entry)
    start = nl + 1
    if (!found) continue
    const ts = normalizeTs(entry.time)
    if ((since !== undefined && ts < since) || (until !== undefined && ts > until)) continue
    const {stream} = entry
    const started = partial[stream]
    if (!entry.complete) {
      partial[stream] = started ? {ts: started.ts, text: started.text + entry.text} : {ts, text: entry.text}
      continue
    }
    const body = entry.text.endsWith('\r') ? entry.text.slice(0, -1) : entry.text
    if (started) {
      partial[stream] = undefined
      onLine(started.ts, stream, started.text + body)
    } else onLine(ts, stream, body)
  }
  for (const stream of ['stdout', 'stderr'] as const) {
    const rest = partial[stream]
    if (rest) onLine(rest.ts, stream, rest.text)
  }
}
