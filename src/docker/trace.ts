import {debug, debugEnabled} from '../debug.js'

/** A start time for traceCall (process.hrtime: the global `performance` loads perf_hooks, a few ms, on first use). */
export const traceStart = (): bigint => process.hrtime.bigint()

/** One engine call as `--debug` shows it: method, path (with query), answer, time. Never bodies or headers: they carry secrets. */
export function traceCall(method: string, path: string, started: bigint, outcome: number | Error): void {
  debug('engine', () => `${method} ${path} -> ${typeof outcome === 'number' ? outcome : `error: ${outcome.message}`} (${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(1)} ms)`)
}

interface DialOptions {
  method?: string
  path?: string
  options?: unknown
}
type Dial = (options: DialOptions, callback: (error: (Error & {statusCode?: number}) | null, result: unknown) => void) => void

/** Wraps dockerode's modem so every call it makes is traced (only when tta:engine is enabled). */
export function traceModem(modem: {dial: Dial}): void {
  if (!debugEnabled('engine')) return
  const dial = modem.dial.bind(modem)
  modem.dial = (options, callback) => {
    const started = traceStart()
    const method = options.method ?? 'GET'
    // GET query parameters travel in `options`, not in the path, until the modem builds the URL.
    const query = method === 'GET' && options.options && typeof options.options === 'object' ? Object.keys(options.options).join(',') : ''
    const path = `${(options.path ?? '').replace(/\?$/, '')}${query ? ` (${query})` : ''}`
    dial(options, (error, result) => {
      traceCall(method, path, started, error ? (error.statusCode ?? error) : 200)
      callback(error, result)
    })
  }
}
