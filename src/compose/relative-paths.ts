/**
 * Relative paths in a file that is extended from or included resolve against that file's own
 * directory, as Compose resolves them, not against the project's working directory. These helpers
 * make such paths absolute in the canonical tree before its content joins the project's.
 */
import path from 'node:path'

import {isPathSource, parseVolumeSpec} from './short-syntax.js'
import {type MapEntry, type PMap, type PNode, scalarNode} from './tree.js'

/** Build contexts that are not directories on this machine stay as written. */
export function isRemoteContext(context: string): boolean {
  return context.includes('://') || /^(https?:\/\/|git:\/\/|ssh:\/\/|github\.com\/|git@)/.test(context)
}

/** An additional build context that is not a local path: remote, an image, or another service's build. */
export function isContextReference(context: string): boolean {
  return isRemoteContext(context) || context.startsWith('service:')
}

/** A host path as Compose takes it for a bind device: "" is the directory itself, Windows paths stay. */
function hostPath(p: string, dir: string): string {
  if (/^[a-zA-Z]:[\\/]/.test(p) || p.startsWith('\\\\')) return p
  return p === '' ? dir : absolutePath(p, dir)
}

/** `p` made absolute against `dir`; `~` paths, absolute paths and "" are left to the normalizer. */
export function absolutePath(p: string, dir: string): string {
  if (p === '' || p.startsWith('~') || path.isAbsolute(p)) return p
  // Go's filepath.Join cleans the result: no trailing slash.
  return path.resolve(dir, p)
}

function rewriteScalar(n: PNode | undefined, fn: (s: string) => string): PNode | undefined {
  if (n?.kind !== 'scalar' || typeof n.value !== 'string') return n
  const next = fn(n.value)
  if (next === n.value) return n
  const out = scalarNode(n.pos, next)
  if (n.tag) out.tag = n.tag
  return out
}

function setEntry(m: PMap, key: string, fn: (n: PNode) => PNode | undefined): void {
  const e = m.entries.get(key)
  if (!e) return
  const v = fn(e.value)
  if (v && v !== e.value) m.entries.set(key, {...e, value: v} satisfies MapEntry)
}

function mapValues(m: PNode, fn: (n: PNode) => PNode | undefined): void {
  if (m.kind !== 'map') return
  for (const key of m.entries.keys()) setEntry(m, key, fn)
}

/** A short-syntax volume with a relative bind source gets the absolute source. */
function rewriteVolume(item: PNode, dir: string): PNode {
  if (item.kind === 'map') {
    const type = item.entries.get('type')?.value
    if (type?.kind === 'scalar' && type.value === 'bind') setEntry(item, 'source', (s) => rewriteScalar(s, (v) => absolutePath(v, dir)))
    return item
  }
  return (
    rewriteScalar(item, (spec) => {
      try {
        const v = parseVolumeSpec(spec)
        if (v.type !== 'bind' || v.source === undefined || !isPathSource(v.source)) return spec
        return absolutePath(v.source, dir) + spec.slice(v.source.length)
      } catch {
        return spec // the normalizer reports a bad spec with its position
      }
    }) ?? item
  )
}

function rewriteService(svc: PMap, dir: string, opts: RewriteOptions): void {
  setEntry(svc, 'build', (b) => {
    if (b.kind !== 'map') return b
    const context = b.entries.get('context')
    if (!context && opts.defaultBuildContext) {
      b.entries.set('context', {key: 'context', keyPos: b.pos, value: scalarNode(b.pos, dir)})
    }
    setEntry(b, 'context', (c) => rewriteScalar(c, (v) => (isRemoteContext(v) ? v : absolutePath(v, dir))))
    setEntry(b, 'additional_contexts', (ac) => {
      mapValues(ac, (c) => rewriteScalar(c, (v) => (isContextReference(v) ? v : absolutePath(v, dir))))
      return ac
    })
    return b
  })
  setEntry(svc, 'env_file', (ef) => {
    if (ef.kind !== 'seq') return ef
    return {
      ...ef,
      items: ef.items.map((i) => {
        if (i.kind === 'map') {
          setEntry(i, 'path', (p) => rewriteScalar(p, (v) => absolutePath(v, dir)))
          return i
        }
        return rewriteScalar(i, (v) => absolutePath(v, dir)) ?? i
      }),
    }
  })
  setEntry(svc, 'extends', (ext) => {
    if (ext.kind === 'map') setEntry(ext, 'file', (f) => rewriteScalar(f, (v) => absolutePath(v, dir)))
    return ext
  })
  setEntry(svc, 'volumes', (vols) => (vols.kind === 'seq' ? {...vols, items: vols.items.map((i) => rewriteVolume(i, dir))} : vols))
  setEntry(svc, 'develop', (dev) => {
    if (dev.kind !== 'map') return dev
    setEntry(dev, 'watch', (w) => {
      if (w.kind === 'seq') for (const rule of w.items) if (rule.kind === 'map') setEntry(rule, 'path', (p) => rewriteScalar(p, (v) => absolutePath(v, dir)))
      return w
    })
    return dev
  })
}

export interface RewriteOptions {
  /** Give a `build:` without a context the file's directory (Compose does for included files). */
  defaultBuildContext: boolean
}

/** Make the relative paths of one file's canonical tree absolute against `dir`, in place. */
export function resolveRelativePaths(root: PMap, dir: string, opts: RewriteOptions): void {
  const services = root.entries.get('services')?.value
  if (services?.kind === 'map') for (const e of services.entries.values()) if (e.value.kind === 'map') rewriteService(e.value, dir, opts)
  for (const section of ['configs', 'secrets']) {
    const s = root.entries.get(section)?.value
    if (s?.kind === 'map') for (const e of s.entries.values()) if (e.value.kind === 'map') setEntry(e.value, 'file', (f) => rewriteScalar(f, (v) => absolutePath(v, dir)))
  }
  resolveVolumeDevices(root, dir)
}

/**
 * A local volume that is really a bind mount (`o: bind`, `device: ./x`) names a host directory:
 * Compose makes it absolute against the project directory (or the included file's).
 */
export function resolveVolumeDevices(root: PMap, dir: string): void {
  const volumes = root.entries.get('volumes')?.value
  if (volumes?.kind === 'map') {
    for (const e of volumes.entries.values()) {
      const v = e.value
      if (v.kind !== 'map') continue
      const driver = v.entries.get('driver')?.value
      const opts = v.entries.get('driver_opts')?.value
      if (driver?.kind !== 'scalar' || driver.value !== 'local' || opts?.kind !== 'map') continue
      const o = opts.entries.get('o')?.value
      if (o?.kind === 'scalar' && o.value === 'bind') setEntry(opts, 'device', (d) => rewriteScalar(d, (x) => hostPath(x, dir)))
    }
  }
}
