import type {Service} from '../compose/model.js'
import {durationToMs} from '../engine/durations.js'
import {healthcheckCommand} from '../engine/readiness.js'
import type {HttpExpectation, ProbeOverride, ProbeSpec} from './types.js'

/** A port as the service publishes it: container port, host port (if published) and host address. */
export interface PublishedPort {
  target: number
  published?: number
  hostIp?: string
  protocol: string
}

/**
 * What a probe can be derived from, whether it comes from the compose model (factsFromService)
 * or from a running container's own configuration (when the compose files do not load).
 */
export interface ServiceFacts {
  service: string
  /** The image it runs, plus the names it was mapped from (tta.config.yaml `images:`). */
  images: string[]
  ports: PublishedPort[]
  /** Docker healthcheck test (["CMD-SHELL", "…"] or ["CMD", …]) and its timeout. */
  healthcheck?: {test: string[]; timeoutMs?: number}
  environment: Record<string, string>
  /** The container's command (arguments after the entrypoint). */
  command: string[]
}

export interface DeriveContext {
  /** The address to reach a port published on `hostIp` from where tta runs. */
  hostFor(hostIp: string | undefined): string
  /** Network probes' timeout. */
  timeoutMs: number
  /** Upper bound for exec probes (the healthcheck's own timeout applies when shorter). */
  execTimeoutMs: number
}

export type ProbeSource = 'config' | 'image' | 'healthcheck' | 'port'

export type DerivedProbe = {spec: ProbeSpec; source: ProbeSource} | {spec: undefined; source: ProbeSource | 'none'; reason: string}

/** The repository's last path component: `tta-standin/redis:local` and `redis:7.2.4-alpine` are both `redis`. */
export function imageBase(ref: string): string {
  const noDigest = ref.split('@')[0] ?? ref
  const slash = noDigest.lastIndexOf('/')
  const colon = noDigest.lastIndexOf(':')
  const repo = colon > slash ? noDigest.slice(0, colon) : noDigest
  return repo.slice(repo.lastIndexOf('/') + 1).toLowerCase()
}

const LOCAL_URL = /\bhttp:\/\/(?:127\.0\.0\.1|localhost|0\.0\.0\.0|\[::1\])(?::(\d+))?(\/[^\s'"\\)|;&]*)?/

/** The local HTTP URL a healthcheck fetches (wget/curl/urllib), as container port and path. */
export function healthcheckUrl(test: string[] | undefined): {port: number; path: string} | undefined {
  if (!test || test[0] === 'NONE') return undefined
  const match = LOCAL_URL.exec(test.slice(test[0] === 'CMD' || test[0] === 'CMD-SHELL' ? 1 : 0).join(' '))
  if (!match) return undefined
  return {port: match[1] ? Number(match[1]) : 80, path: match[2] || '/'}
}

/** `--requirepass X` on redis-server's command line, else the variables redis tools read. */
export function redisPassword(facts: Pick<ServiceFacts, 'command' | 'environment'>): string | undefined {
  const i = facts.command.indexOf('--requirepass')
  if (i >= 0 && facts.command[i + 1]) return facts.command[i + 1]
  const inline = facts.command.find((a) => a.startsWith('--requirepass='))
  if (inline) return inline.slice('--requirepass='.length)
  return facts.environment.REDIS_PASSWORD || facts.environment.REDISCLI_AUTH || undefined
}

function published(facts: ServiceFacts, target: number): PublishedPort | undefined {
  return facts.ports.find((p) => p.target === target && p.published !== undefined && p.protocol === 'tcp')
}

function firstPublished(facts: ServiceFacts): PublishedPort | undefined {
  return facts.ports.find((p) => p.published !== undefined && p.protocol === 'tcp')
}

const KNOWN = {redis: 6379, postgres: 5432} as const

/**
 * The probe for a service: the `probes:` entry of tta.config.yaml when there is one; else by its
 * image (redis → PING, postgres → startup, neo4j → discovery + bolt) on its published port; else
 * an HTTP GET of the local URL its healthcheck fetches, on the published port; else its
 * healthcheck run inside the container; else a TCP connect to its first published port.
 */
export function deriveProbe(facts: ServiceFacts, override: ProbeOverride | undefined, ctx: DeriveContext): DerivedProbe {
  const hcCommand = facts.healthcheck && facts.healthcheck.test[0] !== 'NONE' && facts.healthcheck.test.length > 0 ? healthcheckCommand(facts.healthcheck.test) : undefined
  const execTimeout = Math.min(ctx.execTimeoutMs, facts.healthcheck?.timeoutMs || ctx.execTimeoutMs)
  const kind = facts.images.map(imageBase).find((base) => base === 'redis' || base === 'postgres' || base === 'neo4j')

  if (override) return fromOverride(facts, override, ctx, hcCommand, execTimeout)

  if (kind === 'redis' || kind === 'postgres') {
    const port = published(facts, KNOWN[kind])
    if (port?.published) {
      const base = {host: ctx.hostFor(port.hostIp), port: port.published, timeoutMs: ctx.timeoutMs}
      if (kind === 'redis') return {spec: {type: 'redis', ...base, password: redisPassword(facts)}, source: 'image'}
      const user = facts.environment.POSTGRES_USER || 'postgres'
      return {spec: {type: 'postgres', ...base, user, database: facts.environment.POSTGRES_DB || user}, source: 'image'}
    }
  }
  if (kind === 'neo4j') {
    const http = published(facts, 7474)
    const bolt = published(facts, 7687)
    const any = http ?? bolt
    if (any) return {spec: {type: 'neo4j', host: ctx.hostFor(any.hostIp), httpPort: http?.published, boltPort: bolt?.published, timeoutMs: ctx.timeoutMs}, source: 'image'}
  }
  const url = healthcheckUrl(facts.healthcheck?.test)
  const urlPort = url ? published(facts, url.port) : undefined
  if (url && urlPort?.published) {
    return {spec: {type: 'http', host: ctx.hostFor(urlPort.hostIp), port: urlPort.published, path: url.path, timeoutMs: ctx.timeoutMs}, source: 'healthcheck'}
  }
  if (hcCommand) return {spec: {type: 'exec', command: hcCommand, timeoutMs: execTimeout}, source: 'healthcheck'}
  const first = firstPublished(facts)
  if (first?.published) return {spec: {type: 'tcp', host: ctx.hostFor(first.hostIp), port: first.published, timeoutMs: ctx.timeoutMs}, source: 'port'}
  return {spec: undefined, source: 'none', reason: 'no published port and no healthcheck: only the container state is known'}
}

function fromOverride(facts: ServiceFacts, o: ProbeOverride, ctx: DeriveContext, hcCommand: string[] | undefined, execTimeout: number): DerivedProbe {
  const timeoutMs = o.timeoutMs ?? (o.type === 'exec' ? execTimeout : ctx.timeoutMs)
  const unpublished = (port: number): DerivedProbe => ({spec: undefined, source: 'config', reason: `probes.${facts.service}: container port ${port} is not published on the host; publish it, or use type: exec`})
  const noPort = (): DerivedProbe => ({spec: undefined, source: 'config', reason: `probes.${facts.service}: the service publishes no TCP port; set port:, or use type: exec`})
  // A container port to a host address and port; the default when the entry names none.
  const resolve = (port: number | undefined, fallback: number | undefined): PublishedPort | DerivedProbe => {
    const wanted = port ?? fallback
    if (wanted !== undefined) return published(facts, wanted) ?? unpublished(wanted)
    return firstPublished(facts) ?? noPort()
  }
  const isPort = (p: PublishedPort | DerivedProbe): p is PublishedPort => 'target' in p
  switch (o.type) {
    case 'none':
      return {spec: undefined, source: 'config', reason: 'probe disabled in tta.config.yaml'}
    case 'exec': {
      const command = o.command ?? hcCommand
      if (!command) return {spec: undefined, source: 'config', reason: `probes.${facts.service}: type exec needs command: (the service has no healthcheck to run)`}
      return {spec: {type: 'exec', command, timeoutMs}, source: 'config'}
    }
    case 'http': {
      const url = healthcheckUrl(facts.healthcheck?.test)
      const port = resolve(o.port, url && published(facts, url.port) ? url.port : undefined)
      if (!isPort(port)) return port
      const path = o.path ?? (url && url.port === port.target ? url.path : '/')
      return {spec: {type: 'http', host: ctx.hostFor(port.hostIp), port: port.published as number, path, expect: o.expect as HttpExpectation[] | undefined, timeoutMs}, source: 'config'}
    }
    case 'tcp':
    case 'redis':
    case 'postgres': {
      // redis and postgres default to their well-known container port when it is published.
      const fallback = o.type !== 'tcp' && published(facts, KNOWN[o.type]) ? KNOWN[o.type] : undefined
      const port = resolve(o.port, fallback)
      if (!isPort(port)) return port
      const base = {host: ctx.hostFor(port.hostIp), port: port.published as number, timeoutMs}
      if (o.type === 'tcp') return {spec: {type: 'tcp', ...base}, source: 'config'}
      if (o.type === 'redis') return {spec: {type: 'redis', ...base, password: o.password ?? redisPassword(facts)}, source: 'config'}
      const user = o.user ?? (facts.environment.POSTGRES_USER || 'postgres')
      return {spec: {type: 'postgres', ...base, user, database: o.database ?? (facts.environment.POSTGRES_DB || user)}, source: 'config'}
    }
    case 'neo4j': {
      const http = published(facts, o.httpPort ?? 7474)
      const bolt = published(facts, o.boltPort ?? 7687)
      if (o.httpPort !== undefined && !http) return unpublished(o.httpPort)
      if (o.boltPort !== undefined && !bolt) return unpublished(o.boltPort)
      const any = http ?? bolt
      if (!any) return {spec: undefined, source: 'config', reason: `probes.${facts.service}: neither 7474 nor 7687 is published; set httpPort:/boltPort:`}
      return {spec: {type: 'neo4j', host: ctx.hostFor(any.hostIp), httpPort: http?.published, boltPort: bolt?.published, timeoutMs}, source: 'config'}
    }
    default:
      return {spec: undefined, source: 'config', reason: `probes.${facts.service}: unknown type`}
  }
}

/** ServiceFacts from the compose model: the probe `tta dev` would reach once the service runs. */
export function factsFromService(service: Service, imageAliases: string[] = []): ServiceFacts {
  return {
    service: service.name,
    images: [...(service.image ? [service.image] : []), ...imageAliases],
    ports: (service.ports ?? []).map((p) => ({target: p.target, published: p.published ? Number(p.published) : undefined, hostIp: p.host_ip, protocol: p.protocol})),
    healthcheck: service.healthcheck?.test && !service.healthcheck.disable ? {test: service.healthcheck.test, timeoutMs: durationToMs(service.healthcheck.timeout, 30_000)} : undefined,
    environment: Object.fromEntries(Object.entries(service.environment ?? {}).filter((e): e is [string, string] => e[1] !== null)),
    command: service.command ?? [],
  }
}

/**
 * The address that reaches a port the engine publishes, from where tta runs: the bound address
 * on a local engine (0.0.0.0 → 127.0.0.1), the engine's host for a remote one, and the host
 * (host.docker.internal) from inside a devcontainer that uses the host's engine.
 * TTA_PROBE_HOST overrides it.
 */
export function probeHostFor(engineHost: string, env: NodeJS.ProcessEnv): (hostIp: string | undefined) => string {
  if (env.TTA_PROBE_HOST) {
    const fixed = env.TTA_PROBE_HOST
    return () => fixed
  }
  let remote: string | undefined
  try {
    const url = new URL(engineHost)
    if (url.protocol === 'tcp:' || url.protocol === 'http:' || url.protocol === 'https:' || url.protocol === 'ssh:') remote = url.hostname.replace(/^\[|\]$/g, '')
  } catch {
    remote = undefined
  }
  const devcontainer = Boolean(env.REMOTE_CONTAINERS || env.CODESPACES || env.LOCAL_WORKSPACE_FOLDER)
  return (hostIp) => {
    if (remote && remote !== 'localhost' && remote !== '127.0.0.1') return remote
    if (devcontainer) return 'host.docker.internal'
    if (!hostIp || hostIp === '0.0.0.0') return '127.0.0.1'
    if (hostIp === '::') return '::1'
    return hostIp
  }
}
