import {parseDuration} from '../compose/units.js'
import {ExitCode, TtaError} from '../errors.js'

/**
 * A `--since`/`--until` value as the engine's parameter (Unix seconds with a fraction). Accepts
 * what `docker logs` accepts: a duration back from now (`10m`, `1h30m`, `90s`), an RFC 3339 time
 * (`2026-11-21T22:46:26Z`, with or without fraction or zone; no zone is local time), a date
 * (`2026-11-21`, local midnight) or Unix seconds (`1795300986.5`).
 */
export function parseTimeArg(input: string, flag: string, nowMs: number = Date.now()): string {
  const text = input.trim()
  if (/^\d+(\.\d+)?$/.test(text)) {
    const [whole = '0', fraction = ''] = text.split('.')
    return `${whole}.${fraction.padEnd(9, '0').slice(0, 9)}`
  }
  if (/^\d+(\.\d*)?[a-zµμ]/.test(text)) {
    try {
      const ns = parseDuration(text)
      const at = BigInt(nowMs) * 1_000_000n - ns
      return `${at / 1_000_000_000n}.${(at % 1_000_000_000n).toString().padStart(9, '0')}`
    } catch {
      throw bad(input, flag)
    }
  }
  const match = /^(\d{4}-\d\d-\d\d)(?:[T ](\d\d:\d\d(?::\d\d)?)(?:\.(\d{1,9}))?)?(Z|[+-]\d\d:?\d\d)?$/i.exec(text)
  if (!match) throw bad(input, flag)
  const [, date, time = '00:00:00', fraction = '', zone] = match
  const base = `${date}T${time.length === 5 ? `${time}:00` : time}${zone ? zone.toUpperCase().replace(/^([+-]\d\d)(\d\d)$/, '$1:$2') : ''}`
  const ms = Date.parse(base)
  if (Number.isNaN(ms)) throw bad(input, flag)
  return `${Math.floor(ms / 1000)}.${fraction.padEnd(9, '0')}`
}

function bad(input: string, flag: string): TtaError {
  return new TtaError(`--${flag}: cannot read "${input}" as a time`, ExitCode.badInput, 'use a duration back from now (10m, 1h30m), an RFC 3339 time (2026-11-21T22:46:26Z), a date (2026-11-21) or Unix seconds')
}
