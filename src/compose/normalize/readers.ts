/** Small readers from tree nodes to plain values (the schema has already checked kinds); the few that can fail report to the Ctx. */
import os from 'node:os'
import path from 'node:path'

import {InputError} from '../../errors.js'
import {shellSplit} from '../shell-split.js'
import {type PMap, type PNode, scalarString} from '../tree.js'
import {normalizeDuration, parseBytes} from '../units.js'
import type {Ctx} from './context.js'

export function get(m: PMap | undefined, key: string): PNode | undefined {
  return m?.entries.get(key)?.value
}

export function asMap(n: PNode | undefined): PMap | undefined {
  return n?.kind === 'map' ? n : undefined
}

export function str(n: PNode | undefined): string | undefined {
  if (n?.kind !== 'scalar' || n.value === null) return undefined
  return scalarString(n)
}

export function int(n: PNode | undefined): number | undefined {
  // A float written as an integer (1e6) is a JS number here; its Go text ("1e+06") is not.
  if (n?.kind === 'scalar' && typeof n.value === 'number') return Math.trunc(n.value)
  const s = str(n)
  return s === undefined ? undefined : Number.parseInt(s, 10)
}

export function num(n: PNode | undefined): number | undefined {
  const s = str(n)
  return s === undefined ? undefined : Number(s)
}

export function bool(n: PNode | undefined): boolean | undefined {
  if (n?.kind !== 'scalar' || n.value === null) return undefined
  if (typeof n.value === 'boolean') return n.value
  return String(n.value).toLowerCase() === 'true'
}

export function strList(n: PNode | undefined): string[] | undefined {
  if (n?.kind !== 'seq') return undefined
  return n.items.map((i) => str(i) ?? '')
}

export function strMap(n: PNode | undefined): Record<string, string> | undefined {
  const m = asMap(n)
  if (!m) return undefined
  const out: Record<string, string> = {}
  for (const k of [...m.entries.keys()].sort()) out[k] = str(get(m, k)) ?? ''
  return out
}

export function nullableStrMap(n: PNode | undefined): Record<string, string | null> | undefined {
  const m = asMap(n)
  if (!m) return undefined
  const out: Record<string, string | null> = {}
  for (const k of [...m.entries.keys()].sort()) out[k] = str(get(m, k)) ?? null
  return out
}

export function setIf<T extends object, K extends keyof T>(o: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) o[key] = value
}

export function duration(n: PNode | undefined, keyPath: string, ctx: Ctx): string | undefined {
  const s = str(n)
  if (s === undefined || n === undefined) return undefined
  try {
    const d = normalizeDuration(s)
    // Go accepts negative durations; no Compose setting means anything by one.
    if (d.startsWith('-')) throw new Error(`invalid duration "${s}": must not be negative`)
    return d
  } catch (e) {
    ctx.error((e as Error).message, n, keyPath)
    return undefined
  }
}

export function bytes(n: PNode | undefined, keyPath: string, ctx: Ctx): string | undefined {
  if (n?.kind !== 'scalar' || n.value === null) return undefined
  try {
    const v = parseBytes(typeof n.value === 'number' ? n.value : String(n.value))
    // Compose omits a zero size, as Go's omitempty does.
    return v === 0n ? undefined : v.toString()
  } catch (e) {
    ctx.error((e as Error).message, n, keyPath)
    return undefined
  }
}

export function resolvePath(p: string, workingDir: string): string {
  if (p === '~' || p.startsWith('~/')) return path.join(os.homedir(), p.slice(1))
  // Compose keeps an absolute path exactly as written (a trailing slash included), a Windows one too.
  if (path.isAbsolute(p) || /^[a-zA-Z]:[\\/]/.test(p)) return p
  return path.resolve(workingDir, p)
}

/** Go's path.Clean, which Compose applies to a volume's target: no trailing slash, no `.` parts. */
export function cleanTarget(target: string): string {
  if (target === '') return target
  const c = path.posix.normalize(target)
  return c.length > 1 && c.endsWith('/') ? c.slice(0, -1) : c
}

/** A command or entrypoint: a list as written, or a string split as Compose splits it (no shell). */
export function command(n: PNode | undefined, keyPath: string, ctx: Ctx): string[] | null {
  if (n === undefined || (n.kind === 'scalar' && n.value === null)) return null
  if (n.kind === 'seq') return n.items.map((i) => str(i) ?? '')
  const s = str(n) ?? ''
  try {
    const {words, dropped} = shellSplit(s)
    if (dropped !== undefined) {
      ctx.b.warnings.push(
        InputError.format(
          `"${dropped}" is ignored: Compose does not run ${keyPath.split('.').pop()} through a shell; use ["sh", "-c", "..."]`,
          n.pos,
          keyPath,
        ),
      )
    }
    return words
  } catch (e) {
    ctx.error((e as Error).message, n, keyPath)
    return null
  }
}
