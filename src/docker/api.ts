import {Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions} from 'node:http'
import type * as Https from 'node:https'
import {createRequire} from 'node:module'
import {Readable} from 'node:stream'

import {ExitCode, TtaError} from '../errors.js'
import {resolveEndpoint, type EngineEndpoint} from './endpoint.js'
import {traceCall, traceStart} from './trace.js'
import {unreachable} from './unreachable.js'

// node:https pulls in tls and crypto (a few ms at start-up): loaded only for a TLS endpoint.
const requireBuiltin = createRequire(import.meta.url)
const https = (): typeof Https => requireBuiltin('node:https') as typeof Https

/**
 * A small read-mostly client of the Engine API over node:http, for the commands that must start
 * fast (`tta status`, `tta logs`): dockerode pulls in ssh2 at import, which costs more than the
 * whole status query. It speaks to the same endpoint connectEngine() resolves (unix, npipe, tcp
 * with TLS); for ssh:// it delegates to dockerode's modem, loaded only then.
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
  private readonly agent: HttpAgent
  private readonly base: RequestOptions
  private readonly secure: boolean
  /** Until one request got an answer, a slow or refused connection means "engine unreachable". */
  private contacted = false

  constructor(readonly endpoint: EngineEndpoint) {
    const url = new URL(endpoint.host)
    const tls = endpoint.tls
    this.secure = url.protocol === 'https:' || (url.protocol !== 'unix:' && url.protocol !== 'npipe:' && Boolean(tls?.verify || tls?.cert))
    // Keep-alive: status asks about every container at once; idle sockets are unref'd by Node.
    this.agent = this.secure
      ? new (https().Agent)({keepAlive: true, ca: tls?.ca, cert: tls?.cert, key: tls?.key, rejectUnauthorized: tls?.verify ?? true})
      : new HttpAgent({keepAlive: true})
    switch (url.protocol) {
      case 'unix:':
        this.base = {socketPath: url.pathname}
        break
      case 'npipe:':
        this.base = {socketPath: endpoint.host.slice('npipe:'.length)}
        break
      case 'tcp:':
      case 'http:':
      case 'https:':
        this.base = {host: url.hostname, port: Number(url.port || (this.secure ? 2376 : 2375))}
        break
      default:
        throw new TtaError(`unsupported DOCKER_HOST scheme "${url.protocol}" in ${endpoint.host}`, ExitCode.badInput, 'use unix://, tcp://, ssh:// or npipe://')
    }
  }

  private send(request: EngineRequest): Promise<IncomingMessage> {
    const body = request.body === undefined ? undefined : JSON.stringify(request.body)
    const timeoutMs = this.contacted ? (request.timeoutMs ?? DEFAULT_TIMEOUT_MS) : Math.min(request.timeoutMs ?? FIRST_CONTACT_TIMEOUT_MS, FIRST_CONTACT_TIMEOUT_MS)
    const started = traceStart()
    return new Promise((resolve, reject) => {
      const options: RequestOptions = {
        ...this.base,
        agent: this.agent,
        method: request.method ?? 'GET',
        path: request.path + queryString(request.query),
        // An explicit Host header: Node's default runs its IPv6 check, whose first use costs ~5 ms.
        headers: body === undefined ? {host: 'docker'} : {host: 'docker', 'content-type': 'application/json', 'content-length': Buffer.byteLength(body)},
        signal: request.signal,
      }
      const req = (this.secure ? https().request : httpRequest)(options, (res) => {
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
    this.agent.destroy()
  }
}

interface ModemError extends Error {
  statusCode?: number
  json?: {message?: string} | string
}

/** ssh:// engines go through dockerode's modem (ssh2), which only these endpoints pay for. */
class ModemEngineApi implements EngineApi {
  constructor(
    readonly endpoint: EngineEndpoint,
    // docker-modem ships no types; this is the one call we make on it.
    private readonly modem: {dial(options: Record<string, unknown>, callback: (error: ModemError | null, result: unknown) => void): void},
  ) {}

  private dial(request: EngineRequest, isStream: boolean): Promise<unknown> {
    const method = request.method ?? 'GET'
    const options =
      method === 'GET'
        ? {path: `${request.path}?`, method, options: Object.fromEntries(Object.entries(request.query ?? {}).filter(([, v]) => v !== undefined).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : v]))}
        : {path: `${request.path}${queryString(request.query)}`, method, options: request.body ?? {}, allowEmpty: true}
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${((request.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000).toFixed(1)} s`)), request.timeoutMs ?? DEFAULT_TIMEOUT_MS)
      this.modem.dial({...options, isStream, abortSignal: request.signal, statusCodes: {200: true, 201: true, 204: true, 304: true}}, (error, result) => {
        clearTimeout(timer)
        if (!error) return resolve(result)
        if (error.statusCode) {
          const message = typeof error.json === 'object' && error.json?.message ? error.json.message : error.message
          return reject(new EngineApiError(error.statusCode, message))
        }
        reject(error)
      })
    })
  }

  async json<T>(request: EngineRequest): Promise<T> {
    const result = await this.dial(request, false)
    if (Buffer.isBuffer(result)) return (result.length === 0 ? undefined : JSON.parse(result.toString('utf8'))) as T
    return result as T
  }

  async stream(request: EngineRequest): Promise<Readable> {
    const result = await this.dial(request, true)
    return result instanceof Readable ? result : Readable.from([result as Buffer])
  }

  close(): void {
    // The modem keeps no pooled connections of ours.
  }
}

/**
 * An EngineApi for the configured endpoint (DOCKER_HOST, contexts). Does not contact the engine:
 * the first request does, and fails with exit code 3 within ~2 s if nothing answers.
 */
export async function openEngineApi(env: NodeJS.ProcessEnv = process.env): Promise<EngineApi> {
  const endpoint = resolveEndpoint(env)
  if (endpoint.host.startsWith('ssh:')) {
    const {connectEngine} = await import('./client.js')
    const conn = await connectEngine(env)
    return new ModemEngineApi(endpoint, conn.docker.modem as unknown as ConstructorParameters<typeof ModemEngineApi>[1])
  }
  return new NativeEngineApi(endpoint)
}
