import {frames} from '../engine/frames.js'

export type Stream = 'stdout' | 'stderr'

/** One log line as the engine stored it: its timestamp (RFC 3339, nanoseconds, UTC), stream and text. */
export interface LogLine {
  ts: string
  stream: Stream
  text: string
}

/**
 * Where readers deliver lines: as plain arguments, so the consumer builds the one object it
 * keeps (or none, when counting); 100k lines make the difference.
 */
export type OnLine = (ts: string, stream: Stream, text: string) => void

const NEWLINE = 0x0a

/**
 * The engine writes RFC 3339 with a fixed 9-digit fraction in UTC, which sorts as text. Anything
 * else (fewer digits, an offset) is rewritten to that shape so lines from every source compare.
 */
export function normalizeTs(ts: string): string {
  if (ts.length === 30 && ts.charCodeAt(29) === 90 /* Z */ && ts.charCodeAt(19) === 46 /* . */) return ts
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(ts)
  if (!match) return ts
  const [, whole = '', fraction = '', zone = 'Z'] = match
  const nanos = fraction.padEnd(9, '0').slice(0, 9)
  if (zone === 'Z') return `${whole}.${nanos}Z`
  const utc = new Date(`${whole}${zone}`).toISOString().slice(0, 19)
  return `${utc}.${nanos}Z`
}

/** `2026-11-21T22:46:26.260953289Z` as the engine's `since`/`until` parameter: `1795300986.260953289`. */
export function tsToUnix(ts: string): string {
  const norm = normalizeTs(ts)
  const seconds = Math.floor(Date.parse(`${norm.slice(0, 19)}Z`) / 1000)
  return `${seconds}.${norm.slice(20, 29)}`
}

/**
 * Turns the body of GET /containers/ID/logs?timestamps=1 into lines, chunk by chunk. Without a
 * TTY the engine multiplexes stdout and stderr in frames (8-byte header: stream, 3 zero bytes,
 * big-endian length), one frame per log message; with a TTY it sends raw text. Which one it is
 * shows in the first byte: a frame header starts with 0-2, a timestamped text line with a digit.
 *
 * A message longer than the log driver's 16 KiB buffer is stored in parts, each with its own
 * timestamp and only the last with a newline; the parts are joined back into one line.
 */
export class LogDecoder {
  private mode: 'frames' | 'raw' | undefined
  private pending: Buffer | undefined
  /** A line started in an earlier message and not yet ended, per stream. */
  private readonly partial: {stdout?: Buffer; stderr?: Buffer} = {}

  constructor(private readonly onLine: OnLine) {}

  push(chunk: Buffer): void {
    let data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk
    this.pending = undefined
    if (data.length === 0) return
    this.mode ??= (data[0] as number) <= 2 ? 'frames' : 'raw'
    if (this.mode === 'raw') {
      const last = data.lastIndexOf(NEWLINE)
      if (last < 0) {
        this.pending = data
        return
      }
      this.lines(data.subarray(0, last + 1), 'stdout')
      if (last + 1 < data.length) this.pending = data.subarray(last + 1)
      return
    }
    let offset = 0
    for (const frame of frames(data)) {
      this.message(frame.payload, frame.stream)
      offset = frame.end
    }
    if (offset < data.length) {
      data = data.subarray(offset)
      // Keep a copy: the chunk's memory may be reused by the stream.
      this.pending = Buffer.from(data)
    }
  }

  /** Flushes what is left: a last line without a newline still counts. */
  end(): void {
    if (this.mode === 'raw' && this.pending && this.pending.length > 0) this.lines(Buffer.concat([this.pending, Buffer.from('\n')]), 'stdout')
    this.pending = undefined
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = this.partial[stream]
      if (rest && rest.length > 0) this.emit(rest, 0, rest.length, stream)
      this.partial[stream] = undefined
    }
  }

  private message(payload: Buffer, stream: Stream): void {
    const started = this.partial[stream]
    if (started) {
      // A continuation: drop its own timestamp, keep the first part's.
      const space = payload.indexOf(0x20)
      payload = Buffer.concat([started, space >= 0 ? payload.subarray(space + 1) : payload])
      this.partial[stream] = undefined
    }
    const last = payload.lastIndexOf(NEWLINE)
    if (last < 0) {
      this.partial[stream] = Buffer.from(payload)
      return
    }
    this.lines(payload.subarray(0, last + 1), stream)
    if (last + 1 < payload.length) this.partial[stream] = Buffer.from(payload.subarray(last + 1))
  }

  /** Every newline-terminated line in `data`. */
  private lines(data: Buffer, stream: Stream): void {
    let start = 0
    for (let nl = data.indexOf(NEWLINE, start); nl >= 0; nl = data.indexOf(NEWLINE, start)) {
      this.emit(data, start, nl, stream)
      start = nl + 1
    }
  }

  private emit(data: Buffer, start: number, end: number, stream: Stream): void {
    if (end > start && data[end - 1] === 0x0d) end -= 1
    const line = data.toString('utf8', start, end)
    const space = line.indexOf(' ')
    const ts = space > 0 ? line.slice(0, space) : line
    this.onLine(normalizeTs(ts), stream, space > 0 ? line.slice(space + 1) : '')
  }
}
