/**
 * `.env` / `env_file` parsing as Compose reads them: `#` comments (a whole line, or ` #` after an
 * unquoted value), an optional `export ` prefix, `KEY=value` or `KEY: value`, single quotes
 * (literal), double quotes (escapes, may span lines), `${VAR}` interpolation in unquoted and
 * double-quoted values, and a bare `KEY` that takes its value from the environment.
 */
import {InputError, InputErrors} from '../errors.js'
import {interpolate, InterpolationError, type Lookup} from './interpolate.js'

export interface DotenvOptions {
  /** Variables outside the file, used for `${VAR}` in values and for bare `KEY` lines. */
  lookup?: Lookup
  /** When true, a variable set in `lookup` overrides the file's value (Compose's project `.env`). */
  lookupWins?: boolean
}

// Compose also allows "-", "[" and "]" in names (only interpolation cannot refer to them).
const KEY_CHAR = /[\p{L}\p{N}_.\-[\]]/u
const INLINE_SPACE = /[ \t\v\f\r\u0085\u00a0]/

const DOUBLE_QUOTE_ESCAPES: Record<string, string> = {
  n: '\n',
  r: '\r',
  t: '\t',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
  '\\': '\\',
  '"': '"',
}

export function parseDotenv(text: string, file: string, options: DotenvOptions = {}): Record<string, string> {
  const lookup = options.lookup ?? (() => undefined)
  const out: Record<string, string> = {}
  const src = text.replace(/^\uFEFF/, '')
  let i = 0
  const errorAt = (detail: string, at: number): InputError => {
    const before = src.slice(0, at)
    const ln = before.split('\n').length
    const col = at - (before.lastIndexOf('\n') + 1) + 1
    return new InputError(detail, {file, line: ln, column: col})
  }
  const resolve = (name: string): string | undefined => out[name] ?? lookup(name)
  const expand = (template: string, at: number): string => {
    try {
      return interpolate(template, {lookup: resolve})
    } catch (e) {
      if (e instanceof InterpolationError) throw new InputErrors([errorAt(e.message, at)])
      throw e
    }
  }

  while (i < src.length) {
    // Skip blank space and comment lines up to the next statement.
    const c = src[i] as string
    if (c === '\n') {
      i++
      continue
    }
    if (/\s/.test(c)) {
      i++
      continue
    }
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++
      continue
    }
    if (src.startsWith('export', i) && INLINE_SPACE.test(src[i + 6] ?? '')) {
      i += 6
      while (i < src.length && INLINE_SPACE.test(src[i] as string)) i++
    }
    const keyStart = i
    while (i < src.length && KEY_CHAR.test(src[i] as string)) i++
    const key = src.slice(keyStart, i)
    while (i < src.length && INLINE_SPACE.test(src[i] as string)) i++
    const sep = src[i]
    if (key === '') throw new InputErrors([errorAt(`unexpected character ${JSON.stringify(sep ?? '')} in variable name`, i)])
    if (sep === undefined || sep === '\n') {
      // A bare KEY inherits the value from the environment, when set there.
      const v = lookup(key)
      if (v !== undefined) out[key] = v
      continue
    }
    if (sep !== '=' && sep !== ':') {
      const spaced = INLINE_SPACE.test(src[i - 1] ?? '')
      const detail = spaced ? 'key cannot contain a space' : `unexpected character ${JSON.stringify(sep)} in variable name`
      throw new InputErrors([errorAt(detail, spaced ? keyStart + key.length : i)])
    }
    i++
    while (i < src.length && INLINE_SPACE.test(src[i] as string)) i++
    const q = src[i]
    let value: string
    if (q === '"' || q === "'") {
      const valueStart = i
      let j = i + 1
      let raw = ''
      let closed = false
      while (j < src.length) {
        const ch = src[j] as string
        if (ch === '\\' && j + 1 < src.length) {
          raw += ch + (src[j + 1] as string)
          j += 2
          continue
        }
        if (ch === q) {
          closed = true
          break
        }
        raw += ch
        j++
      }
      if (!closed) throw new InputErrors([errorAt(`unterminated quoted value for ${key}`, valueStart)])
      if (q === "'") {
        value = raw.replace(/\\'/g, "'")
      } else {
        // Unescape first, protecting escaped `$` as `$$` so interpolation keeps it literal.
        let template = ''
        for (let k = 0; k < raw.length; k++) {
          const ch = raw[k] as string
          if (ch === '\\' && k + 1 < raw.length) {
            const nx = raw[k + 1] as string
            if (nx === '$') template += '$$'
            else template += DOUBLE_QUOTE_ESCAPES[nx] ?? `\\${nx}`
            k++
          } else template += ch
        }
        value = expand(template, valueStart)
      }
      // Parsing resumes right after the closing quote, as in Compose: a following `# comment`
      // is skipped, other text is read as the next statement.
      i = j + 1
    } else {
      const valueStart = i
      while (i < src.length && src[i] !== '\n') i++
      let rawValue = src.slice(valueStart, i)
      const comment = rawValue.search(/[ \t]#/)
      if (comment >= 0) rawValue = rawValue.slice(0, comment)
      value = expand(rawValue.replace(/\s+$/, ''), valueStart)
    }
    const fromLookup = options.lookupWins ? lookup(key) : undefined
    out[key] = fromLookup ?? value
  }
  return out
}
