import type {DeviceRequest, LoadedProject, NetworkConfig, Project, Service, ThrottleDevice} from '../compose/model.js'
import {TtaError, ExitCode} from '../errors.js'
import {apiAtLeast} from '../docker/client.js'
import type {ContainerCreate, EndpointSettings, HealthConfig, Ipam, MountSettings, NetworkCreate} from '../docker/port.js'
import {durationToNanos} from './durations.js'
import {COMPOSE_LABEL_VERSION, configHash, dependsOnLabel, Label} from './labels.js'

/** Engine API where `healthcheck.start_interval` is understood (Docker 25). */
export const START_INTERVAL_API = '1.44'
/** Engine API that takes HostConfig.Annotations (Docker 24). */
export const ANNOTATIONS_API = '1.43'
/** Engine API from which the MAC address is set per endpoint (the container-level one is deprecated). */
export const ENDPOINT_MAC_API = '1.44'
/** Engine API that takes a network's EnableIPv4 (Docker 28); before it, every network has IPv4. */
export const ENABLE_IPV4_API = '1.47'

export interface SpecContext {
  loaded: LoadedProject
  apiVersion: string
}

export function containerName(project: string, service: Service, number = 1): string {
  return service.container_name ?? `${project}-${service.name}-${number}`
}

/** The image a service's container runs: its `image:`, or the name Compose gives a build. */
export function imageFor(project: string, service: Service): string {
  return service.image ?? `${project}-${service.name}`
}

/** Networks in the order Compose attaches them: by priority, then name. */
export function serviceNetworks(service: Service): string[] {
  return Object.entries(service.networks ?? {})
    .sort(([a, x], [b, y]) => (y?.priority ?? 0) - (x?.priority ?? 0) || (a < b ? -1 : a > b ? 1 : 0))
    .map(([key]) => key)
}

/** What the engine will not accept on this API version, so the caller can say so under --verbose. */
export function droppedFeatures(service: Service, apiVersion: string): string[] {
  const dropped: string[] = []
  if (service.healthcheck?.start_interval && !apiAtLeast(apiVersion, START_INTERVAL_API)) {
    dropped.push(`healthcheck.start_interval (needs engine API ${START_INTERVAL_API}, this engine has ${apiVersion})`)
  }
  if (service.annotations && !apiAtLeast(apiVersion, ANNOTATIONS_API)) {
    dropped.push(`annotations (needs engine API ${ANNOTATIONS_API}, this engine has ${apiVersion})`)
  }
  return dropped
}

/**
 * What tta dev leaves out of a service for good (not the engine's doing), for a --verbose note:
 * swarm-only and Windows-only settings.
 */
export function ignoredSettings(project: Project, service: Service): string[] {
  const ignored: string[] = []
  for (const [kind, refs, declared] of [
    ['secrets', service.secrets, project.secrets],
    ['configs', service.configs, project.configs],
  ] as const) {
    for (const ref of refs ?? []) {
      const driver = declared?.[ref.source]?.template_driver
      if (driver) ignored.push(`${kind}.${ref.source}.template_driver (${driver}: swarm templating, applied by tta deploy to a swarm only)`)
    }
  }
  if (service.credential_spec) ignored.push('credential_spec (Windows containers only)')
  return ignored
}

/** The hash written to the config-hash label: the service as the engine will see it. */
export function serviceHash(service: Service, apiVersion: string): string {
  // develop.watch is read by tta's watcher, not the engine: editing it must not recreate anything.
  return configHash({...service, develop: undefined}, {startInterval: apiAtLeast(apiVersion, START_INTERVAL_API)})
}

function bytes(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value)
}

/**
 * `service:X` (network_mode, ipc, pid) names the container of service X, as the engine wants it;
 * the loader has made X a dependency, so it exists by then.
 */
export function namespaceMode(project: Project, mode: string | undefined): string | undefined {
  if (!mode?.startsWith('service:')) return mode
  const target = project.services[mode.slice('service:'.length)]
  return target ? `container:${containerName(project.name, target)}` : mode
}

/** Whether another service joins this one's IPC namespace; the engine then needs it "shareable". */
function ipcDonor(project: Project, service: Service): boolean {
  return Object.values(project.services).some((s) => s.ipc === `service:${service.name}`)
}

/** Compose's links: the linked service's container under the alias, its `<service>-<n>` and full name. */
export function containerLinks(project: Project, service: Service): string[] | undefined {
  const links: string[] = []
  for (const link of service.links ?? []) {
    const [name = '', alias = name] = link.split(':')
    const target = project.services[name]
    if (!target) continue
    const container = containerName(project.name, target)
    links.push(`${container}:${alias}`, `${container}:${name}-1`, `${container}:${project.name}-${name}-1`)
  }
  for (const link of service.external_links ?? []) {
    const [container = '', alias = container] = link.split(':')
    links.push(`${container}:${alias}`)
  }
  return links.length > 0 ? links : undefined
}

/** volumes_from entries as the engine takes them: `<container>[:ro|rw]`. */
export function volumesFrom(project: Project, service: Service): string[] | undefined {
  if (!service.volumes_from) return undefined
  return service.volumes_from.map((entry) => {
    const parts = entry.split(':')
    if (parts[0] === 'container') return parts.slice(1).join(':')
    const target = project.services[parts[0] ?? '']
    const name = target ? containerName(project.name, target) : (parts[0] ?? '')
    return parts[1] ? `${name}:${parts[1]}` : name
  })
}

/** A service as the Engine API's create-container body (with `name`), with Compose's labels. Pure. */
export function containerSpec(ctx: SpecContext, service: Service, number = 1): ContainerCreate {
  const {project} = ctx.loaded
  const networks = serviceNetworks(service)
  const exposed: Record<string, object> = {}
  const bindings: Record<string, Array<{HostIp?: string; HostPort?: string}>> = {}
  for (const port of service.ports ?? []) {
    const key = `${port.target}/${port.protocol}`
    exposed[key] = {}
    ;(bindings[key] ??= []).push({HostIp: port.host_ip ?? '', HostPort: port.published ?? ''})
  }
  for (const expose of service.expose ?? []) exposed[expose.includes('/') ? expose : `${expose}/tcp`] = {}

  const mounts: MountSettings[] = []
  const binds: string[] = []
  for (const volume of service.volumes ?? []) {
    if (volume.type === 'volume') {
      const named = volume.source ? project.volumes[volume.source] : undefined
      mounts.push({
        Type: 'volume',
        Source: named?.name ?? volume.source ?? '',
        Target: volume.target,
        ReadOnly: volume.read_only ?? false,
        VolumeOptions: volume.volume?.nocopy ? {NoCopy: true} : undefined,
      } as MountSettings)
    } else if (volume.type === 'bind' && volume.bind?.create_host_path) {
      // Binds (not Mounts) make the engine create a missing source directory, as Compose does.
      const options = [volume.read_only ? 'ro' : 'rw', volume.bind.selinux, volume.bind.propagation].filter(Boolean).join(',')
      binds.push(`${volume.source}:${volume.target}:${options}`)
    } else if (volume.type === 'bind') {
      mounts.push({
        Type: 'bind',
        Source: volume.source ?? '',
        Target: volume.target,
        ReadOnly: volume.read_only ?? false,
        BindOptions: volume.bind?.propagation ? {Propagation: volume.bind.propagation} : undefined,
      } as MountSettings)
    } else if (volume.type === 'tmpfs') {
      mounts.push({Type: 'tmpfs', Target: volume.target, TmpfsOptions: volume.tmpfs?.size ? {SizeBytes: Number(volume.tmpfs.size)} : undefined} as MountSettings)
    }
  }

  const healthcheck = healthcheckSpec(service, ctx.apiVersion)
  const limits = service.deploy?.resources?.limits
  const restart = restartPolicy(service.restart)
  const labels: Record<string, string> = {
    ...service.labels,
    [Label.project]: project.name,
    [Label.service]: service.name,
    [Label.containerNumber]: String(number),
    [Label.oneoff]: 'False',
    [Label.configHash]: serviceHash(service, ctx.apiVersion),
    [Label.workingDir]: ctx.loaded.workingDir,
    [Label.configFiles]: ctx.loaded.configFiles.join(','),
    [Label.version]: COMPOSE_LABEL_VERSION,
    [Label.dependsOn]: dependsOnLabel(service),
    [Label.image]: imageFor(project.name, service),
    [Label.managedBy]: 'tta',
  }
  const firstNetwork = networks[0]
  const endpoints: Record<string, EndpointSettings> = {}
  if (firstNetwork && !service.network_mode) {
    endpoints[networkName(project, firstNetwork)] = endpointSettings(service, firstNetwork, project)
  }
  const endpointMac = apiAtLeast(ctx.apiVersion, ENDPOINT_MAC_API)
  const firstEndpoint = firstNetwork ? endpoints[networkName(project, firstNetwork)] : undefined
  // On a user-defined network the engine resolves links per endpoint (it ignores HostConfig.Links).
  const links = containerLinks(project, service)
  if (links && firstEndpoint) firstEndpoint.Links = links
  if (service.mac_address && endpointMac && firstEndpoint) (firstEndpoint as EndpointSettings & {MacAddress?: string}).MacAddress = service.mac_address

  return {
    name: containerName(project.name, service, number),
    Image: imageFor(project.name, service),
    Cmd: service.command ?? undefined,
    Entrypoint: service.entrypoint ?? undefined,
    Env: Object.entries(service.environment ?? {})
      .filter((entry): entry is [string, string] => entry[1] !== null)
      .map(([key, value]) => `${key}=${value}`),
    Labels: labels,
    ExposedPorts: exposed,
    WorkingDir: service.working_dir,
    User: service.user,
    Hostname: service.hostname,
    Domainname: service.domainname,
    Tty: service.tty,
    OpenStdin: service.stdin_open,
    StopSignal: service.stop_signal,
    StopTimeout: service.stop_grace_period ? Math.ceil((durationToNanos(service.stop_grace_period) ?? 0) / 1e9) : undefined,
    Healthcheck: healthcheck,
    MacAddress: service.mac_address && !(endpointMac && firstEndpoint) ? service.mac_address : undefined,
    HostConfig: {
      PortBindings: bindings,
      Binds: binds.length > 0 ? binds : undefined,
      Mounts: mounts,
      RestartPolicy: restart,
      NetworkMode: namespaceMode(project, service.network_mode) ?? (firstNetwork ? networkName(project, firstNetwork) : undefined),
      Init: service.init,
      Privileged: service.privileged,
      ReadonlyRootfs: service.read_only,
      ExtraHosts: service.extra_hosts,
      CapAdd: service.cap_add,
      CapDrop: service.cap_drop,
      SecurityOpt: service.security_opt,
      Dns: service.dns,
      Tmpfs: service.tmpfs ? Object.fromEntries(service.tmpfs.map((t) => [t.split(':')[0], t.split(':').slice(1).join(':')])) : undefined,
      LogConfig: service.logging?.driver ? {Type: service.logging.driver, Config: nonNull(service.logging.options)} : undefined,
      Ulimits: service.ulimits
        ? Object.entries(service.ulimits).map(([Name, u]) => (typeof u === 'number' ? {Name, Soft: u, Hard: u} : {Name, Soft: u.soft ?? 0, Hard: u.hard ?? 0}))
        : undefined,
      Sysctls: service.sysctls,
      ShmSize: bytes(service.shm_size),
      Memory: bytes(limits?.memory ?? service.mem_limit),
      NanoCpus: limits?.cpus ?? service.cpus ? Math.round((limits?.cpus ?? service.cpus ?? 0) * 1e9) : undefined,
      PidsLimit: limits?.pids ?? service.pids_limit,
      PidMode: namespaceMode(project, service.pid),
      IpcMode: namespaceMode(project, service.ipc) ?? (ipcDonor(project, service) ? 'shareable' : undefined),
      ...extraHostConfig(ctx, service),
    },
    NetworkingConfig: {EndpointsConfig: endpoints},
  }
}

/** HostConfig fields for the keys that map one to one, left out when unset. */
function extraHostConfig(ctx: SpecContext, service: Service): Record<string, unknown> {
  const {project} = ctx.loaded
  const host: Record<string, unknown> = {
    VolumesFrom: volumesFrom(project, service),
    // Only without a project network (network_mode: bridge/default): the legacy links.
    Links: service.network_mode ? containerLinks(project, service) : undefined,
    CgroupnsMode: service.cgroup,
    CgroupParent: service.cgroup_parent,
    UsernsMode: service.userns_mode,
    Runtime: service.runtime,
    Devices: service.devices?.map((d) => ({PathOnHost: d.source, PathInContainer: d.target, CgroupPermissions: d.permissions})),
    DeviceCgroupRules: service.device_cgroup_rules,
    DnsOptions: service.dns_opt,
    DnsSearch: service.dns_search,
    GroupAdd: service.group_add,
    Isolation: service.isolation,
    CpuCount: service.cpu_count,
    CpuPercent: service.cpu_percent,
    CpuPeriod: service.cpu_period,
    CpuQuota: service.cpu_quota,
    CpuRealtimePeriod: service.cpu_rt_period,
    CpuRealtimeRuntime: service.cpu_rt_runtime,
    CpuShares: service.cpu_shares,
    CpusetCpus: service.cpuset,
    MemoryReservation: bytes(service.mem_reservation),
    MemorySwappiness: service.mem_swappiness === undefined ? undefined : Number(service.mem_swappiness),
    MemorySwap: bytes(service.memswap_limit),
    OomKillDisable: service.oom_kill_disable,
    OomScoreAdj: service.oom_score_adj,
    StorageOpt: service.storage_opt,
    UTSMode: service.uts,
    Annotations: service.annotations && apiAtLeast(ctx.apiVersion, ANNOTATIONS_API) ? service.annotations : undefined,
    DeviceRequests: deviceRequests(service),
    ...blkioSpec(service),
  }
  return Object.fromEntries(Object.entries(host).filter(([, v]) => v !== undefined))
}

/** gpus and deploy reservations' devices, as the engine's DeviceRequests (`docker run --gpus` for gpus). */
export function deviceRequests(service: Service): Array<Record<string, unknown>> | undefined {
  const toEngine = (r: DeviceRequest, capabilities: string[]): Record<string, unknown> => {
    const out: Record<string, unknown> = {Driver: r.driver ?? '', Count: r.count ?? 0, Capabilities: [capabilities]}
    if (r.device_ids) out.DeviceIDs = r.device_ids
    if (r.options) out.Options = r.options
    return out
  }
  const requests = [
    // A gpus entry asks for GPUs whatever else it lists, as `docker run --gpus` does.
    ...(service.gpus ?? []).map((r) => toEngine(r, r.capabilities?.includes('gpu') ? r.capabilities : [...(r.capabilities ?? []), 'gpu'])),
    ...(service.deploy?.resources?.reservations?.devices ?? []).map((r) => toEngine(r, r.capabilities ?? [])),
  ]
  return requests.length > 0 ? requests : undefined
}

/** blkio_config as the engine's HostConfig fields (rates in bytes or operations per second). */
export function blkioSpec(service: Service): Record<string, unknown> {
  const blkio = service.blkio_config
  if (!blkio) return {}
  const throttle = (devices: ThrottleDevice[] | undefined): Array<{Path: string; Rate: number}> | undefined => devices?.map((d) => ({Path: d.Path, Rate: Number(d.Rate)}))
  return {
    BlkioWeight: blkio.weight,
    BlkioWeightDevice: blkio.weight_device?.map((d) => ({Path: d.Path, Weight: d.Weight})),
    BlkioDeviceReadBps: throttle(blkio.device_read_bps),
    BlkioDeviceReadIOps: throttle(blkio.device_read_iops),
    BlkioDeviceWriteBps: throttle(blkio.device_write_bps),
    BlkioDeviceWriteIOps: throttle(blkio.device_write_iops),
  }
}

/**
 * A project network as the engine's create-network options. Pure. `enable_ipv4: false` needs
 * engine API 1.47: an older engine would quietly give the network IPv4, so that is refused with
 * where the setting was written.
 */
export function networkSpec(loaded: LoadedProject, key: string, name: string, apiVersion: string, labels: Record<string, string>): NetworkCreate {
  const config: NetworkConfig | undefined = loaded.project.networks[key]
  if (config?.enable_ipv4 === false && !apiAtLeast(apiVersion, ENABLE_IPV4_API)) {
    const where = loaded.sources?.[`networks.${key}.enable_ipv4`]
    throw new TtaError(
      `${where ? `${where}: ` : ''}networks.${key}.enable_ipv4: an IPv6-only network needs engine API ${ENABLE_IPV4_API} (Docker 28); this engine has ${apiVersion} and would give ${name} IPv4 anyway`,
      ExitCode.badInput,
      'upgrade the engine, or remove enable_ipv4: false',
    )
  }
  const ipam = config?.ipam
  const pools = ipam?.config?.map((p) => {
    const pool: Record<string, unknown> = {Subnet: p.subnet, IPRange: p.ip_range, Gateway: p.gateway, AuxiliaryAddresses: p.aux_addresses}
    return Object.fromEntries(Object.entries(pool).filter(([, v]) => v !== undefined))
  })
  const spec: NetworkCreate & {EnableIPv4?: boolean} = {
    Name: name,
    Driver: config?.driver ?? 'bridge',
    Options: config?.driver_opts,
    Internal: config?.internal,
    Attachable: config?.attachable,
    EnableIPv6: config?.enable_ipv6,
    CheckDuplicate: true,
    Labels: {...config?.labels, ...labels},
  }
  if (ipam?.driver || (pools && pools.length > 0) || ipam?.options) {
    spec.IPAM = {Driver: ipam?.driver ?? 'default', Config: pools ?? [], ...(ipam?.options ? {Options: ipam.options} : {})} as Ipam
  }
  if (config?.enable_ipv4 !== undefined && apiAtLeast(apiVersion, ENABLE_IPV4_API)) spec.EnableIPv4 = config.enable_ipv4
  return spec
}

export function networkName(project: Project, key: string): string {
  return project.networks[key]?.name ?? `${project.name}_${key}`
}

export function endpointSettings(service: Service, key: string, _project: Project): EndpointSettings {
  const config = service.networks?.[key]
  const ipam = config?.ipv4_address || config?.ipv6_address || config?.link_local_ips ? {IPv4Address: config.ipv4_address, IPv6Address: config.ipv6_address, LinkLocalIPs: config.link_local_ips} : undefined
  const endpoint: EndpointSettings & {DriverOpts?: Record<string, string>} = {
    Aliases: [service.name, ...(config?.aliases ?? [])],
    IPAMConfig: ipam,
  }
  if (config?.driver_opts) endpoint.DriverOpts = config.driver_opts
  return endpoint
}

function nonNull(record: Record<string, string | null> | undefined): Record<string, string> | undefined {
  if (!record) return undefined
  return Object.fromEntries(Object.entries(record).filter((e): e is [string, string] => e[1] !== null))
}

export function restartPolicy(restart: string | undefined): {Name: string; MaximumRetryCount?: number} {
  if (!restart || restart === 'no') return {Name: 'no'}
  const [name = 'no', count] = restart.split(':')
  return count ? {Name: name, MaximumRetryCount: Number(count)} : {Name: name}
}

/** Docker's healthcheck shape; start_interval only where the engine understands it. */
export function healthcheckSpec(service: Service, apiVersion: string): HealthConfig | undefined {
  const hc = service.healthcheck
  if (!hc) return undefined
  if (hc.disable) return {Test: ['NONE']}
  const spec: HealthConfig & {StartInterval?: number} = {
    Test: hc.test,
    Interval: durationToNanos(hc.interval),
    Timeout: durationToNanos(hc.timeout),
    Retries: hc.retries,
    StartPeriod: durationToNanos(hc.start_period),
  }
  if (hc.start_interval && apiAtLeast(apiVersion, START_INTERVAL_API)) spec.StartInterval = durationToNanos(hc.start_interval)
  return spec
}
