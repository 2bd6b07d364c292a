/** Seconds with one decimal, the unit every progress line uses. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`
}

export function bytes(n: number | undefined): string {
  if (n === undefined || n < 0) return '?'
  const units = ['B', 'kB', 'MB', 'GB', 'TB']
  let value = n
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`
}

/** A plain aligned table: no borders, so it reads the same in a terminal and a CI log. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows]
  const widths = header.map((_, i) => Math.max(...all.map((r) => visibleLength(r[i] ?? ''))))
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : pad(cell, widths[i] ?? 0))).join('  ').trimEnd()).join('\n')
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[0-9;]*m/g

function visibleLength(s: string): number {
  return s.replace(ANSI, '').length
}

function pad(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - visibleLength(s)))
}
