import {debug} from '../debug.js'

/** A start time for traceCall (process.hrtime: the global `performance` loads perf_hooks, a few ms, on first use). */
export const traceStart = (): bigint => process.hrtime.bigint()

/** One engine call as `--debug` shows it: method, path (with query), answer, time. Never bodies or headers: they carry secrets. */
export function traceCall(method: string, path: string, started: bigint, outcome: number | Error): void {
  debug('engine', () => `${method} ${path} -> ${typeof outcome === 'number' ? outcome : `error: ${outcome.message}`} (${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(1)} ms)`)
}
