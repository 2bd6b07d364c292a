import type {Duplex, Readable} from 'node:stream'
import type Dockerode from 'dockerode'

/**
 * The engine as tta's services see it: narrow interfaces by capability, addressed by id or name.
 * A module asks for the capabilities it uses (`Pick<EnginePort, 'containers' | 'exec'>`), so a
 * unit test fakes only those and a reader sees at a glance what a module may do to the engine.
 * The JSON shapes are the Engine API's, as @types/dockerode describes them (types only).
 * docker/engine-port.ts builds the one implementation; test/support/fake-docker.ts backs the fake.
 */
export interface EnginePort {
  containers: ContainersPort
  exec: ExecPort
  archive: ArchivePort
  images: ImagesPort
  networks: NetworksPort
  volumes: VolumesPort
  events: EventsPort
  system: SystemPort
  swarm: SwarmPort
}

export type ContainerSummary = Dockerode.ContainerInfo
export type ContainerDetails = Dockerode.ContainerInspectInfo
export type ContainerCreate = Dockerode.ContainerCreateOptions
export type MountSettings = Dockerode.MountSettings
export type EndpointSettings = Dockerode.EndpointSettings
export type HealthConfig = Dockerode.HealthConfig
export type Ipam = Dockerode.IPAM

/** Engine list filters: `{label: ['k=v'], status: ['running']}`. */
export type Filters = Record<string, string[]>

export interface ContainersPort {
  list(options?: {all?: boolean; filters?: Filters}): Promise<ContainerSummary[]>
  inspect(id: string): Promise<ContainerDetails>
  /** Creates a container (named when the spec has `name`); its id. */
  create(spec: ContainerCreate): Promise<string>
  start(id: string): Promise<void>
  /** Stop within `timeoutS` (the engine's default when unset); a 304 (already stopped) throws, as the engine answers. */
  stop(id: string, options?: {timeoutS?: number}): Promise<void>
  restart(id: string, options?: {timeoutS?: number}): Promise<void>
  pause(id: string): Promise<void>
  unpause(id: string): Promise<void>
  remove(id: string, options?: {force?: boolean; volumes?: boolean}): Promise<void>
  /** Waits for the container to stop; its exit code (null when the engine did not say). */
  wait(id: string): Promise<number | null>
  /** A bounded log read (no follow) as the engine frames it (multiplexed unless the container has a TTY). */
  logs(id: string, options: {tail?: number; timestamps?: boolean; since?: number}): Promise<Buffer>
  /** One stats sample (no stream); only the CPU figures are typed. */
  stats(id: string): Promise<{cpu_stats?: {cpu_usage?: {total_usage?: number}}}>
  /** A hijacked attach (before start): stdout/stderr framed, stdin when asked. */
  attach(id: string, options: {stdin: boolean}): Promise<Duplex>
}

export interface ExecSpec {
  Cmd: string[]
  Env?: string[]
  User?: string
  WorkingDir?: string
  Privileged?: boolean
  Tty?: boolean
  AttachStdin?: boolean
}

export interface ExecPort {
  /** Creates an exec in a running container (stdout and stderr attached); its id. */
  create(containerId: string, spec: ExecSpec): Promise<string>
  /** Starts it over a hijacked connection: stdout/stderr framed (raw with Tty), stdin when asked. */
  start(execId: string, options: {stdin: boolean; tty?: boolean}): Promise<Duplex>
  inspect(execId: string): Promise<{ExitCode: number | null; Running: boolean}>
}

export interface ArchivePort {
  /** Extracts a tar archive at `path` in the container. */
  put(containerId: string, path: string, tar: Buffer | Readable): Promise<void>
  /** A tar archive of `path` in the container. */
  get(containerId: string, path: string): Promise<Readable>
}

export type ImageDetails = Dockerode.ImageInspectInfo
/** The build endpoint's query; it takes ulimits as JSON, which @types/dockerode does not list. */
export type BuildOptions = Dockerode.ImageBuildOptions & {ulimits?: string}

/** One JSON object of a pull, push or build progress stream. */
export interface ProgressEvent {
  id?: string
  status?: string
  stream?: string
  error?: string
  errorDetail?: {message?: string}
  progressDetail?: {current?: number; total?: number}
  aux?: unknown
}

export interface ImagesPort {
  inspect(name: string): Promise<ImageDetails>
  list(options?: {filters?: Filters}): Promise<Dockerode.ImageInfo[]>
  remove(name: string, options?: {force?: boolean}): Promise<void>
  /** Pulls; resolves when the engine's progress stream ends, rejects on an error event. */
  pull(name: string, onProgress: (event: ProgressEvent) => void, options?: {auth?: Dockerode.AuthConfig; signal?: AbortSignal}): Promise<void>
  push(name: string, onProgress: (event: ProgressEvent) => void, options?: {auth?: Dockerode.AuthConfig; signal?: AbortSignal}): Promise<void>
  /** Builds from a directory (the listed files, paths relative to it); resolves when the build ends, rejects on an error event. */
  build(context: {dir: string; files: string[]}, options: BuildOptions, onProgress: (event: ProgressEvent) => void): Promise<void>
}

export type NetworkDetails = Dockerode.NetworkInspectInfo
export type NetworkCreate = Dockerode.NetworkCreateOptions

export interface NetworksPort {
  list(options?: {filters?: Filters}): Promise<NetworkDetails[]>
  inspect(name: string): Promise<NetworkDetails>
  create(spec: NetworkCreate): Promise<void>
  remove(name: string): Promise<void>
  connect(name: string, containerId: string, endpoint?: Dockerode.EndpointSettings): Promise<void>
  disconnect(name: string, containerId: string, options?: {force?: boolean}): Promise<void>
}

export type VolumeDetails = Dockerode.VolumeInspectInfo

export interface VolumesPort {
  list(options?: {filters?: Filters}): Promise<VolumeDetails[]>
  inspect(name: string): Promise<VolumeDetails>
  create(spec: {Name: string; Driver?: string; DriverOpts?: Record<string, string>; Labels?: Record<string, string>}): Promise<void>
  remove(name: string): Promise<void>
}

export interface EventsPort {
  /** The engine's event stream (JSON objects, one per line) from now, until the stream is destroyed. */
  follow(filters: Filters): Promise<Readable>
}

export interface SystemPort {
  ping(): Promise<void>
  info(): Promise<{Swarm?: {NodeID?: string; LocalNodeState?: string; ControlAvailable?: boolean}} & Record<string, unknown>>
  /** Disk usage; only volumes' sizes are read. */
  volumeSizes(): Promise<Array<{Name: string; UsageData?: {Size?: number}}>>
}

/** A secret's or config's create body; `Templating` names a template driver (Compose's template_driver). */
export interface SwarmFileSpec {
  Name: string
  Data: string
  Labels?: Record<string, string>
  Templating?: {Name: string}
}

/** Swarm objects: services, tasks, nodes, secrets and configs (deploy's swarm target). */
export interface SwarmPort {
  listServices(options?: {filters?: Filters}): Promise<Dockerode.Service[]>
  inspectService(id: string): Promise<unknown>
  createService(spec: Dockerode.ServiceSpec, auth?: Dockerode.AuthConfig): Promise<string>
  updateService(id: string, version: number, spec: Dockerode.ServiceSpec, options?: {auth?: Dockerode.AuthConfig; rollback?: boolean}): Promise<void>
  removeService(id: string): Promise<void>
  listTasks(options?: {filters?: Filters}): Promise<unknown[]>
  listNodes(): Promise<unknown[]>
  listSecrets(options?: {filters?: Filters}): Promise<Array<{ID: string; Spec?: {Name?: string; Labels?: Record<string, string>}}>>
  createSecret(spec: SwarmFileSpec): Promise<string>
  removeSecret(id: string): Promise<void>
  listConfigs(options?: {filters?: Filters}): Promise<Array<{ID: string; Spec?: {Name?: string; Data?: string; Labels?: Record<string, string>}}>>
  createConfig(spec: SwarmFileSpec): Promise<string>
  removeConfig(id: string): Promise<void>
}

/** Swarm service shapes and a container's network entry, as deploy builds and reads them. */
export type AuthConfig = Dockerode.AuthConfig
export type ServiceSpec = Dockerode.ServiceSpec
export type TaskSpec = Dockerode.TaskSpec
export type ContainerTaskSpec = Dockerode.ContainerTaskSpec
export type ContainerSpec = Dockerode.ContainerSpec
export type TaskRestartPolicy = Dockerode.TaskRestartPolicy
export type PortConfig = Dockerode.PortConfig
export type SecretReference = Dockerode.SecretReference
export type ConfigReference = Dockerode.ConfigReference
export type NetworkInfo = Dockerode.NetworkInfo
