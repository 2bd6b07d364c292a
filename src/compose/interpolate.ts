/**
 * Variable interpolation as Compose does it: `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`,
 * `${VAR:?msg}`, `${VAR?msg}`, `${VAR:+alt}`, `${VAR+alt}`, `$$` for a literal `$`. Defaults and
 * alternatives are interpolated themselves, so `${A:-${B:-x}}` nests.
 */

export type Lookup = (name: string) => string | undefined

export class InterpolationError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InterpolationError'
  }
}

export interface InterpolationContext {
  lookup: Lookup
  /** Called once per reference to a variable that is unset and has no default. */
  onUnset?: (name: string) => void
  /** Called for every variable looked up, with the value found (undefined when unset). */
  onUse?: (name: string, value: string | undefined) => void
  /** Called when a `${NAME:-default}` / `${NAME-default}` falls back to its default, with that value. */
  onDefault?: (name: string, value: string) => void
}

const NAME_START = /[A-Za-z_]/
const NAME_CHAR = /[A-Za-z0-9_]/
const BRACED = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/

/** Index of the `}` closing the `${` that starts at `open`, counting nested braces; -1 if none. */
function closingBrace(s: string, open: number): number {
  let depth = 1
  for (let i = open + 1; i < s.length; i++) {
    const c = s[i]
    if (c === '{') depth++
    else if (c === '}') {
      depth--
      if (depth === 0) return i
    }
  }
  return -1
}

export function interpolate(s: string, ctx: InterpolationContext): string {
  if (!s.includes('$')) return s
  let out = ''
  let i = 0
  while (i < s.length) {
    const c = s[i]
    if (c !== '$') {
      out += c
      i++
      continue
    }
    const next = s[i + 1]
    if (next === '$') {
      out += '$'
      i += 2
      continue
    }
    if (next === '{') {
      const end = closingBrace(s, i + 1)
      if (end < 0) throw new InterpolationError(`invalid interpolation format: "${s}"`)
      out += substitute(s.slice(i + 2, end), s, ctx)
      i = end + 1
      continue
    }
    if (next !== undefined && NAME_START.test(next)) {
      let j = i + 1
      while (j < s.length && NAME_CHAR.test(s[j] as string)) j++
      const name = s.slice(i + 1, j)
      const value = ctx.lookup(name)
      ctx.onUse?.(name, value)
      if (value === undefined) ctx.onUnset?.(name)
      out += value ?? ''
      i = j
      continue
    }
    // A `$` not followed by a name or brace is kept literally (Compose does the same).
    out += '$'
    i++
  }
  return out
}

function fallback(name: string, arg: string, ctx: InterpolationContext): string {
  const value = interpolate(arg, ctx)
  ctx.onDefault?.(name, value)
  return value
}

function substitute(inner: string, whole: string, ctx: InterpolationContext): string {
  const m = BRACED.exec(inner)
  if (!m) throw new InterpolationError(`invalid interpolation format: "${whole}"`)
  const name = m[1] as string
  const op = m[2]
  const arg = m[3] ?? ''
  const value = ctx.lookup(name)
  ctx.onUse?.(name, value)
  const set = value !== undefined
  const nonEmpty = set && value !== ''
  switch (op) {
    case undefined:
      if (!set) ctx.onUnset?.(name)
      return value ?? ''
    case ':-':
      return nonEmpty ? (value as string) : fallback(name, arg, ctx)
    case '-':
      return set ? (value as string) : fallback(name, arg, ctx)
    case ':+':
      return nonEmpty ? interpolate(arg, ctx) : ''
    case '+':
      return set ? interpolate(arg, ctx) : ''
    case ':?':
    case '?': {
      const ok = op === ':?' ? nonEmpty : set
      if (ok) return value as string
      const msg = interpolate(arg, ctx)
      throw new InterpolationError(`required variable ${name} is missing a value${msg ? `: ${msg}` : ''}`)
    }
    default:
      throw new InterpolationError(`invalid interpolation format: "${whole}"`)
  }
}
