/**
 * .dockerignore-style patterns, as Compose applies them to develop.watch: `*`, `?`, `[...]` within a
 * path segment, `**` across segments, `!` re-includes, the last matching pattern wins, and a pattern
 * that matches a directory matches everything under it. Pure.
 */
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

interface Compiled {
  negate: boolean
  regex: RegExp
}

/** Editor and VCS noise Compose never syncs either. */
export const ALWAYS_IGNORED = ['.git/', '**/.git/', '**/*~', '**/.*.swp', '**/.*.swx', '**/4913', '**/.DS_Store']

export function globToRegExp(glob: string): RegExp {
  let out = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**/` is zero or more whole segments; a trailing `**` is anything.
        if (glob[i + 2] === '/') {
          out += '(?:.*/)?'
          i += 2
        } else {
          out += '.*'
          i += 1
        }
      } else out += '[^/]*'
    } else if (c === '?') out += '[^/]'
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1)
      if (end < 0) out += '\\['
      else {
        const body = glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')
        out += `[${body}]`
        i = end
      }
    } else if (c === '\\' && i + 1 < glob.length) {
      out += escape(glob[i + 1] as string)
      i += 1
    } else out += escape(c)
  }
  return new RegExp(`^${out}$`)
}

const escape = (c: string): string => c.replace(/[.+^${}()|[\]\\/]/g, '\\$&')

function compile(pattern: string): Compiled | undefined {
  let p = pattern.trim()
  if (p === '' || p.startsWith('#')) return undefined
  const negate = p.startsWith('!')
  if (negate) p = p.slice(1).trim()
  p = p.replace(/^\.\//, '').replace(/^\/+/, '').replace(/\/+$/, '')
  if (p === '' || p === '.') return undefined
  return {negate, regex: globToRegExp(p)}
}

/** A list of patterns, matched against paths relative to their base (forward slashes). */
export class PatternSet {
  private readonly compiled: Compiled[]

  constructor(patterns: readonly string[]) {
    this.compiled = patterns.map(compile).filter((c): c is Compiled => c !== undefined)
  }

  get empty(): boolean {
    return this.compiled.length === 0
  }

  /** True when the last pattern matching the path, or one of its parent directories, is not a `!`. */
  matches(relPath: string): boolean {
    const parts = relPath.split('/').filter((s) => s !== '' && s !== '.')
    let matched = false
    for (const {negate, regex} of this.compiled) {
      // A directory pattern covers its contents: test the path and each of its parents.
      for (let n = parts.length; n >= 1; n--) {
        if (regex.test(parts.slice(0, n).join('/'))) {
          matched = !negate
          break
        }
      }
    }
    return matched
  }
}

/** The patterns of `<dir>/.dockerignore`, or none. */
export function readDockerignore(dir: string): string[] {
  const file = join(dir, '.dockerignore')
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8').split(/\r?\n/)
}
