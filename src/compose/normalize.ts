/**
 * From the merged tree to the Project model, in the shapes and key order Compose prints, plus the
 * checks that need the whole project: profiles, depends_on targets and cycles, undeclared
 * networks/volumes/secrets/configs. The parts live in compose/normalize/, one area each; all are
 * pure but env-file.ts, which reads the services' env_file entries from disk.
 */
import path from 'node:path'

import {InputError} from '../errors.js'
import type {Project, Service} from './model.js'
import {isValidProjectName} from './project-name.js'
import {type PMap, toPlain} from './tree.js'
import {type BuildContext, Ctx, type ServiceRefs} from './normalize/context.js'
import {checkBuildContextServices, checkDependencyTargets, reportCycles} from './normalize/dependencies.js'
import {asMap, get, str, strList} from './normalize/readers.js'
import {service} from './normalize/service.js'
import {topLevelResources} from './normalize/top-level.js'

/** Compose's normalization of a project name taken from `name:` or a directory. */
export function normalizeProjectName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[_-]+/, '')
}

export function buildProject(root: PMap, b: BuildContext): Project {
  const top = new Ctx(b, '')
  const name = projectName(root, b, top)

  const servicesNode = asMap(get(root, 'services'))
  const all = new Map<string, PMap>()
  for (const e of servicesNode?.entries.values() ?? []) {
    if (e.value.kind === 'map') all.set(e.key, e.value)
    else all.set(e.key, {kind: 'map', pos: e.value.pos, entries: new Map()})
  }
  const enabled = new Set(b.profiles)
  const isActive = (m: PMap): boolean => {
    const profiles = strList(get(m, 'profiles'))
    if (!profiles || profiles.length === 0) return true
    return enabled.has('*') || profiles.some((p) => enabled.has(p))
  }

  const refs: ServiceRefs = {implicitDeps: new Map(), volumes: [], networks: [], secrets: [], configs: []}
  const services: Record<string, Service> = {}
  for (const key of [...all.keys()].sort()) {
    const m = all.get(key) as PMap
    if (!isActive(m)) continue
    services[key] = service(key, m, new Ctx(b, `services.${key}`), refs)
  }

  checkDependencyTargets(services, all, refs, top)
  reportCycles(services, all, top)
  checkBuildContextServices(services, all, top)

  const project = name
  const {networks, volumes, secrets, configs} = topLevelResources(root, project, refs, top)

  // Key order as Compose prints the project (alphabetical).
  const out: Partial<Project> = {}
  if (Object.keys(configs).length > 0) out.configs = configs
  out.name = project
  out.networks = networks
  if (Object.keys(secrets).length > 0) out.secrets = secrets
  out.services = services
  out.volumes = volumes
  // Top-level extensions are part of what Compose prints (service-level ones are not).
  const extensions: Record<string, unknown> = {}
  for (const key of [...root.entries.keys()].sort()) {
    const e = root.entries.get(key)
    if (e && key.startsWith('x-')) extensions[key] = toPlain(e.value)
  }
  if (Object.keys(extensions).length > 0) out.extensions = extensions
  return out as Project
}

/** The name given (checked), else `name:` or the working directory's name, normalised as Compose does. */
function projectName(root: PMap, b: BuildContext, top: Ctx): string {
  if (b.projectName !== undefined) {
    if (!isValidProjectName(b.projectName)) {
      b.errors.push(
        new InputError(
          `invalid project name "${b.projectName}": use lowercase letters, digits, "-" and "_", starting with a letter or digit`,
        ),
      )
    }
    return b.projectName
  }
  const nameNode = get(root, 'name')
  const raw = str(nameNode) ?? path.basename(b.workingDir)
  const name = normalizeProjectName(raw)
  if (name === '') {
    if (nameNode) top.error(`invalid project name "${raw}"`, nameNode, 'name')
    else b.errors.push(new InputError(`cannot derive a project name from "${b.workingDir}"; set name: or --project-name`))
  }
  return name
}
