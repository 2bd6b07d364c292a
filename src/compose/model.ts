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
  platforms?: string[]
  /** `docker build --ssh` entries: an id (`default`) and an optional key or socket path. */
  ssh?: BuildSsh[]
  tags?: string[]
  /** Bytes, as a decimal string (`docker build --shm-size`). */
  shm_size?: string
  ulimits?: Ulimits
  /** Named contexts (`docker build --build-context name=value`): a path, URL, `docker-image://` or `service:`. */
  additional_contexts?: Record<string, string>
  privileged?: boolean
  /** BuildKit entitlements (`--allow`), e.g. network.host, security.insecure. */
  entitlements?: string[]
  /** Project secrets the build can mount (`--secret id=<target or source>`). */
  secrets?: ServiceFileRef[]
}

/** A bare number for a single limit, as Compose prints it. */
export type Ulimits = Record<string, number | {soft?: number; hard?: number}>

/** A request for devices (GPUs) from a device driver: HostConfig.DeviceRequests. */
export interface DeviceRequest {
  capabilities?: string[]
  driver?: string
  /** -1 for all (`count: all`, or neither count nor device_ids). Absent with device_ids. */
  count?: number
  device_ids?: string[]
  options?: Record<string, string>
}

/** A device's throttle, printed with Go's field names as Compose prints them. */
export interface ThrottleDevice {
  Path: string
  /** Bytes (or operations) per second, as a decimal string. */
  Rate: string
}

export interface BlkioConfig {
  weight?: number
  weight_device?: Array<{Path: string; Weight: number}>
  device_read_bps?: ThrottleDevice[]
  device_read_iops?: ThrottleDevice[]
  device_write_bps?: ThrottleDevice[]
  device_write_iops?: ThrottleDevice[]
}

export interface BuildSsh {
  id: string
  path?: string
}

/** A device mapped into the container, as Compose prints `devices` (long form). */
export interface DeviceMapping {
  source: string
  target: string
  permissions: string
}

export interface ServiceNetwork {
  aliases?: string[]
  ipv4_address?: string
  ipv6_address?: string
  priority?: number
  link_local_ips?: string[]
  driver_opts?: Record<string, string>
}

export interface ResourceSpec {
  cpus?: number
  /** Bytes, as a decimal string (Compose prints "536870912"). */
  memory?: string
  pids?: number
  /** Reservations only: devices the container gets (HostConfig.DeviceRequests). */
  devices?: DeviceRequest[]
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
  ulimits?: Ulimits
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
  annotations?: Record<string, string>
  /** false: `up` does not attach to (print) this service's logs. */
  attach?: boolean
  cgroup?: 'host' | 'private'
  cgroup_parent?: string
  cpu_count?: number
  cpu_percent?: number
  cpu_period?: number
  cpu_quota?: number
  cpu_rt_period?: number
  cpu_rt_runtime?: number
  cpu_shares?: number
  cpuset?: string
  device_cgroup_rules?: string[]
  devices?: DeviceMapping[]
  dns_opt?: string[]
  dns_search?: string[]
  /** `container[:alias]`: containers outside the project, linked by name. */
  external_links?: string[]
  group_add?: string[]
  isolation?: string
  /** `service[:alias]`: legacy links to other services of the project. */
  links?: string[]
  mac_address?: string
  mem_reservation?: string
  /** A decimal string, as Compose prints it. */
  mem_swappiness?: string
  memswap_limit?: string
  oom_kill_disable?: boolean
  oom_score_adj?: number
  pids_limit?: number
  runtime?: string
  storage_opt?: Record<string, string>
  userns_mode?: string
  uts?: string
  /** `service[:ro|rw]` or `container:name[:ro|rw]`. */
  volumes_from?: string[]
  blkio_config?: BlkioConfig
  gpus?: DeviceRequest[]
  /** Windows containers' gMSA credential spec; tta runs Linux containers and ignores it (with a warning). */
  credential_spec?: {config?: string; file?: string; registry?: string}
  develop?: DevelopConfig
}

export type WatchAction = 'sync' | 'rebuild' | 'sync+restart' | 'restart' | 'sync+exec'

/** A `develop.watch` rule: what to do when files under `path` change. */
export interface WatchRule {
  /** Absolute host path watched. */
  path: string
  action: WatchAction
  /** Container path files are synced to (sync actions). */
  target?: string
  /** Patterns (relative to `path`) left out. */
  ignore?: string[]
  /** Patterns (relative to `path`) watched; all when absent. */
  include?: string[]
  /** Sync everything once when the watch starts. */
  initial_sync?: boolean
  /** The command a sync+exec rule runs in the container after syncing. */
  exec?: WatchExec
}

export interface WatchExec {
  command: string[]
  user?: string
  privileged?: boolean
  working_dir?: string
  environment?: Record<string, string | null>
}

/** `develop`: what `tta dev --watch` does while a developer edits files. */
export interface DevelopConfig {
  watch?: WatchRule[]
}

export interface NetworkConfig {
  /** The Docker-side name (`<project>_<key>` unless external or `name:` set). */
  name: string
  driver?: string
  driver_opts?: Record<string, string>
  ipam?: {driver?: string; config?: IpamPool[]; options?: Record<string, string>}
  external?: boolean
  internal?: boolean
  attachable?: boolean
  /** false: an IPv6-only network (engine API 1.47+). */
  enable_ipv4?: boolean
  enable_ipv6?: boolean
  labels?: Record<string, string>
}

export interface IpamPool {
  subnet?: string
  gateway?: string
  ip_range?: string
  /** Addresses the IPAM driver must not hand out, by host name. */
  aux_addresses?: Record<string, string>
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
  /** Swarm templating of the content (tta deploy to a swarm); ignored by tta dev. */
  template_driver?: string
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
  /** Variables that fell back to their `${NAME:-default}`, with that default (e.g. TTA_REDIS_PORT: 6379). */
  defaults?: Record<string, string>
  /** Non-fatal findings, e.g. the obsolete `version` key. */
  warnings: string[]
  /**
   * Where settings an engine may refuse at run time were written (key path -> file:line:column),
   * so that the refusal can name them; e.g. `networks.net.enable_ipv4`.
   */
  sources?: Record<string, string>
}
