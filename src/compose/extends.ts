/**
 * `extends`: a service starts from another service's definition, in the same file or another
 * one, and its own keys merge on top by the overlay rules (Compose Spec, "extends"). As Compose
 * 2.26 does, it is applied to each file on its own, after interpolation and before the files
 * are merged: a service extends a service of its own file (or of the file it names), never one
 * that only an earlier `-f` file defines.
 */
import {existsSync} from 'node:fs'
import path from 'node:path'

import {InputError} from '../errors.js'
import type {Lookup} from './interpolate.js'
import type {InterpolationState} from './load.js'
import {mergeNodes} from './merge.js'
import {resolveRelativePaths} from './relative-paths.js'
import {childPath, validate} from './schema.js'
import {serviceSchema} from './schema/service.js'
import {cloneNode, type MapEntry, type PMap, type PNode, type Pos} from './tree.js'

/** Reads one compose file into a canonical tree (load.ts provides it; passed in to avoid an import cycle). */
export type TreeReader = (file: string, st: InterpolationState, opts: {validateAll: boolean}) => PMap | undefined

/** What a file's `extends` and `include` entries resolve against. */
export interface FileContext {
  /** Directory relative `extends.file` and `include` paths resolve against (the project directory). */
  workingDir: string
  lookup: Lookup
  st: InterpolationState
  read: TreeReader
  /** Files loaded only to be extended from, by absolute path, so that each is read once. */
  cache: Map<string, PMap | undefined>
  /** The files that included this one, outermost first (to refuse include cycles). */
  includeChain: string[]
}

interface Ref {
  file: string
  service: string
}

function scalarString(n: PNode | undefined): string | undefined {
  return n?.kind === 'scalar' && typeof n.value === 'string' ? n.value : undefined
}

function servicesOf(root: PMap | undefined): PMap | undefined {
  const s = root?.entries.get('services')?.value
  return s?.kind === 'map' ? s : undefined
}

/** The file named by `extends.file`, read once, its relative paths made absolute against its directory. */
function loadBaseFile(file: string, ctx: FileContext): PMap | undefined {
  if (ctx.cache.has(file)) return ctx.cache.get(file)
  const tree = ctx.read(file, ctx.st, {validateAll: false})
  if (tree) resolveRelativePaths(tree, path.dirname(file), {defaultBuildContext: false})
  ctx.cache.set(file, tree)
  return tree
}

function describeChain(chain: Ref[], last: Ref): string {
  const lines = chain.map((r, i) => `${i === 0 ? '' : 'extends '}${r.service} in ${r.file}`)
  lines.push(`extends ${last.service} in ${last.file}`)
  return lines.join(', ')
}

/**
 * Resolve service `name` of `services` (from `file`): returns the service with every `extends`
 * in its chain applied, and stores it back so that each service is merged once.
 */
function resolveService(name: string, services: PMap, file: string, ctx: FileContext, chain: Ref[]): PNode | undefined {
  const entry = services.entries.get(name)
  if (!entry) return undefined
  const svc = entry.value
  if (svc.kind !== 'map') return svc
  const ext = svc.entries.get('extends')
  if (!ext) return svc
  const keyPath = `services.${name}.extends`
  const errors = ctx.st.errors
  const fail = (detail: string, pos: Pos, at = keyPath): undefined => {
    errors.push(new InputError(detail, pos, at))
    // Drop the key so that a later visit (another service extending this one) does not report it again.
    svc.entries.delete('extends')
    return undefined
  }

  let ref: string | undefined
  let refNode: PNode = ext.value
  let baseFile = file
  if (ext.value.kind === 'scalar') ref = scalarString(ext.value)
  else if (ext.value.kind === 'map') {
    const s = ext.value.entries.get('service')
    if (!s) return fail('extends needs a "service" to extend', ext.value.pos)
    ref = scalarString(s.value)
    refNode = s.value
    const f = ext.value.entries.get('file')
    if (f) {
      const fileName = scalarString(f.value)
      if (fileName === undefined || fileName === '') return fail('expected a file name', f.value.pos, childPath(keyPath, 'file'))
      baseFile = path.resolve(ctx.workingDir, fileName)
      if (!existsSync(baseFile)) return fail(`cannot read ${baseFile}: no such file`, f.value.pos, childPath(keyPath, 'file'))
    }
  }
  if (ref === undefined || ref === '') return fail('expected the name of a service to extend', refNode.pos)

  const here: Ref = {file, service: name}
  const target: Ref = {file: baseFile, service: ref}
  const loop = [...chain, here]
  if (loop.some((r) => r.file === target.file && r.service === target.service)) {
    return fail(`circular extends: ${describeChain(loop, target)}`, refNode.pos)
  }

  let baseServices: PMap | undefined = services
  if (baseFile !== file) {
    const other = loadBaseFile(baseFile, ctx)
    if (!other) {
      // Unparsable: its own errors are already reported.
      svc.entries.delete('extends')
      return undefined
    }
    baseServices = servicesOf(other)
  }
  const baseEntry = baseServices?.entries.get(ref)
  if (!baseServices || !baseEntry) {
    const where = baseFile === file ? 'this file' : baseFile
    return fail(`service "${ref}" to extend is not defined in ${where}`, refNode.pos)
  }
  // A service taken from a file read only for extends (not schema-checked as a whole) is checked
  // here, where it is used: the one named and each one its chain passes through.
  if (ctx.cache.has(baseFile) && baseEntry.value.kind === 'map') {
    validate(baseEntry.value, serviceSchema, `services.${ref}`, errors)
  }

  const base = resolveService(ref, baseServices, baseFile, ctx, loop)
  const own = cloneNode(svc)
  own.entries.delete('extends')
  // A null base (`base:` with no keys) contributes nothing.
  const merged = base === undefined || base.kind !== 'map' ? own : mergeNodes(cloneNode(base), own, 'services.x')
  // The service keeps its own position: errors about it as a whole point at its definition.
  merged.pos = svc.pos
  services.entries.set(name, {...entry, value: merged} satisfies MapEntry)
  return merged
}

/** Apply every `extends` in one file's canonical tree, in place. */
export function applyExtends(root: PMap, file: string, ctx: FileContext): void {
  const services = servicesOf(root)
  if (!services) return
  for (const name of [...services.entries.keys()]) resolveService(name, services, file, ctx, [])
}
