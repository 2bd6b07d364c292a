import {parseDuration} from '../compose/units.js'

/**
 * The Go-style duration strings the model holds ("1m30s", "500ms") in nanoseconds, as the engine
 * API wants them: compose/units.ts parses (one parser for loader and engine alike).
 */
export function durationToNanos(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number(parseDuration(value))
}

export function durationToMs(value: string | undefined, fallbackMs: number): number {
  const nanos = durationToNanos(value)
  return nanos === undefined ? fallbackMs : nanos / 1e6
}
