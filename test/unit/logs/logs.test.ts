// tta logs' pure parts: the stream decoder, time arguments, merging, the summary heuristics, printing.
import {Readable, Writable} from 'node:stream'
import chalk from 'chalk'
import {beforeAll, describe, expect, it} from 'vitest'

import type {EngineApi, EngineRequest} from '../../../src/docker/api.js'
import {LogDecoder, normalizeTs, tsToUnix, type LogLine} from '../../../src/logs/decode.js'
import {readHistory, type LogSource} from '../../../src/logs/read.js'
import {httpStatusOf, levelOf, Summarizer} from '../../../src/logs/summary.js'
import {parseTimeArg} from '../../../src/logs/time.js'
import {LogPrinter, renderSummary} from '../../../src/ui/logs-view.js'

beforeAll(() => {
  chalk.level = 0
})

/** One multiplexed frame as the engine sends it: stream byte, 3 zero bytes, big-endian length, payload. */
function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text)
  const header = Buffer.alloc(8)
  header[0] = stream
  header.writeUInt32BE(payload.length, 4)
  return Buffer.concat([header, payload])
}

function decode(chunks: Buffer[]): LogLine[] {
  const lines: LogLine[] = []
  const decoder = new LogDecoder((ts, stream, text) => lines.push({ts, stream, text}))
  for (const c of chunks) decoder.push(c)
  decoder.end()
  return lines
}

const T1 = '2026-11-21T22:46:26.260953289Z'
const T2 = '2026-11-21T22:46:26.360953289Z'

describe('LogDecoder', () => {
  it('splits frames into stdout and stderr lines, wherever the chunks break', () => {
    const bytes = Buffer.concat([frame(1, `${T1} hello\n`), frame(2, `${T2} oops\r\n`), frame(1, `${T2} two\n${T2} lines\n`)])
    const expected = [
      {ts: T1, stream: 'stdout', text: 'hello'},
      {ts: T2, stream: 'stderr', text: 'oops'},
      {ts: T2, stream: 'stdout', text: 'two'},
      {ts: T2, stream: 'stdout', text: 'lines'},
    ]
    expect(decode([bytes])).toEqual(expected)
    // Byte by byte: headers and payloads split anywhere.
    expect(decode([...bytes].map((b) => Buffer.from([b])))).toEqual(expected)
  })

  it('joins a long message the log driver stored in parts (each part has its own timestamp)', () => {
    const lines = decode([frame(1, `${T1} first half`), frame(2, `${T1} other stream\n`), frame(1, `${T2} , second half\n`)])
    expect(lines).toEqual([
      {ts: T1, stream: 'stderr', text: 'other stream'},
      {ts: T1, stream: 'stdout', text: 'first half, second half'},
    ])
  })

  it('reads a TTY container\'s raw stream, and keeps a last line without newline', () => {
    expect(decode([Buffer.from(`${T1} raw one\n${T2} raw`), Buffer.from(' two\n'), Buffer.from(`${T2} no newline`)])).toEqual([
      {ts: T1, stream: 'stdout', text: 'raw one'},
      {ts: T2, stream: 'stdout', text: 'raw two'},
      {ts: T2, stream: 'stdout', text: 'no newline'},
    ])
  })

  it('normalizes timestamps so they sort as text', () => {
    expect(normalizeTs(T1)).toBe(T1)
    expect(normalizeTs('2026-11-21T22:46:26.26Z')).toBe('2026-11-21T22:46:26.260000000Z')
    expect(normalizeTs('2026-11-21T23:46:26.5+01:00')).toBe('2026-11-21T22:46:26.500000000Z')
    expect(tsToUnix(T1)).toBe(`${Date.UTC(2026, 10, 21, 22, 46, 26) / 1000}.260953289`)
  })
})

describe('parseTimeArg', () => {
  const now = Date.UTC(2026, 10, 21, 12, 0, 0)
  it('reads durations back from now, RFC 3339, dates and Unix seconds', () => {
    expect(parseTimeArg('1m', 'since', now)).toBe(`${now / 1000 - 60}.000000000`)
    expect(parseTimeArg('1h30m', 'since', now)).toBe(`${now / 1000 - 5400}.000000000`)
    expect(parseTimeArg('1.5s', 'since', now)).toBe(`${now / 1000 - 2}.500000000`)
    expect(parseTimeArg('2026-11-21T10:00:00Z', 'since')).toBe(`${Date.UTC(2026, 10, 21, 10) / 1000}.000000000`)
    expect(parseTimeArg('2026-11-21T10:00:00.123+02:00', 'since')).toBe(`${Date.UTC(2026, 10, 21, 8) / 1000}.123000000`)
    expect(parseTimeArg('2026-11-21', 'since')).toBe(`${new Date(2026, 10, 21).getTime() / 1000}.000000000`)
    expect(parseTimeArg('1795300986.25', 'until')).toBe('1795300986.250000000')
  })
  it('rejects anything else with exit code 2', () => {
    for (const bad of ['yesterday', '10 minutes', '1x', '2026-13-45', '']) expect(() => parseTimeArg(bad, 'since', now), bad).toThrow(expect.objectContaining({exitCode: 2}))
  })
})

/** An EngineApi that serves fixed log bodies by container id; enough for readHistory. */
function fakeApi(bodies: Record<string, Buffer>, seen: EngineRequest[] = []): EngineApi {
  return {
    endpoint: {host: 'unix:///fake.sock', source: 'default'},
    json: () => Promise.reject(new Error('not used')),
    hijack: () => Promise.reject(new Error('not used')),
    stream: (request) => {
      seen.push(request)
      const id = /\/containers\/([^/]+)\/logs/.exec(request.path)?.[1] ?? ''
      const body = bodies[id] ?? Buffer.alloc(0)
      // Odd chunk sizes, as a socket delivers them.
      return Promise.resolve(Readable.from(Array.from({length: Math.ceil(body.length / 7)}, (_, i) => body.subarray(i * 7, i * 7 + 7))))
    },
    close: () => undefined,
  }
}

const source = (id: string, service: string): LogSource => ({id, service, name: `tta-${service}-1`, number: 1, running: true, label: service})
const at = (ms: number): string => new Date(Date.UTC(2026, 10, 21, 12, 0, 0) + ms).toISOString().replace('Z', '000000Z')

describe('readHistory', () => {
  it('merges interleaved lines of several containers in timestamp order', async () => {
    const body = (name: string, offsets: number[]): Buffer => Buffer.concat(offsets.map((o, i) => frame(i % 2 === 0 ? 1 : 2, `${at(o)} ${name} ${o}\n`)))
    const seen: EngineRequest[] = []
    const api = fakeApi({a: body('alpha', [0, 30, 60, 90]), b: body('beta', [10, 40, 70]), c: body('gamma', [20, 50, 80, 81])}, seen)
    const history = await readHistory(api, [source('a', 'alpha'), source('b', 'beta'), source('c', 'gamma')], {since: '1795300986.000000000', tail: 5})
    expect(history.lines.map((l) => l.text)).toEqual(['alpha 0', 'beta 10', 'gamma 20', 'alpha 30', 'beta 40', 'gamma 50', 'alpha 60', 'beta 70', 'gamma 80', 'gamma 81', 'alpha 90'])
    expect(history.lines.map((l) => l.source.service).slice(0, 3)).toEqual(['alpha', 'beta', 'gamma'])
    expect(history.last.get('c')).toEqual({ts: at(81), texts: new Set(['gamma 81'])})
    expect(seen[0]?.query).toMatchObject({stdout: 1, stderr: 1, timestamps: 1, tail: 5, since: '1795300986.000000000'})
  })

  it('applies the filter but remembers the last line read', async () => {
    const api = fakeApi({a: Buffer.concat([frame(1, `${at(0)} ERROR one\n`), frame(1, `${at(5)} fine\n`)])})
    const history = await readHistory(api, [source('a', 'alpha')], {}, (text) => /ERROR/.test(text))
    expect(history.lines.map((l) => l.text)).toEqual(['ERROR one'])
    expect(history.last.get('a')?.ts).toBe(at(5))
  })
})

describe('summary heuristics', () => {
  it('finds error and warning levels in the formats the stack writes', () => {
    expect(levelOf('ts=2026-11-21T22:46:14.815Z caller=x.go:264 level=error msg="Failed"')).toBe('error')
    expect(levelOf('{"level":"warn","msg":"slow"}')).toBe('warning')
    expect(levelOf('ERROR:    Exception in ASGI application')).toBe('error')
    expect(levelOf('2026-11-21 22:46:16.457 UTC [1] FATAL:  password authentication failed')).toBe('error')
    expect(levelOf('2026-11-21 22:46:16.457 UTC [1] WARNING:  there is no transaction in progress')).toBe('warning')
    expect(levelOf('1:M 21 Nov 2026 22:46:13.185 # WARNING Memory overcommit must be enabled!')).toBe('warning')
    expect(levelOf('Traceback (most recent call last):')).toBe('error')
    expect(levelOf('INFO:     172.18.0.1:55322 - "GET /health HTTP/1.1" 200 OK')).toBeUndefined()
    expect(levelOf('ts=2026-11-21T22:46:14Z level=info msg="no errors found"')).toBeUndefined()
    expect(levelOf('1:M 21 Nov 2026 22:46:13.191 * Ready to accept connections')).toBeUndefined()
  })
  it('reads HTTP statuses from access logs and structured fields', () => {
    expect(httpStatusOf('INFO:     172.18.0.1:55322 - "GET /missing HTTP/1.1" 404 Not Found')).toBe(404)
    expect(httpStatusOf('10.0.0.1 - - [21/Nov/2026:22:46:26 +0000] "POST /api HTTP/2.0" 502 12')).toBe(502)
    expect(httpStatusOf('level=info status=503 path=/x')).toBe(503)
    expect(httpStatusOf('{"status":201}')).toBe(201)
    expect(httpStatusOf('took 404ms')).toBeUndefined()
  })
  it('counts per service, with totals and the time span', () => {
    const s = new Summarizer()
    s.add('api', at(0), 'INFO: "GET / HTTP/1.1" 500 Internal Server Error')
    s.add('api', at(10), 'ERROR: boom')
    s.add('api', at(5), '"GET /x HTTP/1.1" 404')
    s.add('redis', at(1), '1:M 21 Nov 2026 22:46:13.185 # WARNING overcommit')
    const result = s.result(['api', 'redis', 'quiet'])
    expect(result.services).toEqual([
      {service: 'api', lines: 3, errors: 1, warnings: 0, http4xx: 1, http5xx: 1, first: at(0), last: at(10)},
      {service: 'quiet', lines: 0, errors: 0, warnings: 0, http4xx: 0, http5xx: 0, first: null, last: null},
      {service: 'redis', lines: 1, errors: 0, warnings: 1, http4xx: 0, http5xx: 0, first: at(1), last: at(1)},
    ])
    expect(result.total).toEqual({lines: 4, errors: 1, warnings: 1, http4xx: 1, http5xx: 1, first: at(0), last: at(10)})
    expect(renderSummary(result).split('\n')[0]).toMatch(/^SERVICE\s+LINES\s+ERRORS\s+WARNINGS\s+HTTP 4XX\s+HTTP 5XX$/)
  })
})

class Sink extends Writable {
  text = ''
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString()
    done()
  }
}

describe('LogPrinter', () => {
  it('pads prefixes to the longest service, growing when a longer one appears', async () => {
    const sink = new Sink()
    const printer = new LogPrinter({timestamps: false, json: false}, sink)
    const redis = source('r', 'redis')
    printer.register(redis)
    printer.line({ts: T1, stream: 'stdout', text: 'one'}, redis)
    const api = source('a', 'admin-api')
    printer.register(api)
    printer.line({ts: T2, stream: 'stderr', text: 'two'}, api)
    printer.line({ts: T2, stream: 'stdout', text: 'three'}, redis)
    await printer.flush()
    expect(sink.text).toBe('redis | one\nadmin-api | two\nredis     | three\n')
  })
  it('prints timestamps with -t, and one JSON object per line with --json', async () => {
    const sink = new Sink()
    const printer = new LogPrinter({timestamps: true, json: false}, sink)
    printer.register(source('r', 'redis'))
    printer.line({ts: T1, stream: 'stdout', text: 'x'}, source('r', 'redis'))
    await printer.flush()
    expect(sink.text).toBe(`redis | ${T1} x\n`)
    const jsonSink = new Sink()
    const json = new LogPrinter({timestamps: false, json: true}, jsonSink)
    json.line({ts: T1, stream: 'stderr', text: 'boom'}, source('r', 'redis'))
    json.note('ignored in JSON')
    await json.flush()
    expect(JSON.parse(jsonSink.text)).toEqual({time: T1, service: 'redis', container: 'tta-redis-1', stream: 'stderr', message: 'boom'})
  })
})
