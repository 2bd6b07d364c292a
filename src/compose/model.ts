/**
 * The normalized compose Project: the loader's output and the engine's input.
 *
 * Shapes and key names follow what `docker compose config --format json` (Compose v2) prints, so
 * `tta config` can print the model as is and tests can compare it key by key with Compose.
 * Everything here is already interpolated, merged, validated and normalized:
 * - durations are Go-style strings ("1m30s", "500ms"), as Compose prints them;
 * - relative paths (build contexts, bind sources, env files) are absolute;
 * - short syntaxes (ports, volumes, depends_on, command strings) are expanded.
 */
import type {DevelopConfig} from './develop.js'

export type DependencyCondition = 'service_started' | 'service_healthy' | 'service_completed_successfully'

export interface DependsOn {
  condition: DependencyCondition
  required: boolean
  restart?: boolean
}

export interface PortConfig {
  mode: 'ingress' | 'host'
  host_ip?: string
  target: number
  /** A single port as a string, as Compose prints it; absent when Docker picks one. */
  published?: string
  protocol: 'tcp' | 'udp' | 'sctp'
  name?: string
  app_protocol?: string
}

export interface ServiceVolume {
  type: 'volume' | 'bind' | 'tmpfs' | 'npipe'
  /** Volume key for type volume (the project-level key, not the Docker name), host path for bind. */
  source?: string
  target: string
  read_only?: boolean
  consistency?: string
  bind?: {propagation?: string; create_host_path?: boolean; selinux?: 'z' | 'Z'}
  volume?: {nocopy?: boolean; subpath?: string}
  /** size in bytes as a decimal string, as Compose prints it. */
  tmpfs?: {size?: string; mode?: number}
}

export interface Healthcheck {
  test?: string[]
  interval?: string
  timeout?: string
  retries?: number
  start_period?: string
  start_interval?: string
  disable?: boolean
}

export interface BuildConfig {
  context: string
  dockerfile?: string
  dockerfile_inline?: string
  args?: Record<string, string | null>
  target?: string
  labels?: Record<string, string>
  network?: string
  cache_from?: string[]
  pull?: boolean
  no_cache?: boolean
}

export interface ServiceNetwork {
  aliases?: string[]
  ipv4_address?: string
  ipv6_address?: string
  priority?: number
}

export interface ResourceSpec {
  cpus?: number
  /** Bytes, as a decimal string (Compose prints "536870912"). */
  memory?: string
  pids?: number
}

export interface DeployConfig {
  mode?: 'replicated' | 'global'
  replicas?: number
  labels?: Record<string, string>
  resources?: {limits?: ResourceSpec; reservations?: ResourceSpec}
  restart_policy?: {condition?: string; delay?: string; max_attempts?: number; window?: string}
  update_config?: UpdateConfig
  rollback_config?: UpdateConfig
  placement?: {constraints?: string[]; preferences?: Array<{spread: string}>; max_replicas_per_node?: number}
  endpoint_mode?: string
}

export interface UpdateConfig {
  parallelism?: number
  delay?: string
  failure_action?: string
  monitor?: string
  max_failure_ratio?: number
  order?: 'start-first' | 'stop-first'
}

export interface LoggingConfig {
  driver?: string
  options?: Record<string, string | null>
}

export interface ServiceFileRef {
  source: string
  target?: string
  uid?: string
  gid?: string
  mode?: number
}

export interface Service {
  /** The service's key; not printed by Compose but convenient everywhere. */
  name: string
  image?: string
  build?: BuildConfig
  /** null when unset (Compose prints null): the image's default applies. */
  command: string[] | null
  entrypoint: string[] | null
  environment?: Record<string, string | null>
  labels?: Record<string, string>
  ports?: PortConfig[]
  expose?: string[]
  volumes?: ServiceVolume[]
  tmpfs?: string[]
  depends_on?: Record<string, DependsOn>
  healthcheck?: Healthcheck
  networks?: Record<string, ServiceNetwork | null>
  network_mode?: string
  restart?: string
  working_dir?: string
  user?: string
  hostname?: string
  domainname?: string
  container_name?: string
  profiles?: string[]
  deploy?: DeployConfig
  stop_grace_period?: string
  stop_signal?: string
  tty?: boolean
  stdin_open?: boolean
  init?: boolean
  privileged?: boolean
  read_only?: boolean
  extra_hosts?: string[]
  cap_add?: string[]
  cap_drop?: string[]
  security_opt?: string[]
  dns?: string[]
  logging?: LoggingConfig
  /** A bare number for a single limit, as Compose prints it. */
  ulimits?: Record<string, number | {soft?: number; hard?: number}>
  sysctls?: Record<string, string>
  shm_size?: string
  mem_limit?: string
  cpus?: number
  pid?: string
  ipc?: string
  platform?: string
  pull_policy?: string
  secrets?: ServiceFileRef[]
  configs?: ServiceFileRef[]
  scale?: number
  develop?: DevelopConfig
}

export interface NetworkConfig {
  /** The Docker-side name (`<project>_<key>` unless external or `name:` set). */
  name: string
  driver?: string
  driver_opts?: Record<string, string>
  ipam?: {driver?: string; config?: Array<{subnet?: string; gateway?: string; ip_range?: string}>}
  external?: boolean
  internal?: boolean
  attachable?: boolean
  enable_ipv6?: boolean
  labels?: Record<string, string>
}

export interface VolumeConfig {
  name: string
  driver?: string
  driver_opts?: Record<string, string>
  external?: boolean
  labels?: Record<string, string>
}

export interface FileObjectConfig {
  name: string
  file?: string
  environment?: string
  content?: string
  external?: boolean
  labels?: Record<string, string>
}

export interface Project {
  name: string
  services: Record<string, Service>
  networks: Record<string, NetworkConfig>
  volumes: Record<string, VolumeConfig>
  secrets?: Record<string, FileObjectConfig>
  configs?: Record<string, FileObjectConfig>
  /** Top-level `x-*` keys (interpolated, merged), which Compose prints beside the sections. */
  extensions?: Record<string, unknown>
}

/** What was loaded, beside the model: the engine labels resources with these. */
export interface LoadedProject {
  project: Project
  /** Absolute directory relative paths resolved against (Compose's project working dir). */
  workingDir: string
  /** Absolute paths of every compose file, in merge order. */
  configFiles: string[]
  /** Variables the files referenced, with the value used (for `tta config --verbose`). */
  environment: Record<string, string>
  /** Non-fatal findings, e.g. the obsolete `version` key. */
  warnings: string[]
}
