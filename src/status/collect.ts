import type {Service} from '../compose/model.js'
import {debug} from '../debug.js'
import type {EngineApi} from '../docker/api.js'
import {Label} from '../engine/labels.js'
import {serviceUrls} from '../engine/urls.js'
import {deriveProbe, type DerivedProbe, type PublishedPort, type Reach, type ServiceFacts} from '../probes/derive.js'
import {runProbe} from '../probes/run.js'
import type {ProbeOverride} from '../probes/types.js'
import {countVerdicts, endpointsOf, STATUS_SCHEMA_VERSION, toStatusProbe, verdictFor, type Group, type ServiceStatus, type StatusReport} from './model.js'
import {reachFor} from './reach.js'
import {containerCgroup, cpuPercent, readCgroupSample, readEngineSample, type CgroupDirs, type StatsSample} from './stats.js'

/** The parts of GET /containers/json status uses. */
export interface ListedContainer {
  Id: string
  Names: string[]
  Image: string
  Labels: Record<string, string>
  State: string
  Ports: Array<{IP?: string; PrivatePort: number; PublicPort?: number; Type: string}>
  NetworkSettings?: {Networks?: Record<string, {IPAddress?: string; NetworkID?: string}>}
}

/** The parts of GET /containers/ID/json status uses. */
export interface InspectedContainer {
  Id: string
  Name: string
  RestartCount: number
  State: {Status: string; Pid: number; ExitCode: number; StartedAt: string; FinishedAt: string; Health?: {Status: string}}
  Config: {Image: string; Env: string[] | null; Cmd: string[] | null; Healthcheck?: {Test?: string[]; Timeout?: number}}
  /** Memory: the limit in bytes, 0 when unlimited. */
  HostConfig?: {Memory?: number}
}

export interface CollectOptions {
  project: string
  /** Only these services; all when empty. Named services without a container are reported as missing. */
  services?: string[]
  /** tta.config.yaml `probes:`. */
  probes?: Record<string, ProbeOverride>
  /** tta.config.yaml `images:` (upstream → replacement), to recognise a replaced redis as redis. */
  images?: Record<string, string>
  monitoring: Set<string>
  /** Network probes' timeout; exec probes get `execTimeoutMs` (or their healthcheck's, if shorter). */
  timeoutMs: number
  execTimeoutMs: number
  /** Read CPU and memory. */
  stats: boolean
  /** Samples of the previous round (`--watch`, `--serve`): CPU % over the time since. */
  previous?: Map<string, StatsSample>
  /** Shortest window for a CPU % from two cgroup reads in one round. */
  minCpuWindowMs?: number
  /** How ports are reached (worked out once per command: reachFor); found out when absent. */
  reach?: Reach
  env?: NodeJS.ProcessEnv
}

export interface Collected {
  report: StatusReport
  /** This round's stats samples by container id, for the next round's CPU %. */
  samples: Map<string, StatsSample>
}

/** Published ports from the container list: IPv4 and IPv6 bindings of one port count once. */
export function publishedPorts(ports: ListedContainer['Ports']): PublishedPort[] {
  const seen = new Map<string, PublishedPort>()
  for (const p of ports) {
    const key = `${p.PrivatePort}/${p.Type}/${p.PublicPort ?? ''}`
    const existing = seen.get(key)
    if (existing && !(existing.hostIp?.includes(':') && !p.IP?.includes(':'))) continue
    seen.set(key, {target: p.PrivatePort, published: p.PublicPort || undefined, hostIp: p.IP || undefined, protocol: p.Type})
  }
  return [...seen.values()].sort((a, b) => a.target - b.target)
}

/** Everything a probe is derived from, read off the running container (no compose file needed). */
export function factsFromContainer(service: string, listed: ListedContainer, inspected: InspectedContainer, images: Record<string, string> = {}): ServiceFacts {
  const image = inspected.Config.Image || listed.Image
  const aliases = Object.entries(images)
    .filter(([, to]) => to === image)
    .map(([from]) => from)
  const hc = inspected.Config.Healthcheck
  return {
    service,
    images: [image, ...aliases],
    ports: publishedPorts(listed.Ports),
    healthcheck: hc?.Test && hc.Test.length > 0 ? {test: hc.Test, timeoutMs: hc.Timeout ? hc.Timeout / 1e6 : undefined} : undefined,
    environment: Object.fromEntries(
      (inspected.Config.Env ?? []).map((entry) => {
        const eq = entry.indexOf('=')
        return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)]
      }),
    ),
    command: inspected.Config.Cmd ?? [],
    networks: Object.entries(listed.NetworkSettings?.Networks ?? {}).map(([name, n]) => ({name, ip: n.IPAddress ?? '', id: n.NetworkID})),
  }
}

/** The URLs a developer opens, from the container's published ports (the same rules as `tta dev`). */
export function urlsFor(service: string, ports: PublishedPort[]): string[] {
  const model: Service = {
    name: service,
    command: null,
    entrypoint: null,
    ports: ports.filter((p) => p.published).map((p) => ({mode: 'ingress', target: p.target, published: String(p.published), host_ip: p.hostIp, protocol: p.protocol as 'tcp'})),
  }
  return serviceUrls(model)
}

const monotonic = (): number => Number(process.hrtime.bigint()) / 1e6
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const dockerTime = (value: string | undefined): string | null => (!value || value.startsWith('0001-01-01') ? null : value)

function healthOf(status: string | undefined): ServiceStatus['health'] {
  return status === 'healthy' || status === 'unhealthy' || status === 'starting' ? status : null
}

function byGroupThenName(a: ServiceStatus, b: ServiceStatus): number {
  if (a.group !== b.group) return a.group === 'core' ? -1 : 1
  if (a.service !== b.service) return a.service < b.service ? -1 : 1
  return (a.container?.number ?? 0) - (b.container?.number ?? 0)
}

/**
 * The status of a project's services, read from the engine alone: one container list (by
 * Compose's project label), one inspect per container, every probe and every stats read at
 * once. Never needs the compose files, so it works when they are broken.
 */
export async function collectStatus(api: EngineApi, options: CollectOptions): Promise<Collected> {
  const t0 = monotonic()
  const wanted = new Set(options.services ?? [])
  const reaching = options.reach ? Promise.resolve(options.reach) : reachFor(api, options.env)
  const listed = await api.json<ListedContainer[]>({
    path: '/containers/json',
    query: {all: 1, filters: {label: [`${Label.project}=${options.project}`, `${Label.oneoff}=False`]}},
  })
  const selected = listed.filter((c) => wanted.size === 0 || wanted.has(c.Labels[Label.service] ?? ''))
  const reach = await reaching
  const ctx = {reach, timeoutMs: options.timeoutMs, execTimeoutMs: options.execTimeoutMs}

  // Each container on its own: inspect, derive, first stats read, probe; no container waits
  // for another's answers.
  const samples = new Map<string, StatsSample>()
  const firstSamples = new Map<string, StatsSample>()
  const cgroups = new Map<string, CgroupDirs>()
  const engineReads = new Map<string, Promise<StatsSample | undefined>>()
  const settled = await Promise.all(
    selected.map(async (listedContainer) => {
      const info = await api.json<InspectedContainer>({path: `/containers/${listedContainer.Id}/json`}).catch(() => undefined)
      // Removed between the list and the inspect: it is gone, say nothing about it.
      if (!info) return undefined
      const service = listedContainer.Labels[Label.service] ?? ''
      const facts = factsFromContainer(service, listedContainer, info, options.images)
      const running = info.State.Status === 'running'
      const derived: DerivedProbe | undefined = running ? deriveProbe(facts, options.probes?.[service], ctx) : undefined
      if (options.stats && running) {
        // A first cgroup read now (CPU only); an engine read (a second or so) starts now, alongside.
        const dirs = containerCgroup(info.State.Pid, info.Id)
        const sample = dirs && readCgroupSample(dirs, false)
        if (dirs && sample) {
          cgroups.set(info.Id, dirs)
          firstSamples.set(info.Id, sample)
        } else engineReads.set(info.Id, readEngineSample(api, info.Id, 5_000))
      }
      const probe = derived?.spec ? toStatusProbe(await runProbe(derived.spec, {api, containerId: info.Id}), derived.source) : null
      if (probe) debug('probe', () => `${service}: ${probe.type} ${probe.target} ${probe.ok ? 'ok' : `failed: ${probe.error}`} (${probe.latencyMs} ms, ${(monotonic() - t0).toFixed(1)} ms into the round)`)
      return {listed: listedContainer, info, service, facts, running, derived, probe}
    }),
  )
  const rows = settled.filter((row): row is NonNullable<typeof row> => row !== undefined)

  if (firstSamples.size > 0) {
    const first = Math.min(...[...firstSamples.values()].map((s) => s.at))
    const minWindow = options.previous ? 0 : (options.minCpuWindowMs ?? 50)
    const wait = first + minWindow - monotonic()
    if (wait > 0) await sleep(wait)
  }
  const engineSamples = new Map(await Promise.all([...engineReads].map(async ([id, read]) => [id, await read] as const)))

  const now = Date.now()
  const services: ServiceStatus[] = rows.map((row) => {
    const {info, listed: l} = row
    const id = info.Id
    let cpu: number | undefined
    let sample: StatsSample | undefined
    if (options.stats && row.running) {
      const first = firstSamples.get(id)
      const dirs = cgroups.get(id)
      if (first && dirs) {
        sample = readCgroupSample(dirs) ?? first
        cpu = cpuPercent(options.previous?.get(id) ?? first, sample)
      } else {
        sample = engineSamples.get(id)
        cpu = sample ? cpuPercent(undefined, sample) : undefined
      }
      if (sample) samples.set(id, sample)
    }
    const {probe} = row
    const health = healthOf(info.State.Health?.Status)
    const noProbe = row.derived && !row.derived.spec ? row.derived.reason : undefined
    const verdict = verdictFor(info.State.Status, health, probe, noProbe)
    const startedAt = dockerTime(info.State.StartedAt)
    const group: Group = options.monitoring.has(row.service) ? 'monitoring' : 'core'
    return {
      service: row.service,
      group,
      status: verdict.status,
      reason: verdict.reason,
      state: info.State.Status,
      health,
      container: {id: id.slice(0, 12), name: info.Name.replace(/^\//, '') || (l.Names[0] ?? '').replace(/^\//, ''), number: Number(l.Labels[Label.containerNumber] ?? 1), image: info.Config.Image || l.Image},
      startedAt,
      uptimeSeconds: row.running && startedAt ? Math.max(0, Math.round((now - Date.parse(startedAt)) / 1000)) : null,
      restarts: info.RestartCount,
      exitCode: row.running ? null : info.State.ExitCode,
      urls: urlsFor(row.service, row.facts.ports),
      probe,
      cpuPercent: cpu === undefined ? null : Math.round(cpu * 100) / 100,
      memoryBytes: sample?.memoryBytes ?? null,
      // The container's own setting: the engine's stats report the machine's memory when unlimited.
      memoryLimitBytes: info.HostConfig?.Memory || null,
    }
  })

  for (const name of wanted) {
    if (services.some((s) => s.service === name)) continue
    services.push({
      service: name,
      group: options.monitoring.has(name) ? 'monitoring' : 'core',
      ...verdictFor(null, null, null),
      state: null,
      health: null,
      container: null,
      startedAt: null,
      uptimeSeconds: null,
      restarts: null,
      exitCode: null,
      urls: [],
      probe: null,
      cpuPercent: null,
      memoryBytes: null,
      memoryLimitBytes: null,
    })
  }
  services.sort(byGroupThenName)
  const counts = countVerdicts(services)
  return {
    report: {
      schemaVersion: STATUS_SCHEMA_VERSION,
      project: options.project,
      engine: api.endpoint.host,
      generatedAt: new Date().toISOString(),
      durationMs: Math.round(monotonic() - t0),
      healthy: counts.total > 0 && counts.healthy === counts.total,
      counts,
      services,
      endpoints: endpointsOf(services),
    },
    samples,
  }
}
