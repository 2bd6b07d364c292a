import {IncomingMessage, request as httpRequest, type RequestOptions} from 'node:http'
import type {Duplex, Readable} from 'node:stream'

import {resolveEndpoint, type EngineEndpoint} from './endpoint.js'
import {traceCall, traceStart} from './trace.js'
import {engineTransport, https, type EngineTransport} from './transport.js'
import {unreachable} from './unreachable.js'

/**
 * tta's client of the Engine API over node:http: JSON calls, streamed answers (logs, events,
 * progress) and hijacked connections (exec, attach). Small enough to load at once for the commands
 * that must start fast (`tta status`, `tta logs`); the engine port (http-port.ts) is built on it.
 * It connects through docker/transport.ts (unix, npipe, tcp with TLS, ssh://).
 */
export interface EngineApi {
  readonly endpoint: EngineEndpoint
  /** A request whose answer is JSON (or empty); non-2xx answers throw EngineApiError. */
  json<T>(request: EngineRequest): Promise<T>
  /** A request whose answer body is read as a stream (logs, events, exec output). */
  stream(request: EngineRequest): Promise<Readable>
  /**
   * A hijacked connection (exec start, attach): the engine switches the HTTP connection to a raw
   * stream both ways; ending the write side closes the process's stdin.
   */
  hijack(request: EngineRequest): Promise<Duplex>
  /** Drops kept-alive connections so the process can exit. */
  close(): void
}

export interface EngineRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD'
  /** Path without the version prefix, e.g. `/containers/json`. */
  path: string
  /** Query parameters; objects (filters) are sent as JSON, as the engine expects. */
  query?: Record<string, string | number | boolean | object | undefined>
  /** Sent as JSON, unless it is a Buffer or a stream (sent as is, with `contentType`). */
  body?: unknown
  contentType?: string
  headers?: Record<string, string>
  /** Bounds the wait for the answer's headers (not a stream's body); 0: no bound (a container wait, a long stop). */
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
/** An engine that does not answer is reported within about 2 s. */
const FIRST_CONTACT_TIMEOUT_MS = 2_000
/** An SSH handshake to a remote host, plus starting `docker system dial-stdio` there, needs more. */
const SSH_FIRST_CONTACT_TIMEOUT_MS = 10_000

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

function isStream(value: unknown): value is Readable {
  return typeof (value as Readable | undefined)?.pipe === 'function'
}

const CONNECT_ERRORS = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE'])

class NativeEngineApi implements EngineApi {
  private readonly transport: EngineTransport
  /** Until one request got an answer, a slow or refused connection means "engine unreachable". */
  private contacted = false
  private readonly firstContactMs: number

  constructor(
    readonly endpoint: EngineEndpoint,
    env: NodeJS.ProcessEnv,
  ) {
    this.transport = engineTransport(endpoint, env)
    this.firstContactMs = endpoint.host.startsWith('ssh:') ? SSH_FIRST_CONTACT_TIMEOUT_MS : FIRST_CONTACT_TIMEOUT_MS
  }

  private send(request: EngineRequest, upgrade?: (res: IncomingMessage, socket: Duplex, head: Buffer) => void): Promise<IncomingMessage> {
    const raw = Buffer.isBuffer(request.body) || isStream(request.body)
    const body = request.body === undefined || raw ? undefined : JSON.stringify(request.body)
    const asked = request.timeoutMs ?? (this.contacted ? DEFAULT_TIMEOUT_MS : this.firstContactMs)
    const timeoutMs = this.contacted ? asked : Math.min(asked || this.firstContactMs, this.firstContactMs)
    const started = traceStart()
    return new Promise((resolve, reject) => {
      // An explicit Host header: Node's default runs its IPv6 check, whose first use costs ~5 ms.
      const headers: Record<string, string | number> = {host: 'docker', ...request.headers}
      if (body !== undefined) Object.assign(headers, {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)})
      if (raw) headers['content-type'] = request.contentType ?? 'application/octet-stream'
      if (Buffer.isBuffer(request.body)) headers['content-length'] = request.body.length
      if (upgrade) Object.assign(headers, {connection: 'Upgrade', upgrade: 'tcp'})
      const options: RequestOptions = {
        ...this.transport.target,
        agent: this.transport.agent,
        method: request.method ?? 'GET',
        path: request.path + queryString(request.query),
        headers,
        signal: request.signal,
      }
      const answered = (res: IncomingMessage): void => {
        clearTimeout(timer)
        traceCall(options.method as string, options.path as string, started, res.statusCode ?? 0)
        this.contacted = true
      }
      const req = (this.transport.secure ? https().request : httpRequest)(options, (res) => {
        answered(res)
        resolve(res)
      })
      if (upgrade) {
        req.once('upgrade', (res: IncomingMessage, socket: Duplex, head: Buffer) => {
          answered(res)
          upgrade(res, socket, head)
        })
      }
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              const error = Object.assign(new Error(`no answer within ${(timeoutMs / 1000).toFixed(1)} s`), {code: this.contacted ? 'ETIMEOUT' : 'ETIMEDOUT'})
              req.destroy(error)
            }, timeoutMs)
          : undefined
      req.once('error', (error: Error & {code?: string}) => {
        clearTimeout(timer)
        traceCall(options.method as string, options.path as string, started, error)
        if (!this.contacted && error.code && CONNECT_ERRORS.has(error.code)) reject(unreachable(this.endpoint, error))
        else reject(error)
      })
      if (isStream(request.body)) {
        request.body.once('error', (error) => req.destroy(error))
        request.body.pipe(req)
      } else req.end(raw ? request.body : body)
    })
  }

  async hijack(request: EngineRequest): Promise<Duplex> {
    let hijacked: ((socket: Duplex) => void) | undefined
    const upgraded = new Promise<Duplex>((resolve) => {
      hijacked = resolve
    })
    const res = await Promise.race([
      this.send({...request, method: request.method ?? 'POST'}, (_res, socket, head) => {
        // Bytes that came with the 101 answer belong to the stream.
        if (head.length > 0) socket.unshift(head)
        hijacked?.(socket)
      }),
      upgraded,
    ])
    if (!(res instanceof IncomingMessage)) return res
    // Not upgraded: an error answer, or an engine that streams the output in the answer's body.
    const status = res.statusCode ?? 0
    if (status < 200 || status >= 300) {
      const text = (await readAll(res)).toString('utf8')
      throw new EngineApiError(status, errorMessage(status, text))
    }
    return res as unknown as Duplex
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
