/**
 * `include`: other compose files loaded as projects of their own (own project directory, own
 * `.env`, relative paths resolved against the included file's directory) whose services,
 * networks, volumes, secrets and configs join the including file's. As in Compose 2.26, a
 * resource the including file also defines is an error unless both definitions are identical,
 * and each file's includes are applied before the `-f` overlay merge, so a later `-f` file may
 * still override an included service.
 */
import {existsSync, readFileSync, statSync} from 'node:fs'
import path from 'node:path'

import {InputError, InputErrors} from '../errors.js'
import {parseDotenv} from './dotenv.js'
import {applyExtends, type FileContext} from './extends.js'
import type {Lookup} from './interpolate.js'
import type {InterpolationState} from './load.js'
import {dropResets, mergeNodes} from './merge.js'
import {resolveRelativePaths} from './relative-paths.js'
import {childPath} from './schema.js'
import {mapNode, type PMap, type PNode, type Pos, toPlain} from './tree.js'

const SECTIONS = ['services', 'volumes', 'networks', 'secrets', 'configs'] as const

interface IncludeSpec {
  paths: {value: string; pos: Pos}[]
  envFiles: {value: string; pos: Pos}[]
  projectDirectory?: string
  pos: Pos
  keyPath: string
}

function strings(n: PNode | undefined, keyPath: string, errors: InputError[]): {value: string; pos: Pos}[] {
  if (n === undefined) return []
  const items = n.kind === 'seq' ? n.items : [n]
  const out: {value: string; pos: Pos}[] = []
  items.forEach((i, idx) => {
    if (i.kind === 'scalar' && typeof i.value === 'string' && i.value !== '') out.push({value: i.value, pos: i.pos})
    else errors.push(new InputError('expected a file path', i.pos, n.kind === 'seq' ? childPath(keyPath, idx) : keyPath))
  })
  return out
}

function parseSpecs(node: PNode, errors: InputError[]): IncludeSpec[] {
  if (node.kind !== 'seq') return [] // the schema check has reported it
  const specs: IncludeSpec[] = []
  node.items.forEach((item, i) => {
    const keyPath = `include[${i}]`
    if (item.kind === 'scalar') {
      const paths = strings(item, keyPath, errors)
      if (paths.length > 0) specs.push({paths, envFiles: [], pos: item.pos, keyPath})
      return
    }
    if (item.kind !== 'map') return
    const p = item.entries.get('path')
    if (!p) {
      errors.push(new InputError('an include entry needs a "path"', item.pos, keyPath))
      return
    }
    const paths = strings(p.value, childPath(keyPath, 'path'), errors)
    if (paths.length === 0) return
    const spec: IncludeSpec = {paths, envFiles: strings(item.entries.get('env_file')?.value, childPath(keyPath, 'env_file'), errors), pos: item.pos, keyPath}
    const pd = item.entries.get('project_directory')?.value
    if (pd?.kind === 'scalar' && typeof pd.value === 'string' && pd.value !== '') spec.projectDirectory = pd.value
    specs.push(spec)
  })
  return specs
}

/** Interpolation variables of an included project: the including project's win over its env files. */
function includedLookup(spec: IncludeSpec, projectDir: string, ctx: FileContext, errors: InputError[]): Lookup | undefined {
  let files: {file: string; pos: Pos}[]
  if (spec.envFiles.length === 0) {
    const dotenv = path.join(projectDir, '.env')
    files = existsSync(dotenv) && statSync(dotenv).isFile() ? [{file: dotenv, pos: spec.pos}] : []
  } else {
    files = spec.envFiles.map((f) => ({file: path.resolve(ctx.workingDir, f.value), pos: f.pos}))
  }
  const fromFiles: Record<string, string> = {}
  let ok = true
  for (const {file, pos} of files) {
    let text: string
    try {
      if (!statSync(file).isFile()) throw new Error('is a directory')
      text = readFileSync(file, 'utf8')
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message
      errors.push(new InputError(`cannot read env file ${file}: ${why}`, pos, childPath(spec.keyPath, 'env_file')))
      ok = false
      continue
    }
    try {
      Object.assign(fromFiles, parseDotenv(text, file, {lookup: (n) => ctx.lookup(n) ?? fromFiles[n]}))
    } catch (e) {
      if (e instanceof InputErrors) errors.push(...e.errors)
      else if (e instanceof InputError) errors.push(e)
      else throw e
      ok = false
    }
  }
  if (!ok) return undefined
  return (name) => ctx.lookup(name) ?? fromFiles[name]
}

/** Load one include entry as a project of its own: its files merged, its own extends and includes applied. */
function loadIncluded(spec: IncludeSpec, ctx: FileContext): PMap | undefined {
  const errors = ctx.st.errors
  const files = spec.paths.map((p) => path.resolve(ctx.workingDir, p.value))
  const main = files[0] as string
  if (ctx.includeChain.includes(main)) {
    errors.push(new InputError(`include cycle: ${[...ctx.includeChain, main].join(' includes ')}`, spec.paths[0]?.pos ?? spec.pos, spec.keyPath))
    return undefined
  }
  const projectDir = spec.projectDirectory === undefined ? path.dirname(main) : path.resolve(ctx.workingDir, spec.projectDirectory)
  const lookup = includedLookup(spec, projectDir, ctx, errors)
  if (!lookup) return undefined
  const st: InterpolationState = {...ctx.st, lookup}
  const inner: FileContext = {...ctx, workingDir: projectDir, lookup, st, cache: new Map(), includeChain: [...ctx.includeChain, main]}
  const trees: PMap[] = []
  files.forEach((file, i) => {
    if (!existsSync(file)) {
      const p = spec.paths[i]
      errors.push(new InputError(`cannot include ${file}: no such file`, p?.pos ?? spec.pos, spec.keyPath))
      return
    }
    const tree = inner.read(file, st, {validateAll: true})
    if (!tree) return
    applyExtends(tree, file, inner)
    applyInclude(tree, file, inner)
    trees.push(tree)
  })
  if (trees.length !== files.length) return undefined
  let merged = dropResets(trees[0] as PMap) as PMap
  for (const t of trees.slice(1)) merged = mergeNodes(merged, t) as PMap
  // Compose resolves every included file's paths against the project directory when one is
  // given (against the including project's when that directory does not exist), else against the
  // first file's directory.
  const base = spec.projectDirectory === undefined ? path.dirname(main) : existsSync(projectDir) ? projectDir : ctx.workingDir
  resolveRelativePaths(merged, base, {defaultBuildContext: true})
  return merged
}

/** Apply the `include` entries of one file's canonical tree, in place (the key is removed). */
export function applyInclude(root: PMap, file: string, ctx: FileContext): void {
  const inc = root.entries.get('include')
  if (!inc) return
  root.entries.delete('include')
  const errors = ctx.st.errors
  const chained: FileContext = {...ctx, includeChain: ctx.includeChain.length === 0 ? [file] : ctx.includeChain}
  for (const spec of parseSpecs(inc.value, errors)) {
    const imported = loadIncluded(spec, chained)
    if (!imported) continue
    for (const section of SECTIONS) {
      const from = imported.entries.get(section)?.value
      if (from?.kind !== 'map') continue
      const existing = root.entries.get(section)
      let to: PMap
      if (existing?.value.kind === 'map') to = existing.value
      else {
        to = mapNode(existing?.keyPos ?? inc.keyPos)
        root.entries.set(section, {key: section, keyPos: existing?.keyPos ?? inc.keyPos, value: to})
      }
      for (const e of from.entries.values()) {
        const mine = to.entries.get(e.key)
        if (!mine) {
          to.entries.set(e.key, e)
          continue
        }
        if (JSON.stringify(toPlain(mine.value)) === JSON.stringify(toPlain(e.value))) continue
        errors.push(
          new InputError(
            `conflicts with the definition included from ${spec.paths[0]?.value} (${e.value.pos.file}:${e.value.pos.line}); only identical definitions may meet`,
            mine.keyPos,
            `${section}.${e.key}`,
          ),
        )
      }
    }
  }
}
