/**
 * Durations and byte sizes, parsed and printed the way Compose (Go) does: durations follow Go's
 * time.ParseDuration and Duration.String ("90s" -> "1m30s"); sizes follow docker/go-units
 * RAMInBytes ("512M" -> 536870912, binary multiples).
 */

const NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n,
  'μs': 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
}

const MAX_DURATION = (1n << 63n) - 1n

/** Parse a Go duration string into nanoseconds; throws Error with a user-facing message. */
export function parseDuration(input: string): bigint {
  const bad = (): Error =>
    new Error(`invalid duration "${input}" (use a number with a unit: ns, us, ms, s, m, h, e.g. "1m30s")`)
  let s = input
  let negative = false
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s[0] === '-'
    s = s.slice(1)
  }
  if (s === '0') return 0n
  if (s === '') throw bad()
  let total = 0n
  const re = /^(\d*)(?:\.(\d*))?([a-zµμ]+)/
  while (s.length > 0) {
    const m = re.exec(s)
    if (!m) throw bad()
    const [whole, intPart = '', fracPart = '', unitName = ''] = m
    if (intPart === '' && fracPart === '') throw bad()
    const unit = NS[unitName]
    if (unit === undefined) throw bad()
    let value = BigInt(intPart || '0') * unit
    if (fracPart) {
      // Go truncates the fraction to nanosecond precision.
      value += (BigInt(fracPart) * unit) / 10n ** BigInt(fracPart.length)
    }
    total += value
    if (total > MAX_DURATION) throw bad()
    s = s.slice(whole.length)
  }
  return negative ? -total : total
}

function fraction(v: bigint, digits: number): string {
  // v is the fractional part scaled to `digits` decimals; trailing zeros are dropped.
  if (v === 0n) return ''
  const str = v.toString().padStart(digits, '0').replace(/0+$/, '')
  return `.${str}`
}

/** Go's time.Duration.String(). */
export function formatDuration(ns: bigint): string {
  if (ns === 0n) return '0s'
  const neg = ns < 0n
  let u = neg ? -ns : ns
  let out: string
  if (u < 1_000_000_000n) {
    if (u < 1_000n) out = `${u}ns`
    else if (u < 1_000_000n) out = `${u / 1_000n}${fraction(u % 1_000n, 3)}µs`
    else out = `${u / 1_000_000n}${fraction(u % 1_000_000n, 6)}ms`
  } else {
    const h = u / 3_600_000_000_000n
    u -= h * 3_600_000_000_000n
    const m = u / 60_000_000_000n
    u -= m * 60_000_000_000n
    const secs = `${u / 1_000_000_000n}${fraction(u % 1_000_000_000n, 9)}s`
    if (h > 0n) out = `${h}h${m}m${secs}`
    else if (m > 0n) out = `${m}m${secs}`
    else out = secs
  }
  return neg ? `-${out}` : out
}

/** Normalize a duration string to Go's canonical form. */
export function normalizeDuration(input: string): string {
  return formatDuration(parseDuration(input))
}

const SIZE_UNITS: Record<string, bigint> = {
  '': 1n,
  k: 1024n,
  m: 1024n ** 2n,
  g: 1024n ** 3n,
  t: 1024n ** 4n,
  p: 1024n ** 5n,
}

/** Parse a memory size ("512M", "1.5g", "1GiB", 1024) into bytes. */
export function parseBytes(input: string | number): bigint {
  if (typeof input === 'number') {
    if (!Number.isInteger(input) || input < 0) throw new Error(`invalid size ${input} (expected a whole number of bytes or e.g. "512m")`)
    return BigInt(input)
  }
  const m = /^(\d+)(?:\.(\d+))? ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(input)
  if (!m) throw new Error(`invalid size "${input}" (expected e.g. "512m", "1g", "1048576")`)
  const [, intPart = '0', fracPart = '', unitName = ''] = m
  const mult = SIZE_UNITS[unitName.toLowerCase()] ?? 1n
  let bytes = BigInt(intPart) * mult
  if (fracPart) bytes += (BigInt(fracPart) * mult) / 10n ** BigInt(fracPart.length)
  return bytes
}
