import {existsSync, readFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {isAbsolute, relative, sep} from 'node:path'
import type {ContainerDetails, EnginePort} from '../docker/port.js'

import type {Project, Service} from '../compose/model.js'
import {ExitCode, TtaError} from '../errors.js'

export interface ContainerDetection {
  inContainer: boolean
  /** What gave it away: /.dockerenv, REMOTE_CONTAINERS, CODESPACES, cgroup. */
  evidence: string[]
}

/** Are we running inside a container (a devcontainer, CI job, ...)? */
export function detectContainer(env: NodeJS.ProcessEnv = process.env, read: (file: string) => string | undefined = readIfExists): ContainerDetection {
  const evidence: string[] = []
  if (existsSync('/.dockerenv')) evidence.push('/.dockerenv')
  if (env.REMOTE_CONTAINERS) evidence.push('REMOTE_CONTAINERS')
  if (env.CODESPACES) evidence.push('CODESPACES')
  const cgroup = read('/proc/1/cgroup') ?? ''
  if (/\/(docker|kubepods|containerd|libpod)[/-]/.test(cgroup)) evidence.push('cgroup')
  return {inContainer: evidence.length > 0, evidence}
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
}

/** One container path prefix and the engine-side (host) path it is mounted from. */
export interface PathMapping {
  container: string
  host: string
}

export interface HostContext {
  detection: ContainerDetection
  /** Our own container, when the engine we talk to runs it (docker outside of docker). */
  selfContainerId?: string
  /** The engine runs on another machine or namespace than tta: bind sources and ports need care. */
  engineIsOutside: boolean
  /** How bind-mount sources under the workspace translate to paths the engine can see. */
  mappings: PathMapping[]
  via: 'none' | 'container mounts' | 'LOCAL_WORKSPACE_FOLDER'
}

/**
 * Works out where tta runs relative to the engine. Inside a devcontainer with the host's engine
 * (docker outside of docker) our own container is one the engine knows: its mounts say which
 * host path each container path comes from. Without that, LOCAL_WORKSPACE_FOLDER (set by the
 * bundled devcontainer.json) maps the workspace.
 */
export async function detectHostContext(engine: Pick<EnginePort, 'containers'>, workspaceRoot: string, env: NodeJS.ProcessEnv = process.env): Promise<HostContext> {
  const detection = detectContainer(env)
  if (!detection.inContainer) return {detection, engineIsOutside: false, mappings: [], via: 'none'}
  const self = await findSelf(engine)
  if (self) {
    const mappings = (self.Mounts ?? [])
      .filter((m) => m.Type === 'bind' && m.Source && m.Destination)
      .map((m) => ({container: m.Destination, host: m.Source}))
      .sort((a, b) => b.container.length - a.container.length)
    return {detection, selfContainerId: self.Id, engineIsOutside: true, mappings, via: 'container mounts'}
  }
  if (env.LOCAL_WORKSPACE_FOLDER) {
    const container = env.TTA_WORKSPACE_IN_CONTAINER ?? workspaceRoot
    return {detection, engineIsOutside: true, mappings: [{container, host: env.LOCAL_WORKSPACE_FOLDER}], via: 'LOCAL_WORKSPACE_FOLDER'}
  }
  // In a container, but the engine does not know us: it runs in here too (docker in docker) or
  // elsewhere entirely; either way paths mean what they say.
  return {detection, engineIsOutside: false, mappings: [], via: 'none'}
}

/**
 * Names or ids our own container may have, for an engine to confirm (its Config.Hostname must be
 * our hostname). Our own /etc/hostname is bind-mounted from .../containers/<id>/hostname, and
 * cgroup v1 names the id, even when the hostname was changed. Other container ids can show up in
 * mountinfo too (an engine running in here mounts its containers' shm), so only these lines count.
 */
export function selfContainerCandidates(): string[] {
  const candidates = new Set<string>([hostname()])
  for (const line of (readIfExists('/proc/self/mountinfo') ?? '').split('\n')) {
    if (line.split(' ')[4] !== '/etc/hostname') continue
    const id = /containers\/([0-9a-f]{64})\//.exec(line)?.[1]
    if (id) candidates.add(id)
  }
  for (const match of (readIfExists('/proc/self/cgroup') ?? '').matchAll(/docker[-/]([0-9a-f]{64})/g)) if (match[1]) candidates.add(match[1])
  return [...candidates]
}

async function findSelf(engine: Pick<EnginePort, 'containers'>): Promise<ContainerDetails | undefined> {
  for (const id of selfContainerCandidates()) {
    try {
      const info = await engine.containers.inspect(id)
      // The container must be the one we run in: same hostname as ours.
      if (info.Config.Hostname === hostname()) return info
    } catch {
      // Not a container of this engine: try the next candidate.
    }
  }
  return undefined
}

/** A container path as the engine's host sees it, or undefined when no mount covers it. */
export function toHostPath(path: string, mappings: PathMapping[]): string | undefined {
  for (const m of mappings) {
    const rest = relative(m.container, path)
    if (rest === '') return m.host
    if (!rest.startsWith('..') && !isAbsolute(rest)) return `${m.host}${m.host.endsWith(sep) ? '' : sep}${rest}`
  }
  return undefined
}

/**
 * Rewrites bind-mount sources that live in tta's own filesystem (the workspace, the bundled
 * compose directory) to host paths. Other absolute paths (/var/run/docker.sock, /sys, ...) are
 * meant for the host already and stay. A source that must be translated but is on no shared
 * mount is an error: mounting it would silently give the service an empty folder.
 */
export function translateBindSources(project: Project, context: HostContext, ownRoots: string[]): Project {
  if (!context.engineIsOutside) return project
  const isOwn = (path: string): boolean => ownRoots.some((root) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep))
  const services: Record<string, Service> = {}
  for (const [name, service] of Object.entries(project.services)) {
    const volumes = service.volumes?.map((volume) => {
      if (volume.type !== 'bind' || !volume.source || !isOwn(volume.source)) return volume
      const host = toHostPath(volume.source, context.mappings)
      if (!host) {
        throw new TtaError(
          `${name}: cannot bind-mount ${volume.source}: tta runs in a container and that path is on no mount shared with the Docker host`,
          ExitCode.badInput,
          context.via === 'none' ? 'set LOCAL_WORKSPACE_FOLDER to the host path of the workspace (the bundled .devcontainer does)' : 'keep the workspace (and tta, via npm link) on the folder VS Code mounts from the host',
        )
      }
      return {...volume, source: host}
    })
    services[name] = volumes ? {...service, volumes} : service
  }
  return {...project, services}
}
