import {request as httpRequest, type IncomingMessage, type RequestOptions} from 'node:http'
import type {Readable} from 'node:stream'

import {resolveEndpoint, type EngineEndpoint} from './endpoint.js'
import {traceCall, traceStart} from './trace.js'
import {engineTransport, https, type EngineTransport} from './transport.js'
import {unreachable} from './unreachable.js'

/**
 * A small read-mostly client of the Engine API over node:http, for the commands that must start
 * fast (`tta status`, `tta logs`): dockerode costs more at import than the whole status query.
 * It connects through the same transport as connectEngine() (unix, npipe, tcp with TLS, ssh://).
 */
export interface EngineApi {
  readonly endpoint: EngineEndpoint
  /** A request whose answer is JSON (or empty); non-2xx answers throw EngineApiError. */
  json<T>(request: EngineRequest): Promise<T>
  /** A request whose answer body is read as a stream (logs, events, exec output). */
  stream(request: EngineRequest): Promise<Readable>
  /** Drops kept-alive connections so the process can exit. */
  close(): void
}

export interface EngineRequest {
  method?: 'GET' | 'POST'
  /** Path without the version prefix, e.g. `/containers/json`. */
  path: string
  /** Query parameters; objects (filters) are sent as JSON, as the engine expects. */
  query?: Record<string, string | number | boolean | object | undefined>
  body?: unknown
  /** Bounds the wait for the answer's headers (not a stream's body). */
  timeoutMs?: number
  signal?: AbortSignal
}

/** The engine answered with an error status. */
export class EngineApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message)
    this.name = 'EngineApiError'
  }
}

const DEFAULT_TIMEOUT_MS = 10_000
/** Like connectEngine: an engine that does not answer is reported within about 2 s. */
const FIRST_CONTACT_TIMEOUT_MS = 2_000

export function queryString(query: EngineRequest['query']): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue
    params.set(key, typeof value === 'object' ? JSON.stringify(value) : String(value))
  }
  const text = params.toString()
  return text ? `?${text}` : ''
}

/** The engine's own words for an error answer: `{"message": "..."}`, else the raw text. */
function errorMessage(statusCode: number, body: string): string {
  try {
    const parsed = JSON.parse(body) as {message?: string}
    if (parsed.message) return parsed.message
  } catch {
    // not JSON: fall through to the raw text
  }
  return body.trim() || `engine answered HTTP ${statusCode}`
}

/** The whole body. Events rather than `for await`: the async iterator costs more per answer, and status reads ~20 at once. */
function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let ended = false
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.once('end', () => {
      ended = true
      resolve(Buffer.concat(chunks))
    })
    stream.once('error', reject)
    // A connection cut mid-answer closes without 'end' (and, on some versions, without 'error').
    stream.once('close', () => {
      if (!ended) reject(Object.assign(new Error('the engine closed the connection mid-answer'), {code: 'ECONNRESET'}))
    })
  })
}

const CONNECT_ERRORS = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE'])

class NativeEngineApi implements EngineApi {
  private readonly transport: EngineTransport
  /** Until one request got an answer, a slow or refused connection means "engine unreachable". */
  private contacted = false

  constructor(
    readonly endpoint: EngineEndpoint,
    env: NodeJS.ProcessEnv,
  ) {
    this.transport = engineTransport(endpoint, env)
  }

  private send(request: EngineRequest): Promise<IncomingMessage> {
    const body = request.body === undefined ? undefined : JSON.stringify(request.body)
    const timeoutMs = this.contacted ? (request.timeoutMs ?? DEFAULT_TIMEOUT_MS) : Math.min(request.timeoutMs ?? FIRST_CONTACT_TIMEOUT_MS, FIRST_CONTACT_TIMEOUT_MS)
    const started = traceStart()
    return new Promise((resolve, reject) => {
      const options: RequestOptions = {
        ...this.transport.target,
        agent: this.transport.agent,
        method: request.method ?? 'GET',
        path: request.path + queryString(request.query),
        // An explicit Host header: Node's default runs its IPv6 check, whose first use costs ~5 ms.
        headers: body === undefined ? {host: 'docker'} : {host: 'docker', 'content-type': 'application/json', 'content-length': Buffer.byteLength(body)},
        signal: request.signal,
      }
      const req = (this.transport.secure ? https().request : httpRequest)(options, (res) => {
        clearTimeout(timer)
        traceCall(options.method as string, options.path as string, started, res.statusCode ?? 0)
        this.contacted = true
        resolve(res)
      })
      const timer = setTimeout(() => {
        const error = Object.assign(new Error(`no answer within ${(timeoutMs / 1000).toFixed(1)} s`), {code: this.contacted ? 'ETIMEOUT' : 'ETIMEDOUT'})
        req.destroy(error)
      }, timeoutMs)
      req.once('error', (error: Error & {code?: string}) => {
        clearTimeout(timer)
        traceCall(options.method as string, options.path as string, started, error)
        if (!this.contacted && error.code && CONNECT_ERRORS.has(error.code)) reject(unreachable(this.endpoint, error))
        else reject(error)
      })
      req.end(body)
    })
  }

  async json<T>(request: EngineRequest): Promise<T> {
    const res = await this.send(request)
    const text = (await readAll(res)).toString('utf8')
    const status = res.statusCode ?? 0
    if (status < 200 || status >= 300) throw new EngineApiError(status, errorMessage(status, text))
    return (text === '' ? undefined : JSON.parse(text)) as T
  }

  async stream(request: EngineRequest): Promise<Readable> {
    const res = await this.send(request)
    const status = res.statusCode ?? 0
    if (status < 200 || status >= 300) {
      const text = (await readAll(res)).toString('utf8')
      throw new EngineApiError(status, errorMessage(status, text))
    }
    return res
  }

  close(): void {
    this.transport.agent.destroy()
  }
}

/**
 * An EngineApi for the configured endpoint (DOCKER_HOST, contexts). Does not contact the engine:
 * the first request does, and fails with exit code 3 within ~2 s if nothing answers.
 */
export async function openEngineApi(env: NodeJS.ProcessEnv = process.env): Promise<EngineApi> {
  return new NativeEngineApi(resolveEndpoint(env), env)
}
