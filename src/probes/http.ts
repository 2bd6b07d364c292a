import {request} from 'node:http'

import {ProbeFailure} from './socket.js'
import type {HttpExpectation, ProbeResult} from './types.js'

/** Whether a status code is one of the expected ones; by default any 2xx or 3xx, as `wget --spider` accepts. */
export function statusExpected(status: number, expect: HttpExpectation[] | undefined): boolean {
  if (!expect || expect.length === 0) return status >= 200 && status < 400
  return expect.some((e) => (typeof e === 'number' ? e === status : Math.floor(status / 100) === Number(e[0])))
}

export function describeExpectation(expect: HttpExpectation[] | undefined): string {
  return expect && expect.length > 0 ? expect.join(' or ') : '2xx or 3xx'
}

export interface HttpAnswer {
  status: number
  /** The first `maxBody` bytes of the body, when asked for. */
  body: string
  latencyMs: number
}

/**
 * One GET, no redirects followed, no connection kept. `latencyMs` is the time to the response
 * headers; the body is read (up to maxBody bytes) only when maxBody > 0.
 */
export function httpGet(host: string, port: number, path: string, timeoutMs: number, maxBody = 0): Promise<HttpAnswer> {
  const t0 = process.hrtime.bigint()
  const elapsed = (): number => Number(process.hrtime.bigint() - t0) / 1e6
  return new Promise((resolve, reject) => {
    let settled = false
    const done = (error?: Error, answer?: HttpAnswer): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      req.destroy()
      if (error) reject(error)
      else resolve(answer as HttpAnswer)
    }
    // An explicit Host header: Node's own default runs its IPv6 check, whose first use costs ~5 ms.
    const hostHeader = `${host.includes(':') ? `[${host}]` : host}:${port}`
    const req = request({host, port, path, method: 'GET', agent: false, headers: {host: hostHeader, 'user-agent': 'tta-status', accept: 'application/json, */*'}}, (res) => {
      const latencyMs = elapsed()
      const status = res.statusCode ?? 0
      if (maxBody <= 0) {
        res.resume()
        done(undefined, {status, body: '', latencyMs})
        return
      }
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk)
        size += chunk.length
        if (size >= maxBody) done(undefined, {status, body: Buffer.concat(chunks).subarray(0, maxBody).toString('utf8'), latencyMs})
      })
      res.once('end', () => done(undefined, {status, body: Buffer.concat(chunks).toString('utf8'), latencyMs}))
      res.once('error', (error) => done(new ProbeFailure(error.message, elapsed())))
    })
    const timer = setTimeout(() => done(new ProbeFailure(`no answer within ${(timeoutMs / 1000).toFixed(1)}s`, elapsed())), timeoutMs)
    req.once('error', (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'ECONNREFUSED'
          ? 'connection refused'
          : error.code === 'ECONNRESET' || error.message === 'socket hang up'
            ? 'connection closed without an answer'
            : error.code === 'HPE_INVALID_CONSTANT' || error.code?.startsWith('HPE_')
              ? 'not an HTTP answer'
              : error.message
      done(new ProbeFailure(why, elapsed()))
    })
    req.end()
  })
}

export function httpUrl(host: string, port: number, path: string): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`
}

export async function probeHttp(spec: {host: string; port: number; path: string; expect?: HttpExpectation[]; timeoutMs: number}): Promise<ProbeResult> {
  const target = httpUrl(spec.host, spec.port, spec.path)
  const answer = await httpGet(spec.host, spec.port, spec.path, spec.timeoutMs)
  const ok = statusExpected(answer.status, spec.expect)
  return ok
    ? {type: 'http', target, ok, latencyMs: answer.latencyMs, detail: `HTTP ${answer.status}`}
    : {type: 'http', target, ok, latencyMs: answer.latencyMs, detail: `HTTP ${answer.status}`, error: `HTTP ${answer.status}, expected ${describeExpectation(spec.expect)}`}
}
