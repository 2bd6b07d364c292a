/**
 * The compose loader: files -> YAML trees with positions -> interpolation -> schema check ->
 * canonical shapes -> overlay merge -> the normalized Project (exactly what
 * `docker compose config --format json` prints) -> cross-reference checks. Pure: reads files,
 * never prints, never talks to Docker. All input errors are collected and thrown at once as
 * InputErrors.
 */
import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'

import {InputError, InputErrors} from '../errors.js'
import {parseDotenv} from './dotenv.js'
import {interpolate, InterpolationError, type Lookup} from './interpolate.js'
import {canonicalize, dropResets, mergeNodes} from './merge.js'
import type {LoadedProject} from './model.js'
import {buildProject} from './normalize.js'
import {childPath, topSchema, validate} from './schema.js'
import {mapNode, type PMap, type PNode, parseYamlFile, scalarNode} from './tree.js'

export interface LoadOptions {
  /** Absolute paths of the compose files, in merge order. */
  files: string[]
  /** Overrides the top-level `name:` and the directory name. Must be a valid project name. */
  projectName?: string
  /** Where relative paths resolve; defaults to the first file's directory. */
  workingDir?: string
  /** Variables for interpolation; defaults to process.env. Wins over envFiles. */
  environment?: Record<string, string | undefined>
  /** Dotenv files for interpolation; defaults to `<workingDir>/.env` when it exists. */
  envFiles?: string[]
  /** Enabled profiles (`*` enables all). */
  profiles?: string[]
}

function readText(file: string, errors: InputError[], pos?: InputError['position'], keyPath?: string): string | undefined {
  try {
    return readFileSync(file, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String((e as Error).message)
    errors.push(new InputError(`cannot read ${file}: ${why}`, pos, keyPath))
    return undefined
  }
}

function collect(e: unknown, errors: InputError[]): void {
  if (e instanceof InputErrors) errors.push(...e.errors)
  else if (e instanceof InputError) errors.push(e)
  else throw e
}

interface InterpolationState {
  lookup: Lookup
  used: Record<string, string>
  defaults: Record<string, string>
  warned: Set<string>
  warnings: string[]
  errors: InputError[]
}

/** Interpolate every string scalar (not keys), extensions included, as Compose does. */
function interpolateTree(node: PNode, keyPath: string, st: InterpolationState): PNode {
  if (node.kind === 'map') {
    const out = mapNode(node.pos, [], node.tag)
    for (const e of node.entries.values()) {
      out.entries.set(e.key, {...e, value: interpolateTree(e.value, childPath(keyPath, e.key), st)})
    }
    return out
  }
  if (node.kind === 'seq') {
    return {...node, items: node.items.map((item, i) => interpolateTree(item, childPath(keyPath, i), st))}
  }
  if (typeof node.value !== 'string' || !node.value.includes('$')) return node
  try {
    const value = interpolate(node.value, {
      lookup: st.lookup,
      onUse: (name, v) => {
        st.used[name] = v ?? ''
      },
      onDefault: (name, v) => {
        st.defaults[name] = v
      },
      onUnset: (name) => {
        if (st.warned.has(name)) return
        st.warned.add(name)
        st.warnings.push(
          InputError.format(`the "${name}" variable is not set; defaulting to a blank string`, node.pos, keyPath),
        )
      },
    })
    const out = scalarNode(node.pos, value)
    if (node.tag) out.tag = node.tag
    return out
  } catch (e) {
    if (!(e instanceof InterpolationError)) throw e
    st.errors.push(new InputError(e.message, node.pos, keyPath))
    return node
  }
}

/** Errors in file order, then line and column; errors without a position last. */
function sortErrors(errors: InputError[], files: string[]): InputError[] {
  const rank = (e: InputError): [number, number, number] => {
    const p = e.position
    if (!p) return [Infinity, 0, 0]
    const i = files.indexOf(p.file)
    return [i < 0 ? files.length : i, p.line, p.column]
  }
  const sorted = [...errors].sort((a, b) => {
    const ra = rank(a)
    const rb = rank(b)
    return ra[0] - rb[0] || ra[1] - rb[1] || ra[2] - rb[2]
  })
  // One mistake often trips a later check on the same node too (an uninterpolated value is also
  // a bad image name; a service that is not a mapping has no image): report the first only.
  const seen = new Set<string>()
  return sorted.filter((e) => {
    if (!e.position) return true
    const at = `${e.position.file}:${e.position.line}:${e.position.column}`
    if (seen.has(at)) return false
    seen.add(at)
    return true
  })
}

export function loadProject(options: LoadOptions): LoadedProject {
  if (options.files.length === 0) throw new InputErrors([new InputError('no compose file given')])
  const files = options.files.map((f) => path.resolve(f))
  const workingDir = path.resolve(options.workingDir ?? path.dirname(files[0] as string))
  const errors: InputError[] = []
  const warnings: string[] = []

  // Interpolation variables: the environment wins over dotenv files.
  const base = options.environment ?? process.env
  const fromFiles: Record<string, string> = {}
  const envFiles = options.envFiles ?? (existsSync(path.join(workingDir, '.env')) ? [path.join(workingDir, '.env')] : [])
  for (const envFile of envFiles) {
    const text = readText(path.resolve(workingDir, envFile), errors)
    if (text === undefined) continue
    try {
      Object.assign(fromFiles, parseDotenv(text, path.resolve(workingDir, envFile), {lookup: (n) => base[n] ?? fromFiles[n]}))
    } catch (e) {
      collect(e, errors)
    }
  }
  // An unreadable .env would make every variable it sets look unset: report the .env alone.
  if (errors.length > 0) throw new InputErrors(errors)
  const lookup: Lookup = (name) => base[name] ?? fromFiles[name]
  const st: InterpolationState = {lookup, used: {}, defaults: {}, warned: new Set(), warnings, errors}

  const trees: PMap[] = []
  for (const file of files) {
    const text = readText(file, errors)
    if (text === undefined) continue
    let root: PNode | null
    try {
      root = parseYamlFile(text, file)
    } catch (e) {
      collect(e, errors)
      continue
    }
    if (root === null) root = mapNode({file, line: 1, column: 1})
    if (root.kind !== 'map') {
      errors.push(new InputError('a compose file must be a mapping at the top level', root.pos))
      continue
    }
    const interpolated = interpolateTree(root, '', st) as PMap
    validate(interpolated, topSchema, '', errors)
    const version = interpolated.entries.get('version')
    if (version) {
      warnings.push(InputError.format('the attribute "version" is obsolete, it will be ignored', version.keyPos, 'version'))
      interpolated.entries.delete('version')
    }
    // Keep going after schema errors: the later stages skip ill-typed values, and the user gets
    // every problem in one run.
    canonicalize(interpolated, errors)
    trees.push(interpolated)
  }
  if (trees.length === 0) throw new InputErrors(sortErrors(errors, files))

  let merged: PNode = dropResets(trees[0] as PMap)
  for (const t of trees.slice(1)) merged = mergeNodes(merged, t)

  const project = buildProject(merged as PMap, {
    workingDir,
    lookup,
    projectName: options.projectName,
    profiles: options.profiles ?? [],
    errors,
    warnings,
  })
  if (errors.length > 0) throw new InputErrors(sortErrors(errors, files))
  return {project, workingDir, configFiles: files, environment: st.used, defaults: st.defaults, warnings}
}
