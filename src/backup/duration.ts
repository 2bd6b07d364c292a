/** Retention ages: `30m`, `12h`, `7d`, `2w` (one number, one unit). Pure. */
const UNIT_MS = {s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000} as const

const DURATION = /^([1-9][0-9]*)\s*([smhdw])$/

/** Milliseconds for `7d`-style text; `none`/`off` mean no age limit (null). Undefined when invalid. */
export function parseMaxAge(text: string): number | null | undefined {
  const value = text.trim().toLowerCase()
  if (value === 'none' || value === 'off') return null
  const match = DURATION.exec(value)
  if (!match) return undefined
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]
}

export const MAX_AGE_HELP = 'a number and a unit (s, m, h, d, w), e.g. 7d or 36h; or none for no age limit'

/** A short human age: `45s`, `12m`, `5h`, `3d`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m`
  if (s < 86_400 * 2) return `${Math.floor(s / 3600)}h`
  return `${Math.floor(s / 86_400)}d`
}
