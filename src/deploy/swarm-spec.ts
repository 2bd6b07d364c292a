import {createHash} from 'node:crypto'

import type {LoadedProject, PortConfig, Project, Service, ServiceVolume} from '../compose/model.js'
import {apiAtLeast} from '../docker/client.js'
import type {ConfigReference, ContainerSpec, MountSettings, PortConfig as EnginePortConfig, SecretReference, ServiceSpec, TaskRestartPolicy} from '../docker/port.js'
import {durationToNanos} from '../engine/durations.js'
import {canonicalJson} from '../engine/labels.js'
import {droppedFeatures, healthcheckSpec, networkName} from '../engine/spec.js'
import {GENERATED_SECRETS} from '../workspace/secrets.js'

/** Labels on what a swarm deployment creates: Docker's stack labels (so `docker stack ps|rm` work) and tta's. */
export const DeployLabel = {
  namespace: 'com.docker.stack.namespace',
  stackImage: 'com.docker.stack.image',
  managedBy: 'dev.tta.managed-by',
  specHash: 'dev.tta.deploy.spec-hash',
  env: 'dev.tta.deploy.env',
  version: 'dev.tta.deploy.version',
  at: 'dev.tta.deploy.at',
  by: 'dev.tta.deploy.by',
  /** On a history record (a swarm config, or the compose target's record container). */
  record: 'dev.tta.deploy.record',
  history: 'dev.tta.deploy.history',
} as const

/** A secret or config the stack needs, with its content: names carry a content hash, since both are immutable. */
export interface SwarmFile {
  kind: 'secret' | 'config'
  /** The compose key, or for a password variable the file name it is mounted as. */
  key: string
  name: string
  data: Buffer
  /** Services that mount it, and where. */
  mounts: Array<{service: string; target: string; uid?: string; gid?: string; mode?: number}>
  /** `template_driver`: swarm renders the content with it (e.g. golang) when a task starts. */
  templateDriver?: string
}

export interface SwarmContext {
  loaded: LoadedProject
  stack: string
  apiVersion: string
  /** The image each service runs (built ones: the pushed reference, with its digest). */
  images: Record<string, string>
  replicas: Record<string, number>
  publishMode?: 'ingress' | 'host'
  /** Ready, active nodes: whether a start-first update has room for a host-mode port. */
  nodes: number
  files: SwarmFile[]
  /** Swarm object ids by name, once created; specs are hashed without them. */
  fileIds?: Record<string, string>
}

export interface SwarmServiceSpec {
  service: string
  name: string
  spec: ServiceSpec
  hash: string
  image: string
  replicas: number | 'global'
  order: 'start-first' | 'stop-first'
  notes: string[]
}

const short = (value: string): string => createHash('sha256').update(value).digest('hex').slice(0, 10)

/** Variables that hold passwords and keys: delivered to swarm services as Docker secrets too. */
export function isSecretVariable(name: string): boolean {
  return (GENERATED_SECRETS as readonly string[]).includes(name) || /(PASSWORD|SECRET|TOKEN|API_KEY)$/.test(name)
}

/**
 * The stack's secrets and configs: each compose `secrets:`/`configs:` entry a service uses, and
 * each password variable the files interpolate (mounted as /run/secrets/<name>, e.g.
 * TTA_POSTGRES_PASSWORD as postgres_password, in the services whose settings contain it). Pure:
 * file contents are read by the caller through `read`.
 */
export function swarmFiles(loaded: LoadedProject, stack: string, read: (path: string) => Buffer, env: Record<string, string | undefined>): SwarmFile[] {
  const {project} = loaded
  const files: SwarmFile[] = []
  for (const kind of ['secret', 'config'] as const) {
    const declared = (kind === 'secret' ? project.secrets : project.configs) ?? {}
    for (const [key, object] of Object.entries(declared)) {
      const mounts: SwarmFile['mounts'] = []
      for (const service of Object.values(project.services)) {
        for (const ref of (kind === 'secret' ? service.secrets : service.configs) ?? []) {
          if (ref.source !== key) continue
          mounts.push({service: service.name, target: ref.target ?? (kind === 'secret' ? key : `/${key}`), uid: ref.uid, gid: ref.gid, mode: ref.mode})
        }
      }
      if (mounts.length === 0 || object.external) {
        if (mounts.length > 0) files.push({kind, key, name: object.name, data: Buffer.alloc(0), mounts})
        continue
      }
      const data = object.file ? read(object.file) : Buffer.from(object.content ?? env[object.environment ?? ''] ?? '')
      const file: SwarmFile = {kind, key, name: `${stack}_${key}_${short(data.toString('base64'))}`, data, mounts}
      if (object.template_driver) file.templateDriver = object.template_driver
      files.push(file)
    }
  }
  for (const [variable, value] of Object.entries(loaded.environment).sort()) {
    if (!isSecretVariable(variable) || !value) continue
    const key = variable.replace(/^TTA_/, '').toLowerCase()
    // Found the way it is written in the settings (JSON-escaped), e.g. inside a DATABASE_URL.
    const needle = JSON.stringify(value).slice(1, -1)
    const users = Object.values(project.services).filter((service) => JSON.stringify(service).includes(needle))
    if (users.length === 0) continue
    files.push({kind: 'secret', key, name: `${stack}_${key}_${short(value)}`, data: Buffer.from(value), mounts: users.map((s) => ({service: s.name, target: key}))})
  }
  return files
}

function restartPolicy(service: Service): TaskRestartPolicy {
  const policy = service.deploy?.restart_policy
  if (policy) {
    return {
      Condition: policy.condition ?? 'any',
      Delay: durationToNanos(policy.delay),
      MaxAttempts: policy.max_attempts,
      Window: durationToNanos(policy.window),
    }
  }
  const [name = 'always', count] = (service.restart ?? 'always').split(':')
  if (name === 'no') return {Condition: 'none'}
  if (name === 'on-failure') return {Condition: 'on-failure', MaxAttempts: count ? Number(count) : undefined}
  return {Condition: 'any'}
}

function mount(project: Project, stack: string, volume: ServiceVolume, notes: string[], service: string): MountSettings | undefined {
  if (volume.type === 'volume') {
    const config = volume.source ? project.volumes[volume.source] : undefined
    return {
      Type: 'volume',
      Source: config?.name ?? volume.source ?? '',
      Target: volume.target,
      ReadOnly: volume.read_only ?? false,
      VolumeOptions: {
        NoCopy: volume.volume?.nocopy ?? false,
        Labels: {...config?.labels, [DeployLabel.namespace]: stack},
        DriverConfig: config?.driver ? {Name: config.driver, Options: config.driver_opts ?? {}} : undefined,
      },
    } as MountSettings
  }
  if (volume.type === 'bind') {
    notes.push(`${service}: bind mount ${volume.source} must exist on every node that may run it`)
    return {Type: 'bind', Source: volume.source ?? '', Target: volume.target, ReadOnly: volume.read_only ?? false} as MountSettings
  }
  if (volume.type === 'tmpfs') {
    return {Type: 'tmpfs', Target: volume.target, TmpfsOptions: volume.tmpfs?.size ? {SizeBytes: Number(volume.tmpfs.size)} : undefined} as MountSettings
  }
  return undefined
}

/** A service that writes to a named volume must not run twice at once: two postgres on one data directory corrupt it. */
function writesVolume(service: Service): boolean {
  return (service.volumes ?? []).some((v) => v.type === 'volume' && !v.read_only)
}

function ports(service: Service, ctx: SwarmContext, notes: string[]): EnginePortConfig[] {
  return (service.ports ?? []).map((port: PortConfig) => {
    if (port.host_ip && port.host_ip !== '0.0.0.0' && port.host_ip !== '::') {
      // Reached only for ports the target's exposePorts allows (refuseBoundSwarmPorts refuses the rest).
      notes.push(`${service.name}: port ${port.published ?? port.target} is published on every interface of every node (exposePorts); host_ip ${port.host_ip} cannot be honoured by swarm`)
    }
    const published = port.published ? Number(port.published) : undefined
    return {Protocol: port.protocol, TargetPort: port.target, PublishedPort: published, PublishMode: ctx.publishMode ?? port.mode}
  })
}

/** Compose `extra_hosts` ("name:ip" or "name=ip") in swarm's "ip name" form. */
function hosts(extra: string[] | undefined): string[] | undefined {
  if (!extra) return undefined
  return extra.map((entry) => {
    const at = entry.includes('=') ? entry.indexOf('=') : entry.indexOf(':')
    return `${entry.slice(at + 1)} ${entry.slice(0, at)}`
  })
}

/**
 * A compose service as a swarm service spec. Pure. Updates start the new task first and roll back
 * on failure, unless the service writes a named volume (stop-first: never two writers) or
 * publishes a fixed host-mode port on too few nodes for a second task (stop-first, with a note).
 */
export function swarmServiceSpec(ctx: SwarmContext, name: string): SwarmServiceSpec {
  const {project} = ctx.loaded
  const service = project.services[name] as Service
  const notes: string[] = []
  for (const dropped of droppedFeatures(service, ctx.apiVersion)) notes.push(`${name}: dropped ${dropped}`)
  for (const [key, unsupported] of [
    ['privileged', service.privileged],
    ['network_mode', service.network_mode],
    ['container_name', service.container_name],
    ['pid', service.pid],
    ['ipc', service.ipc],
  ] as const) {
    if (unsupported) notes.push(`${name}: ${key} is not supported by swarm services and is ignored`)
  }
  const image = ctx.images[name] ?? service.image ?? `${project.name}-${name}`
  const global = service.deploy?.mode === 'global'
  const replicas: number | 'global' = global ? 'global' : (ctx.replicas[name] ?? service.deploy?.replicas ?? service.scale ?? 1)
  const endpointPorts = ports(service, ctx, notes)
  let order = service.deploy?.update_config?.order ?? (writesVolume(service) ? 'stop-first' : 'start-first')
  const fixedHostPort = endpointPorts.some((p) => p.PublishMode === 'host' && p.PublishedPort !== undefined)
  if (order === 'start-first' && fixedHostPort && (replicas === 'global' || replicas >= ctx.nodes)) {
    order = 'stop-first'
    notes.push(`${name}: a fixed host-mode port leaves no node free for a second task, so updates stop the old task first (publish without a fixed port, use ingress, or add nodes for start-first)`)
  }
  const limits = service.deploy?.resources?.limits
  const reservations = service.deploy?.resources?.reservations
  const fileRefs = (kind: 'secret' | 'config') =>
    ctx.files
      .filter((f) => f.kind === kind)
      .flatMap((f) =>
        f.mounts
          .filter((m) => m.service === name)
          .map((m) => ({
            [kind === 'secret' ? 'SecretID' : 'ConfigID']: ctx.fileIds?.[f.name] ?? '',
            [kind === 'secret' ? 'SecretName' : 'ConfigName']: f.name,
            File: {Name: kind === 'secret' ? m.target.replace(/^\/run\/secrets\//, '') : m.target, UID: m.uid ?? '0', GID: m.gid ?? '0', Mode: m.mode ?? 0o444},
          })),
      )
  const api141 = apiAtLeast(ctx.apiVersion, '1.41')
  const containerSpec: ContainerSpec = {
    Image: image,
    Labels: {...service.labels, [DeployLabel.namespace]: ctx.stack},
    Command: service.entrypoint ?? undefined,
    Args: service.command ?? undefined,
    Env: Object.entries(service.environment ?? {})
      .filter((entry): entry is [string, string] => entry[1] !== null)
      .map(([key, value]) => `${key}=${value}`)
      .sort(),
    Dir: service.working_dir,
    User: service.user,
    Hostname: service.hostname,
    TTY: service.tty,
    OpenStdin: service.stdin_open,
    Init: service.init,
    ReadOnly: service.read_only,
    Mounts: (service.volumes ?? []).map((v) => mount(project, ctx.stack, v, notes, name)).filter((m): m is MountSettings => m !== undefined),
    StopSignal: service.stop_signal,
    StopGracePeriod: durationToNanos(service.stop_grace_period),
    HealthCheck: healthcheckSpec(service, ctx.apiVersion),
    Hosts: hosts(service.extra_hosts),
    DNSConfig: service.dns ? {Nameservers: service.dns, Search: [], Options: []} : undefined,
    Secrets: fileRefs('secret') as SecretReference[],
    Configs: fileRefs('config') as ConfigReference[],
    Sysctls: service.sysctls,
    CapabilityAdd: api141 ? service.cap_add : undefined,
    CapabilityDrop: api141 ? service.cap_drop : undefined,
    Ulimits: api141 && service.ulimits ? Object.entries(service.ulimits).map(([Name, u]) => (typeof u === 'number' ? {Name, Soft: u, Hard: u} : {Name, Soft: u.soft ?? 0, Hard: u.hard ?? 0})) : undefined,
  }
  const update = service.deploy?.update_config
  const monitor = durationToNanos(update?.monitor) ?? 5e9
  const spec: ServiceSpec = {
    Name: `${ctx.stack}_${name}`,
    Labels: {...service.deploy?.labels, [DeployLabel.namespace]: ctx.stack, [DeployLabel.stackImage]: image, [DeployLabel.managedBy]: 'tta'},
    TaskTemplate: {
      ContainerSpec: containerSpec,
      Resources: {
        Limits: limits ? {NanoCPUs: limits.cpus ? Math.round(limits.cpus * 1e9) : undefined, MemoryBytes: limits.memory ? Number(limits.memory) : undefined, Pids: api141 ? limits.pids : undefined} : undefined,
        Reservations: reservations ? {NanoCPUs: reservations.cpus ? Math.round(reservations.cpus * 1e9) : undefined, MemoryBytes: reservations.memory ? Number(reservations.memory) : undefined} : undefined,
      },
      RestartPolicy: restartPolicy(service),
      Placement: service.deploy?.placement
        ? {
            Constraints: service.deploy.placement.constraints,
            Preferences: service.deploy.placement.preferences?.map((p) => ({Spread: {SpreadDescriptor: p.spread}})),
            MaxReplicas: service.deploy.placement.max_replicas_per_node,
          }
        : undefined,
      Networks: service.network_mode
        ? undefined
        : Object.entries(service.networks ?? {})
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([key, config]) => ({Target: networkName(project, key), Aliases: [name, ...(config?.aliases ?? [])]})),
      LogDriver: service.logging?.driver ? {Name: service.logging.driver, Options: Object.fromEntries(Object.entries(service.logging.options ?? {}).filter((e): e is [string, string] => e[1] !== null))} : undefined,
    },
    Mode: replicas === 'global' ? {Global: {}} : {Replicated: {Replicas: replicas}},
    UpdateConfig: {
      Parallelism: update?.parallelism ?? 1,
      Delay: durationToNanos(update?.delay) ?? 0,
      FailureAction: update?.failure_action ?? 'rollback',
      Monitor: monitor,
      MaxFailureRatio: update?.max_failure_ratio ?? 0,
      Order: order,
    },
    RollbackConfig: {
      Parallelism: service.deploy?.rollback_config?.parallelism ?? 1,
      Delay: 0,
      // A rollback that fails too is left for a human, not rolled "back" again.
      FailureAction: 'pause',
      Monitor: monitor,
      MaxFailureRatio: 0,
      Order: service.deploy?.rollback_config?.order ?? order,
    },
    EndpointSpec: {Mode: service.deploy?.endpoint_mode ?? 'vip', Ports: endpointPorts},
  }
  const hash = createHash('sha256').update(canonicalJson(withoutIds(spec))).digest('hex')
  spec.Labels = {...spec.Labels, [DeployLabel.specHash]: hash}
  return {service: name, name: spec.Name as string, spec, hash, image, replicas, order, notes}
}

/** The spec as hashed: object ids vary between engines, names (content-hashed) do not. */
function withoutIds(spec: ServiceSpec): unknown {
  return JSON.parse(JSON.stringify(spec), (key: string, value: unknown) => (key === 'SecretID' || key === 'ConfigID' ? undefined : value))
}

/** Overlay networks of the stack: Docker names, and whether tta must create them. */
export function swarmNetworks(project: Project, services: string[]): Array<{key: string; name: string; external: boolean; driver: string; attachable: boolean; labels: Record<string, string>}> {
  const keys = new Set<string>()
  for (const name of services) {
    const service = project.services[name]
    if (service && !service.network_mode) for (const key of Object.keys(service.networks ?? {})) keys.add(key)
  }
  return [...keys].sort().map((key) => {
    const config = project.networks[key]
    const driver = !config?.driver || config.driver === 'bridge' ? 'overlay' : config.driver
    return {key, name: networkName(project, key), external: Boolean(config?.external), driver, attachable: config?.attachable ?? true, labels: config?.labels ?? {}}
  })
}
