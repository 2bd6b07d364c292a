import {readFileSync} from 'node:fs'

import type {EngineApi} from '../docker/api.js'

/**
 * CPU and memory of one container at one moment. CPU % needs two samples; the engine's stats
 * endpoint gives a pair at once, a cgroup read gives one, and the caller takes a second later.
 */
export interface StatsSample {
  /** Monotonic clock, milliseconds. */
  at: number
  /** Cumulative CPU time of the container, nanoseconds (cgroup samples). */
  cpuNanos?: number
  /** CPU % computed by the engine's own pair of samples (engine samples). */
  cpuPercent?: number
  /** Memory in use without the page cache, as `docker stats` shows it. */
  memoryBytes?: number
  source: 'cgroup' | 'engine'
}

const now = (): number => Number(process.hrtime.bigint()) / 1e6

export interface CgroupDirs {
  version: 1 | 2
  memory: string
  cpu: string
}

/**
 * Where a process's cgroups are, from /proc/PID/cgroup (`ID:controllers:path` lines; v2 has only
 * `0::path`). Only a path that names the container counts: from inside another PID namespace
 * (a devcontainer), PID numbers belong to other processes.
 */
export function cgroupDirs(procCgroup: string, containerId: string, root = '/sys/fs/cgroup'): CgroupDirs | undefined {
  const lines = procCgroup
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const first = line.indexOf(':')
      const second = line.indexOf(':', first + 1)
      return {controllers: line.slice(first + 1, second).split(','), path: line.slice(second + 1)}
    })
  const memory = lines.find((l) => l.controllers.includes('memory'))
  const cpu = lines.find((l) => l.controllers.includes('cpuacct'))
  if (memory && cpu) {
    if (!memory.path.includes(containerId) || !cpu.path.includes(containerId)) return undefined
    return {version: 1, memory: `${root}/memory${memory.path}`, cpu: `${root}/${cpu.controllers.join(',')}${cpu.path}`}
  }
  const unified = lines.find((l) => l.controllers.length === 1 && l.controllers[0] === '')
  if (!unified || !unified.path.includes(containerId)) return undefined
  return {version: 2, memory: `${root}${unified.path}`, cpu: `${root}${unified.path}`}
}

/** A `key value` line's value from memory.stat or cpu.stat. */
export function statValue(text: string, key: string): number | undefined {
  const match = new RegExp(`^${key} (\\d+)$`, 'm').exec(text)
  return match ? Number(match[1]) : undefined
}

function read(path: string): string {
  return readFileSync(path, 'utf8')
}

/** Where a running container's cgroups are, when this machine can see them (its /proc and /sys/fs/cgroup). */
export function containerCgroup(pid: number, containerId: string): CgroupDirs | undefined {
  if (!pid) return undefined
  try {
    return cgroupDirs(read(`/proc/${pid}/cgroup`), containerId)
  } catch {
    return undefined
  }
}

/**
 * One sample read straight from the container's cgroup: CPU time, and memory when asked (a
 * round's first sample only starts the CPU window, so it skips memory's two reads).
 */
export function readCgroupSample(dirs: CgroupDirs, withMemory = true): StatsSample | undefined {
  try {
    const at = now()
    if (dirs.version === 1) {
      // v1 without cpuacct at the joined mount name: most distributions also link /sys/fs/cgroup/cpuacct.
      let usage: string
      try {
        usage = read(`${dirs.cpu}/cpuacct.usage`)
      } catch {
        usage = read(dirs.cpu.replace(/\/sys\/fs\/cgroup\/[^/]+/, '/sys/fs/cgroup/cpuacct') + '/cpuacct.usage')
      }
      if (!withMemory) return {at, source: 'cgroup', cpuNanos: Number(usage)}
      const stat = read(`${dirs.memory}/memory.stat`)
      const used = Number(read(`${dirs.memory}/memory.usage_in_bytes`))
      return {at, source: 'cgroup', cpuNanos: Number(usage), memoryBytes: Math.max(0, used - (statValue(stat, 'total_inactive_file') ?? 0))}
    }
    const usec = statValue(read(`${dirs.cpu}/cpu.stat`), 'usage_usec')
    const cpuNanos = usec === undefined ? undefined : usec * 1000
    if (!withMemory) return {at, source: 'cgroup', cpuNanos}
    const stat = read(`${dirs.memory}/memory.stat`)
    const used = Number(read(`${dirs.memory}/memory.current`))
    return {at, source: 'cgroup', cpuNanos, memoryBytes: Math.max(0, used - (statValue(stat, 'inactive_file') ?? 0))}
  } catch {
    return undefined
  }
}

/** CPU % between two cgroup samples (100 = one core busy, as `docker stats`). */
export function cpuPercent(previous: StatsSample | undefined, current: StatsSample): number | undefined {
  if (current.cpuPercent !== undefined) return current.cpuPercent
  if (!previous || previous.cpuNanos === undefined || current.cpuNanos === undefined) return undefined
  const wallMs = current.at - previous.at
  if (wallMs <= 0) return undefined
  return Math.max(0, ((current.cpuNanos - previous.cpuNanos) / 1e6 / wallMs) * 100)
}

/** The engine's stats document (GET /containers/ID/stats?stream=false), reduced to a sample. */
export interface EngineStats {
  cpu_stats?: {cpu_usage?: {total_usage?: number; percpu_usage?: number[]}; system_cpu_usage?: number; online_cpus?: number}
  precpu_stats?: {cpu_usage?: {total_usage?: number}; system_cpu_usage?: number}
  memory_stats?: {usage?: number; stats?: Record<string, number>}
}

export function engineSample(stats: EngineStats, at = now()): StatsSample {
  const cpu = stats.cpu_stats
  const pre = stats.precpu_stats
  let percent: number | undefined
  const cpuDelta = (cpu?.cpu_usage?.total_usage ?? 0) - (pre?.cpu_usage?.total_usage ?? 0)
  const systemDelta = (cpu?.system_cpu_usage ?? 0) - (pre?.system_cpu_usage ?? 0)
  if (pre?.system_cpu_usage && systemDelta > 0 && cpuDelta >= 0) {
    const cpus = cpu?.online_cpus || cpu?.cpu_usage?.percpu_usage?.length || 1
    percent = (cpuDelta / systemDelta) * cpus * 100
  }
  const memory = stats.memory_stats
  const cache = memory?.stats?.total_inactive_file ?? memory?.stats?.inactive_file ?? 0
  return {
    at,
    source: 'engine',
    cpuPercent: percent,
    memoryBytes: memory?.usage !== undefined ? Math.max(0, memory.usage - cache) : undefined,
  }
}

/** One stats document from the engine (it waits for its collector, about a second). */
export async function readEngineSample(api: EngineApi, containerId: string, timeoutMs: number): Promise<StatsSample | undefined> {
  try {
    const stats = await api.json<EngineStats>({path: `/containers/${containerId}/stats`, query: {stream: false}, timeoutMs})
    return engineSample(stats)
  } catch {
    return undefined
  }
}
