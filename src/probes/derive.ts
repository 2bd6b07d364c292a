import {splitImageRef} from '../compose/image-ref.js'
import type {Service} from '../compose/model.js'
import {durationToMs} from '../engine/durations.js'
import {healthcheckCommand} from '../engine/container-io.js'
import type {HttpExpectation, ProbeOverride, ProbeSpec} from './types.js'
import {redisPassword} from './redis-args.js'

export {probeHostFor} from './reach.js'

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
  /** Its address on each network it is attached to (a running container). */
  networks?: Array<{name: string; ip: string; id?: string}>
}

/**
 * How tta reaches a container's ports: on the host ports they are published on (tta runs on the
 * engine's machine, or talks to a remote engine), or at the container's own address on a network
 * tta's container shares with it (tta runs in a container of that engine: a devcontainer).
 */
export type Reach =
  | {
      via: 'published'
      /** The address of a port published on hostIp; undefined when there is no route to it (probes/reach.ts). */
      hostFor: (hostIp: string | undefined) => string | undefined
      /**
       * Whether a network's bridge is in tta's own network namespace (a local engine), so the
       * containers' addresses on it answer directly: every port is probed there, published or not.
       */
      direct?: (networkId: string) => boolean
    }
  | {via: 'network'; networks: ReadonlySet<string>}

export interface DeriveContext {
  reach: Reach
  /** Network probes' timeout. */
  timeoutMs: number
  /** Upper bound for exec probes (the healthcheck's own timeout applies when shorter). */
  execTimeoutMs: number
}

export type ProbeSource = 'config' | 'image' | 'healthcheck' | 'port'

export type DerivedProbe = {spec: ProbeSpec; source: ProbeSource} | {spec: undefined; source: ProbeSource | 'none'; reason: string}

/** The repository's last path component: `tta-standin/redis:local` and `redis:7.2.4-alpine` are both `redis`. */
export function imageBase(ref: string): string {
  return splitImageRef(ref).base.toLowerCase()
}

const LOCAL_URL = /\bhttp:\/\/(?:127\.0\.0\.1|localhost|0\.0\.0\.0|\[::1\])(?::(\d+))?(\/[^\s'"\\)|;&]*)?/

/** The local HTTP URL a healthcheck fetches (wget/curl/urllib), as container port and path. */
export function healthcheckUrl(test: string[] | undefined): {port: number; path: string} | undefined {
  if (!test || test[0] === 'NONE') return undefined
  const match = LOCAL_URL.exec(test.slice(test[0] === 'CMD' || test[0] === 'CMD-SHELL' ? 1 : 0).join(' '))
  if (!match) return undefined
  return {port: match[1] ? Number(match[1]) : 80, path: match[2] || '/'}
}

/** The healthcheck as one line of text (without CMD / CMD-SHELL), for recognising what it does. */
function healthcheckText(test: string[] | undefined): string | undefined {
  if (!test || test.length === 0 || test[0] === 'NONE') return undefined
  return test.slice(test[0] === 'CMD' || test[0] === 'CMD-SHELL' ? 1 : 0).join(' ')
}

const LOCAL_HOST = /^(127\.0\.0\.1|localhost|0\.0\.0\.0|::1|\[::1\])$/
/** `-x value` or `-xvalue` / `--long=value` / `--long value` of a command line, first match. */
function option(text: string, short: string, long?: string): string | undefined {
  const names = [`-${short}`, ...(long ? [`--${long}`] : [])].map((n) => n.replace(/-/g, '\\-')).join('|')
  const match = new RegExp(`(?:^|\\s)(?:${names})(?:=|\\s+)?("[^"]*"|'[^']*'|[^\\s;|&]+)`).exec(text)
  return match?.[1]?.replace(/^["']|["']$/g, '')
}

/** `$VAR` / `${VAR}` / `$$VAR` (compose-escaped) in a healthcheck argument, resolved from the container's environment. */
function expand(value: string | undefined, env: Record<string, string>): string | undefined {
  if (value === undefined) return undefined
  const match = /^\$\$?\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(value)
  return match ? env[match[1] as string] : value
}

/**
 * What a healthcheck checks, when it is recognisably one of the checks tta can make from outside
 * the container at no cost to it: an HTTP GET of a local URL (wget, curl, python urllib), a
 * redis-cli PING, pg_isready, or a TCP connect (nc -z, bash /dev/tcp). Undefined otherwise.
 */
export type HealthcheckCheck =
  | {type: 'http'; port: number; path: string}
  | {type: 'redis'; port: number}
  | {type: 'postgres'; port: number; user?: string; database?: string}
  | {type: 'tcp'; port: number}

export function recogniseHealthcheck(test: string[] | undefined, env: Record<string, string> = {}): HealthcheckCheck | undefined {
  const text = healthcheckText(test)
  if (!text) return undefined
  // A compound check (a && b, a; b) does more than one thing: only its first part would be known.
  const url = healthcheckUrl(test)
  if (url) return {type: 'http', ...url}
  const host = (h: string | undefined): boolean => h === undefined || LOCAL_HOST.test(h)
  if (/\bredis-cli\b/.test(text) && /\bping\b/i.test(text)) {
    if (!host(option(text, 'h'))) return undefined
    return {type: 'redis', port: Number(option(text, 'p') ?? 6379)}
  }
  if (/\bpg_isready\b/.test(text)) {
    if (!host(expand(option(text, 'h', 'host'), env))) return undefined
    return {type: 'postgres', port: Number(expand(option(text, 'p', 'port'), env) ?? 5432), user: expand(option(text, 'U', 'username'), env), database: expand(option(text, 'd', 'dbname'), env)}
  }
  const nc = ncTarget(text)
  if (nc && host(nc.host)) return {type: 'tcp', port: nc.port}
  const devTcp = /\/dev\/tcp\/([^/\s]+)\/(\d+)\b/.exec(text)
  if (devTcp && host(devTcp[1])) return {type: 'tcp', port: Number(devTcp[2])}
  return undefined
}

/** `nc [options] -z host port` (options may take a value: -w 1): the host and port it connects to. */
function ncTarget(text: string): {host: string; port: number} | undefined {
  const segment = /\bnc\s+([^;|&]*)/.exec(text)?.[1]
  if (!segment) return undefined
  const words = segment.trim().split(/\s+/)
  const positional: string[] = []
  let scan = false
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string
    if (word.startsWith('-')) {
      if (word.includes('z')) scan = true
      // Options of the common nc flavours that take a value.
      if (/^-[wiqpsWIOXx]$/.test(word)) i++
    } else positional.push(word)
  }
  const [address, port] = positional
  return scan && address && port && /^\d+$/.test(port) ? {host: address, port: Number(port)} : undefined
}

/**
 * The host-side probe equivalent to the service's healthcheck, at the address tta reaches its port
 * (reach.ts decides): cheap for the service, run as often as readiness likes. Undefined when the
 * healthcheck is not recognised or its port cannot be reached from here.
 */
export function healthcheckProbe(facts: ServiceFacts, reach: Reach, timeoutMs: number): ProbeSpec | undefined {
  const check = recogniseHealthcheck(facts.healthcheck?.test, facts.environment)
  if (!check || !Number.isInteger(check.port) || check.port <= 0) return undefined
  const address = addressOf(facts, check.port, reach)
  if (!address) return undefined
  switch (check.type) {
    case 'http':
      return {type: 'http', host: address.host, port: address.port, path: check.path, timeoutMs}
    case 'redis':
      return {type: 'redis', host: address.host, port: address.port, password: redisPassword(facts), timeoutMs}
    case 'postgres': {
      const user = check.user || facts.environment.POSTGRES_USER || 'postgres'
      return {type: 'postgres', host: address.host, port: address.port, user, database: check.database || facts.environment.POSTGRES_DB || user, timeoutMs}
    }
    case 'tcp':
      return {type: 'tcp', host: address.host, port: address.port, timeoutMs, direct: address.direct}
  }
}

/**
 * Where tta reaches a container port of the service, or undefined when it cannot. When the
 * container's network is local (reach.direct), its own address first: no userland proxy in
 * between, which costs a process hop per connection and accepts every connection on a published
 * port whether or not the service listens. Else its published host port.
 */
export function addressOf(facts: ServiceFacts, target: number, reach: Reach): {host: string; port: number; direct?: true} | undefined {
  if (reach.via === 'published') {
    const own = reach.direct ? containerAddress(facts, target, reach) : undefined
    if (own) return {...own, direct: true}
    const port = facts.ports.find((p) => p.target === target && p.published !== undefined && p.protocol === 'tcp')
    const host = port?.published ? reach.hostFor(port.hostIp) : undefined
    if (port?.published && host) return {host, port: port.published}
  }
  return containerAddress(facts, target, reach)
}

/** The container's own address for a port, when tta can route to it (a shared or local network). */
function containerAddress(facts: ServiceFacts, target: number, reach: Reach): {host: string; port: number} | undefined {
  const network =
    reach.via === 'published'
      ? reach.direct && (facts.networks ?? []).find((n) => n.ip && n.id && reach.direct?.(n.id))
      : (facts.networks ?? []).find((n) => n.ip && reach.networks.has(n.name))
  return network ? {host: network.ip, port: target} : undefined
}

/** The container port a plain TCP probe tries: the first one tta can reach. */
function firstPort(facts: ServiceFacts, reach: Reach): number | undefined {
  return facts.ports.find((p) => p.protocol === 'tcp' && addressOf(facts, p.target, reach))?.target
}

function unreachable(facts: ServiceFacts, port: number, reach: Reach): string {
  return reach.via === 'published'
    ? `probes.${facts.service}: container port ${port} is not published on the host; publish it, or use type: exec`
    : `probes.${facts.service}: tta's container shares no network with ${facts.service}; run \`tta dev\` here (it joins the project's network), or use type: exec`
}

const KNOWN = {redis: 6379, postgres: 5432} as const

/**
 * The probe for a service: the `probes:` entry of tta.config.yaml when there is one; else by its
 * image (redis → PING, postgres → startup, neo4j → discovery + bolt) on its port; else an HTTP
 * GET of the local URL its healthcheck fetches; else its healthcheck run inside the container;
 * else a TCP connect to its first port. Ports are reached as `ctx.reach` says.
 */
export function deriveProbe(facts: ServiceFacts, override: ProbeOverride | undefined, ctx: DeriveContext): DerivedProbe {
  const hcCommand = facts.healthcheck && facts.healthcheck.test[0] !== 'NONE' && facts.healthcheck.test.length > 0 ? healthcheckCommand(facts.healthcheck.test) : undefined
  const execTimeout = Math.min(ctx.execTimeoutMs, facts.healthcheck?.timeoutMs || ctx.execTimeoutMs)
  const kind = facts.images.map(imageBase).find((base) => base === 'redis' || base === 'postgres' || base === 'neo4j')
  const at = (target: number) => addressOf(facts, target, ctx.reach)

  if (override) return fromOverride(facts, override, ctx, hcCommand, execTimeout)

  if (kind === 'redis' || kind === 'postgres') {
    const address = at(KNOWN[kind])
    if (address) {
      const base = {host: address.host, port: address.port, timeoutMs: ctx.timeoutMs}
      if (kind === 'redis') return {spec: {type: 'redis', ...base, password: redisPassword(facts)}, source: 'image'}
      const user = facts.environment.POSTGRES_USER || 'postgres'
      return {spec: {type: 'postgres', ...base, user, database: facts.environment.POSTGRES_DB || user}, source: 'image'}
    }
  }
  if (kind === 'neo4j') {
    const http = at(7474)
    const bolt = at(7687)
    const host = (http ?? bolt)?.host
    if (host) return {spec: {type: 'neo4j', host, httpPort: http?.port, boltPort: bolt?.port, timeoutMs: ctx.timeoutMs}, source: 'image'}
  }
  const url = healthcheckUrl(facts.healthcheck?.test)
  const urlAddress = url ? at(url.port) : undefined
  if (url && urlAddress) return {spec: {type: 'http', host: urlAddress.host, port: urlAddress.port, path: url.path, timeoutMs: ctx.timeoutMs}, source: 'healthcheck'}
  if (hcCommand) return {spec: {type: 'exec', command: hcCommand, timeoutMs: execTimeout}, source: 'healthcheck'}
  const first = firstPort(facts, ctx.reach)
  const firstAddress = first === undefined ? undefined : at(first)
  if (firstAddress) return {spec: {type: 'tcp', ...firstAddress, timeoutMs: ctx.timeoutMs}, source: 'port'}
  return {spec: undefined, source: 'none', reason: ctx.reach.via === 'published' ? 'no published port and no healthcheck: only the container state is known' : 'no reachable port and no healthcheck: only the container state is known'}
}

function fromOverride(facts: ServiceFacts, o: ProbeOverride, ctx: DeriveContext, hcCommand: string[] | undefined, execTimeout: number): DerivedProbe {
  const timeoutMs = o.timeoutMs ?? (o.type === 'exec' ? execTimeout : ctx.timeoutMs)
  const at = (target: number) => addressOf(facts, target, ctx.reach)
  const fail = (reason: string): DerivedProbe => ({spec: undefined, source: 'config', reason})
  // The entry's container port, else a default, else the first reachable port; then its address.
  const resolve = (port: number | undefined, fallback: number | undefined): {target: number; host: string; port: number; direct?: true} | DerivedProbe => {
    const target = port ?? fallback ?? firstPort(facts, ctx.reach)
    if (target === undefined) return fail(`probes.${facts.service}: the service has no TCP port tta can reach; set port:, or use type: exec`)
    const address = at(target)
    return address ? {target, ...address} : fail(unreachable(facts, target, ctx.reach))
  }
  const isAddress = (p: object): p is {target: number; host: string; port: number; direct?: true} => 'target' in p
  switch (o.type) {
    case 'none':
      return fail('probe disabled in tta.config.yaml')
    case 'exec': {
      const command = o.command ?? hcCommand
      if (!command) return fail(`probes.${facts.service}: type exec needs command: (the service has no healthcheck to run)`)
      return {spec: {type: 'exec', command, timeoutMs}, source: 'config'}
    }
    case 'http': {
      const url = healthcheckUrl(facts.healthcheck?.test)
      const address = resolve(o.port, url && at(url.port) ? url.port : undefined)
      if (!isAddress(address)) return address
      const path = o.path ?? (url && url.port === address.target ? url.path : '/')
      return {spec: {type: 'http', host: address.host, port: address.port, path, expect: o.expect as HttpExpectation[] | undefined, timeoutMs}, source: 'config'}
    }
    case 'tcp':
    case 'redis':
    case 'postgres': {
      // redis and postgres default to their well-known container port when tta can reach it.
      const fallback = o.type !== 'tcp' && at(KNOWN[o.type]) ? KNOWN[o.type] : undefined
      const address = resolve(o.port, fallback)
      if (!isAddress(address)) return address
      const base = {host: address.host, port: address.port, timeoutMs}
      if (o.type === 'tcp') return {spec: {type: 'tcp', ...base, direct: address.direct}, source: 'config'}
      if (o.type === 'redis') return {spec: {type: 'redis', ...base, password: o.password ?? redisPassword(facts)}, source: 'config'}
      const user = o.user ?? (facts.environment.POSTGRES_USER || 'postgres')
      return {spec: {type: 'postgres', ...base, user, database: o.database ?? (facts.environment.POSTGRES_DB || user)}, source: 'config'}
    }
    case 'neo4j': {
      const http = at(o.httpPort ?? 7474)
      const bolt = at(o.boltPort ?? 7687)
      if (o.httpPort !== undefined && !http) return fail(unreachable(facts, o.httpPort, ctx.reach))
      if (o.boltPort !== undefined && !bolt) return fail(unreachable(facts, o.boltPort, ctx.reach))
      const host = (http ?? bolt)?.host
      if (!host) return fail(`probes.${facts.service}: tta can reach neither 7474 nor 7687; set httpPort:/boltPort:`)
      return {spec: {type: 'neo4j', host, httpPort: http?.port, boltPort: bolt?.port, timeoutMs}, source: 'config'}
    }
    default:
      return fail(`probes.${facts.service}: unknown type`)
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
