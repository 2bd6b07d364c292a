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
import {applyExtends, type FileContext} from './extends.js'
import {applyInclude} from './include.js'
import {canonicalize, dropResets, mergeNodes} from './merge.js'
import type {LoadedProject} from './model.js'
import {buildProject, normalizeProjectName} from './normalize.js'
import {resolveVolumeDevices} from './relative-paths.js'
import {childPath, validate} from './schema.js'
import {topSchema} from './schema/project.js'
import {mapNode, type PMap, type PNode, parseYamlDocuments, scalarNode} from './tree.js'

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
  /** Enabled profiles (`*` enables all); when none are given, COMPOSE_PROFILES (environment or .env) applies. */
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

export interface InterpolationState {
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

/** The project name the files set (the last `name:` wins), interpolated without COMPOSE_PROJECT_NAME. */
function nameFromFiles(docs: PNode[], lookup: Lookup): string | undefined {
  let name: string | undefined
  for (const doc of docs) {
    const n = doc.kind === 'map' ? doc.entries.get('name')?.value : undefined
    if (n?.kind !== 'scalar' || n.value === null) continue
    try {
      name = interpolate(String(n.value), {lookup})
    } catch {
      // Reported with its position when the tree is interpolated.
    }
  }
  return name === undefined ? undefined : normalizeProjectName(name)
}

/**
 * A compose file read only to be extended from or included: its documents read, interpolated,
 * checked against the schema (all of it for an included file; for a file only extended from,
 * nothing: the services taken from it are checked where they are used), canonicalized and merged.
 * Undefined when it cannot be read or parsed.
 */
export function readComposeTree(file: string, st: InterpolationState, opts: {validateAll: boolean}): PMap | undefined {
  const {errors, warnings} = st
  const text = readText(file, errors)
  if (text === undefined) return undefined
  let docs: PNode[]
  try {
    docs = parseYamlDocuments(text, file)
  } catch (e) {
    collect(e, errors)
    return undefined
  }
  let merged: PMap | undefined
  for (const root of docs) {
    if (root.kind === 'scalar' && root.value === null) continue
    if (root.kind !== 'map') {
      errors.push(new InputError('a compose file must be a mapping at the top level', root.pos))
      return undefined
    }
    const interpolated = interpolateTree(root, '', st) as PMap
    if (opts.validateAll) {
      validate(interpolated, topSchema, '', errors)
      const version = interpolated.entries.get('version')
      if (version) {
        warnings.push(InputError.format('the attribute "version" is obsolete, it will be ignored', version.keyPos, 'version'))
        interpolated.entries.delete('version')
      }
    }
    canonicalize(interpolated, errors, warnings)
    // `!reset` tags stay: they act when this file's services are merged onto their bases.
    merged = merged === undefined ? interpolated : (mergeNodes(merged, interpolated) as PMap)
  }
  return merged ?? mapNode({file, line: 1, column: 1})
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
  const plainLookup: Lookup = (name) => base[name] ?? fromFiles[name]

  // Every YAML document of every file, in order: Compose merges a file's documents as if each
  // were one more -f file.
  const docs: PNode[] = []
  for (const file of files) {
    const text = readText(file, errors)
    if (text === undefined) continue
    let fileDocs: PNode[]
    try {
      fileDocs = parseYamlDocuments(text, file)
    } catch (e) {
      collect(e, errors)
      continue
    }
    if (fileDocs.every((d) => d.kind === 'scalar' && d.value === null)) {
      errors.push(new InputError('empty compose file (Compose refuses it too; give it at least a services: key)', {file, line: 1, column: 1}))
      continue
    }
    docs.push(...fileDocs)
  }

  // Compose offers the project name to interpolation as COMPOSE_PROJECT_NAME, and reads
  // COMPOSE_PROFILES when no profile is given.
  const envProjectName = options.projectName === undefined ? plainLookup('COMPOSE_PROJECT_NAME') || undefined : undefined
  const projectName = options.projectName ?? envProjectName
  const interpolationName = projectName ?? nameFromFiles(docs, plainLookup) ?? normalizeProjectName(path.basename(workingDir))
  const lookup: Lookup = (name) => (name === 'COMPOSE_PROJECT_NAME' ? interpolationName : plainLookup(name))
  const profiles =
    options.profiles && options.profiles.length > 0
      ? options.profiles
      : (plainLookup('COMPOSE_PROFILES') ?? '')
          .split(',')
          .map((p) => p.trim())
          .filter((p) => p !== '')
  const st: InterpolationState = {lookup, used: {}, defaults: {}, warned: new Set(), warnings, errors}

  const trees: PMap[] = []
  let structural = false
  const fileCtx: FileContext = {workingDir, lookup, st, read: readComposeTree, cache: new Map(), includeChain: []}
  for (const root of docs) {
    if (root.kind !== 'map') {
      const what = root.kind === 'scalar' && root.value === null ? ' (this document is empty)' : ''
      errors.push(new InputError(`a compose file must be a mapping at the top level${what}`, root.pos))
      continue
    }
    const name = root.entries.get('name')?.value
    if (name?.kind === 'scalar' && typeof name.value !== 'string' && name.value !== null) {
      // Compose's schema wants a string here; only an interpolated value may look like a number.
      errors.push(new InputError(`name must be a string (quote it: "${String(name.value)}")`, name.pos, 'name'))
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
    canonicalize(interpolated, errors, warnings)
    // Compose applies extends and include to each file on its own, before the overlay merge.
    const before = errors.length
    applyExtends(interpolated, root.pos.file, fileCtx)
    applyInclude(interpolated, root.pos.file, fileCtx)
    if (errors.length > before) structural = true
    trees.push(interpolated)
  }
  // A service whose extends or include failed is incomplete: checking it further only adds noise.
  if (structural) throw new InputErrors(sortErrors(errors, files))
  if (trees.length === 0) throw new InputErrors(sortErrors(errors, files))

  let merged: PNode = dropResets(trees[0] as PMap)
  for (const t of trees.slice(1)) merged = mergeNodes(merged, t)
  resolveVolumeDevices(merged as PMap, workingDir)

  const sources: Record<string, string> = {}
  const project = buildProject(merged as PMap, {
    workingDir,
    lookup,
    projectName,
    profiles,
    errors,
    warnings,
    sources,
  })
  if (errors.length > 0) throw new InputErrors(sortErrors(errors, files))
  return {project, workingDir, configFiles: files, environment: st.used, defaults: st.defaults, warnings, sources}
}
