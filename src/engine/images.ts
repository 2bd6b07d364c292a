import {readdirSync, statSync} from 'node:fs'
import {isAbsolute, join, relative} from 'node:path'

import type {LoadedProject, Project, Service} from '../compose/model.js'
import {resolveEndpoint} from '../docker/endpoint.js'
import type {BuildOptions, EnginePort} from '../docker/port.js'
import {dockerCliSshEnv} from '../docker/ssh/docker-cli.js'
import type {Emit} from './events.js'
import {Label} from './labels.js'
import {imageFor} from './spec.js'
import {execVerbose} from '../debug.js'

/** tta.config.yaml `images:` applied to services that run a named image (builds keep their name). */
export function applyImageMap(project: Project, map: Record<string, string>): Project {
  if (Object.keys(map).length === 0) return project
  const services: Record<string, Service> = {}
  for (const [name, service] of Object.entries(project.services)) {
    const mapped = !service.build && service.image ? map[service.image] : undefined
    services[name] = mapped ? {...service, image: mapped} : service
  }
  return {...project, services}
}

/** The image's healthcheck as the engine stores it (Test, Timeout in ns). */
/** An image's HEALTHCHECK as the engine reports it (durations in nanoseconds). */
export type ImageHealthcheck = {Test?: string[]; Timeout?: number; Interval?: number; StartPeriod?: number; StartInterval?: number}

/** An image's id and own healthcheck, or undefined when the engine does not have it. */
export async function imageFacts(engine: Pick<EnginePort, 'images'>, name: string): Promise<{id: string; healthcheck?: ImageHealthcheck} | undefined> {
  try {
    const info = await engine.images.inspect(name)
    return {id: info.Id, healthcheck: (info.Config as {Healthcheck?: ImageHealthcheck} | undefined)?.Healthcheck ?? undefined}
  } catch (error) {
    if ((error as {statusCode?: number}).statusCode === 404) return undefined
    throw error
  }
}

export interface PullProgress {
  /** Bytes downloaded so far across layers, and the total announced. */
  current: number
  total: number
  status: string
}

/** Pulls an image, reporting per-layer progress summed up. */
export async function pullImage(engine: Pick<EnginePort, 'images'>, name: string, onProgress: (p: PullProgress) => void): Promise<void> {
  const layers = new Map<string, {current: number; total: number}>()
  await engine.images.pull(name, (event) => {
    if (event.id && event.progressDetail?.total) layers.set(event.id, {current: event.progressDetail.current ?? 0, total: event.progressDetail.total})
    let current = 0
    let total = 0
    for (const layer of layers.values()) {
      current += layer.current
      total += layer.total
    }
    onProgress({current, total, status: event.status ?? ''})
  })
}

export interface BuildRequest {
  project: string
  service: Service
  onOutput: (line: string) => void
  signal?: AbortSignal
  /** What build secrets and `service:` contexts refer to. */
  inputs?: BuildInputs
}

/** The project's parts a build may refer to: secrets (build.secrets) and services (`service:x` contexts). */
export interface BuildInputs {
  secrets?: Project['secrets']
  services?: Project['services']
}

/** Build settings only BuildKit understands, by name, for the error when the builder is another. */
export function buildkitOnly(build: NonNullable<Service['build']>): string[] {
  const keys: string[] = []
  if (build.ssh && build.ssh.length > 0) keys.push('build.ssh')
  if (build.secrets && build.secrets.length > 0) keys.push('build.secrets')
  if (build.additional_contexts && Object.keys(build.additional_contexts).length > 0) keys.push('build.additional_contexts')
  if (build.privileged) keys.push('build.privileged')
  if (build.entitlements && build.entitlements.length > 0) keys.push('build.entitlements')
  return keys
}

/** `--ulimit` values: `name=soft:hard`, a single number for both. */
function ulimitFlags(ulimits: NonNullable<Service['ulimits']>): string[] {
  return Object.entries(ulimits).flatMap(([name, u]) => ['--ulimit', typeof u === 'number' ? `${name}=${u}:${u}` : `${name}=${u.soft ?? 0}:${u.hard ?? 0}`])
}

/** `--secret` values: the id the Dockerfile mounts (target, else the secret's key) and where its content is. */
function secretFlags(service: Service, secrets: Project['secrets']): string[] {
  return (service.build?.secrets ?? []).flatMap((ref) => {
    const declared = secrets?.[ref.source]
    const id = ref.target ?? ref.source
    // As Compose: only file and environment secrets can be handed to a build.
    if (declared?.file) return ['--secret', `id=${id},src=${declared.file}`]
    if (declared?.environment) return ['--secret', `id=${id},env=${declared.environment}`]
    throw new Error(`service ${service.name}: build secret "${ref.source}" must be a file or environment secret`)
  })
}

/** `docker build` arguments for a service (BuildKit via the docker CLI). Pure. */
export function buildArgs(project: string, service: Service, inputs: BuildInputs = {}): string[] {
  const build = service.build
  if (!build) throw new Error(`service ${service.name} has no build section`)
  const args = ['build', '--progress', 'plain', '-t', imageFor(project, service)]
  if (build.dockerfile) args.push('-f', isAbsolute(build.dockerfile) ? build.dockerfile : join(build.context, build.dockerfile))
  if (build.target) args.push('--target', build.target)
  for (const [key, value] of Object.entries(build.args ?? {})) if (value !== null) args.push('--build-arg', `${key}=${value}`)
  for (const [key, value] of Object.entries(build.labels ?? {})) args.push('--label', `${key}=${value}`)
  args.push('--label', `${Label.project}=${project}`, '--label', `${Label.service}=${service.name}`)
  for (const tag of build.tags ?? []) args.push('-t', tag)
  if (build.platforms && build.platforms.length > 0) args.push('--platform', build.platforms.join(','))
  for (const ssh of build.ssh ?? []) args.push('--ssh', ssh.path ? `${ssh.id}=${ssh.path}` : ssh.id)
  if (build.shm_size) args.push('--shm-size', build.shm_size)
  if (build.ulimits) args.push(...ulimitFlags(build.ulimits))
  for (const [name, value] of Object.entries(build.additional_contexts ?? {})) {
    // `service:x` builds on x's image, which ensureImages builds first.
    const target = value.startsWith('service:') ? inputs.services?.[value.slice('service:'.length)] : undefined
    args.push('--build-context', `${name}=${target ? `docker-image://${imageFor(project, target)}` : value}`)
  }
  // A privileged build is BuildKit's security.insecure entitlement, as Compose asks for it.
  const allow = new Set([...(build.privileged ? ['security.insecure'] : []), ...(build.entitlements ?? [])])
  for (const entitlement of allow) args.push('--allow', entitlement)
  args.push(...secretFlags(service, inputs.secrets))
  if (build.no_cache) args.push('--no-cache')
  if (build.pull) args.push('--pull')
  args.push(build.context)
  return args
}

export type Builder = 'buildkit' | 'legacy-cli' | 'api'

let builderCache: Promise<Builder> | undefined

/**
 * Which builder to use: the docker CLI with BuildKit when buildx is there, the CLI's classic
 * builder when only the CLI is (a CLI without buildx refuses DOCKER_BUILDKIT=1), else the
 * engine API.
 */
export function detectBuilder(): Promise<Builder> {
  builderCache ??= (async () => {
    const {execa} = await import('execa')
    const cli = await execa('docker', ['--version'], {reject: false, verbose: execVerbose()})
    if (cli.exitCode !== 0) return 'api'
    const buildx = await execa('docker', ['buildx', 'version'], {reject: false, verbose: execVerbose()})
    return buildx.exitCode === 0 ? 'buildkit' : 'legacy-cli'
  })()
  return builderCache
}

/**
 * Builds through the docker CLI when it is installed (the user's builders, cache and
 * .dockerignore handling), else through the engine API with a tar of the context.
 */
export async function buildImage(engine: Pick<EnginePort, 'images'>, request: BuildRequest): Promise<Builder> {
  const builder = await detectBuilder()
  if (builder === 'api') {
    await buildViaApi(engine, request)
    return builder
  }
  const {execa} = await import('execa')
  const args = buildArgs(request.project, request.service, request.inputs)
  const needsBuildkit = request.service.build ? buildkitOnly(request.service.build) : []
  if (builder === 'legacy-cli' && needsBuildkit.length > 0) {
    throw new Error(`service ${request.service.name}: ${needsBuildkit.join(', ')} need BuildKit (docker buildx); this docker CLI has only the classic builder`)
  }
  // The classic builder has no --progress flag.
  if (builder === 'legacy-cli') args.splice(1, 2)
  const child = execa('docker', args, {
    verbose: execVerbose(),
    // An ssh:// engine: the CLI's ssh runs non-interactively with tta's keys and known_hosts.
    env: {DOCKER_BUILDKIT: builder === 'buildkit' ? '1' : '0', ...dockerCliSshEnv(resolveEndpoint(process.env).host)},
    all: true,
    reject: false,
    cancelSignal: request.signal,
  })
  const lines: string[] = []
  child.all?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split(/\r?\n/)) {
      if (!line) continue
      lines.push(line)
      request.onOutput(line)
    }
  })
  const result = await child
  if (result.exitCode !== 0) {
    throw new Error(`docker build exited with code ${result.exitCode}; last lines:\n${lines.slice(-20).join('\n')}`)
  }
  return builder
}

async function buildViaApi(engine: Pick<EnginePort, 'images'>, request: BuildRequest): Promise<void> {
  const {service, project} = request
  const build = service.build
  if (!build) return
  const needsBuildkit = buildkitOnly(build)
  if (needsBuildkit.length > 0) {
    throw new Error(`service ${service.name}: ${needsBuildkit.join(', ')} need the docker CLI with BuildKit (buildx); this machine builds through the engine API`)
  }
  const options: BuildOptions = {
    t: imageFor(project, service),
    dockerfile: build.dockerfile ?? 'Dockerfile',
    target: build.target,
    platform: build.platforms?.join(','),
    buildargs: Object.fromEntries(Object.entries(build.args ?? {}).filter((e): e is [string, string] => e[1] !== null)),
    labels: {...build.labels, [Label.project]: project, [Label.service]: service.name},
    shmsize: build.shm_size === undefined ? undefined : Number(build.shm_size),
    ulimits: build.ulimits ? JSON.stringify(Object.entries(build.ulimits).map(([Name, u]) => (typeof u === 'number' ? {Name, Soft: u, Hard: u} : {Name, Soft: u.soft ?? 0, Hard: u.hard ?? 0}))) : undefined,
  }
  await engine.images.build({dir: build.context, files: listFiles(build.context)}, options, (event) => {
    if (event.stream) for (const line of event.stream.split('\n')) if (line) request.onOutput(line)
  })
}

function listFiles(root: string, dir = root): string[] {
  const files: string[] = []
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) files.push(...listFiles(root, path))
    else files.push(relative(root, path))
  }
  return files
}

/**
 * Every target's image present: pulled in parallel (with progress events), built one at a time
 * (two cores), then each service's image id and own healthcheck, read once.
 */
export async function ensureImages(
  engine: Pick<EnginePort, 'images'>,
  loaded: LoadedProject,
  targets: string[],
  options: {build?: boolean; signal?: AbortSignal; emit: Emit},
): Promise<{ids: Record<string, string | undefined>; healthchecks: Record<string, ImageHealthcheck | undefined>}> {
  const {project} = loaded
  const ids: Record<string, string | undefined> = {}
  const healthchecks: Record<string, ImageHealthcheck | undefined> = {}
  const byImage = new Map<string, string[]>()
  for (const name of withBuildContexts(project, targets)) {
    const image = imageFor(project.name, project.services[name] as Service)
    byImage.set(image, [...(byImage.get(image) ?? []), name])
  }
  // Builds share two cores with everything else: one at a time; pulls go in parallel.
  const builds: Array<() => Promise<void>> = []
  const pulls: Array<Promise<void>> = []
  const present = new Map(await Promise.all([...byImage.keys()].map(async (image) => [image, await imageFacts(engine, image)] as const)))
  // Images built here (a rebuild replaces one that was present); pulled ones were absent above.
  const changed = new Set<string>()
  for (const [image, services] of byImage) {
    const owner = services[0] as string
    const service = project.services[owner] as Service
    const existing = present.get(image)
    const mustBuild = Boolean(service.build) && (options.build || !existing)
    if (mustBuild) {
      changed.add(image)
      builds.push(async () => {
        const t = Date.now()
        options.emit({type: 'image', service: owner, image, phase: 'build', status: 'start'})
        try {
          const builder = await buildImage(engine, {
            project: project.name,
            service,
            signal: options.signal,
            inputs: {secrets: project.secrets, services: project.services},
            onOutput: (line) => options.emit({type: 'build-output', service: owner, line}),
          })
          if (builder !== 'buildkit') options.emit({type: 'note', message: `${owner}: built with the ${builder === 'api' ? 'engine API' : 'classic builder'} (no docker buildx found)`})
        } catch (error) {
          options.emit({type: 'image', service: owner, image, phase: 'build', status: 'failed', error: (error as Error).message})
          throw new ImageError(owner, image, 'build', (error as Error).message)
        }
        options.emit({type: 'image', service: owner, image, phase: 'build', status: 'done', elapsedMs: Date.now() - t})
      })
    } else if (!existing) {
      pulls.push(
        (async () => {
          const t = Date.now()
          options.emit({type: 'image', service: owner, image, phase: 'pull', status: 'start'})
          try {
            await pullImage(engine, image, (p) => options.emit({type: 'pull-progress', service: owner, image, current: p.current, total: p.total}))
          } catch (error) {
            options.emit({type: 'image', service: owner, image, phase: 'pull', status: 'failed', error: (error as Error).message})
            throw new ImageError(owner, image, 'pull', (error as Error).message)
          }
          options.emit({type: 'image', service: owner, image, phase: 'pull', status: 'done', elapsedMs: Date.now() - t})
        })(),
      )
    }
  }
  const pullResults = await Promise.allSettled(pulls)
  for (const build of builds) await build()
  const failed = pullResults.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed) throw failed.reason
  for (const [image, services] of byImage) {
    // Only what was pulled or built is asked about again; the rest was read above.
    const facts = changed.has(image) ? await imageFacts(engine, image) : (present.get(image) ?? (await imageFacts(engine, image)))
    for (const name of services) {
      ids[name] = facts?.id
      healthchecks[name] = facts?.healthcheck
    }
  }
  return {ids, healthchecks}
}

/**
 * The targets, with the services their builds name as `service:x` contexts before them (those
 * images must exist first), each once. Pure.
 */
export function withBuildContexts(project: Project, targets: string[]): string[] {
  const out: string[] = []
  const visit = (name: string, seen: Set<string>): void => {
    if (out.includes(name) || seen.has(name)) return
    seen.add(name)
    for (const value of Object.values(project.services[name]?.build?.additional_contexts ?? {})) {
      const dep = value.startsWith('service:') ? value.slice('service:'.length) : undefined
      if (dep && project.services[dep]) visit(dep, seen)
    }
    out.push(name)
  }
  for (const name of targets) visit(name, new Set())
  return out
}

/** An image could not be pulled or built; nothing was created. */
export class ImageError extends Error {
  constructor(
    readonly service: string,
    readonly image: string,
    readonly phase: 'pull' | 'build',
    readonly detail: string,
  ) {
    super(`${service}: could not ${phase} image ${image}: ${detail}`)
    this.name = 'ImageError'
  }
}
