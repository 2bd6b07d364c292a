/** Parses the Go-style duration strings the model holds ("1m30s", "500ms") into nanoseconds. */
export function durationToNanos(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const units: Record<string, number> = {ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9}
  let total = 0
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g
  let matched = ''
  for (let match = re.exec(value); match; match = re.exec(value)) {
    total += Number(match[1]) * (units[match[2] as string] ?? 0)
    matched += match[0]
  }
  if (matched !== value) throw new Error(`invalid duration "${value}"`)
  return Math.round(total)
}

export function durationToMs(value: string | undefined, fallbackMs: number): number {
  const nanos = durationToNanos(value)
  return nanos === undefined ? fallbackMs : nanos / 1e6
}
