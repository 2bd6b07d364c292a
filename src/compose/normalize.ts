/**
 * From the merged tree to the Project model, in the shapes and key order Compose prints, plus the
 * checks that need the whole project: profiles, depends_on targets and cycles, undeclared
 * networks/volumes/secrets/configs, image references, ports, durations, sizes, restart policies.
 */
import {existsSync, readFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {InputError} from '../errors.js'
import {parseDotenv} from './dotenv.js'
import {parseImageReference} from './image-ref.js'
import type {Lookup} from './interpolate.js'
import type {
  BuildConfig,
  DeployConfig,
  DependsOn,
  FileObjectConfig,
  Healthcheck,
  LoggingConfig,
  NetworkConfig,
  PortConfig,
  Project,
  ResourceSpec,
  Service,
  ServiceFileRef,
  ServiceNetwork,
  ServiceVolume,
  UpdateConfig,
  VolumeConfig,
} from './model.js'
import {childPath} from './schema.js'
import {parseDevelop} from './develop.js'
import {shellSplit} from './shell-split.js'
import {checkProtocol, checkPublished, ordered, parsePortSpec, parseVolumeSpec} from './short-syntax.js'
import {entryPath, type PMap, type PNode, type Pos, toPlain} from './tree.js'
import {normalizeDuration, parseBytes} from './units.js'
import {isValidProjectName} from './project-name.js'

export interface BuildContext {
  workingDir: string
  lookup: Lookup
  projectName: string | undefined
  profiles: string[]
  errors: InputError[]
  warnings: string[]
}


/** Compose's normalization of a project name taken from `name:` or a directory. */
export function normalizeProjectName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[_-]+/, '')
}

class Ctx {
  constructor(
    readonly b: BuildContext,
    readonly servicePath: string,
  ) {}

  error(detail: string, node: {pos: Pos} | Pos, keyPath: string): void {
    const pos = 'pos' in node ? node.pos : node
    this.b.errors.push(new InputError(detail, pos, keyPath))
  }
}

// ---------- small readers (the schema has already checked kinds) ----------

function get(m: PMap | undefined, key: string): PNode | undefined {
  return m?.entries.get(key)?.value
}

function asMap(n: PNode | undefined): PMap | undefined {
  return n?.kind === 'map' ? n : undefined
}

function str(n: PNode | undefined): string | undefined {
  if (n?.kind !== 'scalar' || n.value === null) return undefined
  return String(n.value)
}

function int(n: PNode | undefined): number | undefined {
  const s = str(n)
  return s === undefined ? undefined : Number.parseInt(s, 10)
}

function num(n: PNode | undefined): number | undefined {
  const s = str(n)
  return s === undefined ? undefined : Number(s)
}

function bool(n: PNode | undefined): boolean | undefined {
  if (n?.kind !== 'scalar' || n.value === null) return undefined
  if (typeof n.value === 'boolean') return n.value
  return String(n.value).toLowerCase() === 'true'
}

function strList(n: PNode | undefined): string[] | undefined {
  if (n?.kind !== 'seq') return undefined
  return n.items.map((i) => str(i) ?? '')
}

function strMap(n: PNode | undefined): Record<string, string> | undefined {
  const m = asMap(n)
  if (!m) return undefined
  const out: Record<string, string> = {}
  for (const k of [...m.entries.keys()].sort()) out[k] = str(get(m, k)) ?? ''
  return out
}

function nullableStrMap(n: PNode | undefined): Record<string, string | null> | undefined {
  const m = asMap(n)
  if (!m) return undefined
  const out: Record<string, string | null> = {}
  for (const k of [...m.entries.keys()].sort()) out[k] = str(get(m, k)) ?? null
  return out
}

function setIf<T extends object, K extends keyof T>(o: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) o[key] = value
}

function duration(n: PNode | undefined, keyPath: string, ctx: Ctx): string | undefined {
  const s = str(n)
  if (s === undefined || n === undefined) return undefined
  try {
    const d = normalizeDuration(s)
    // Go accepts negative durations; no Compose setting means anything by one.
    if (d.startsWith('-')) throw new Error(`invalid duration "${s}": must not be negative`)
    return d
  } catch (e) {
    ctx.error((e as Error).message, n, keyPath)
    return undefined
  }
}

function bytes(n: PNode | undefined, keyPath: string, ctx: Ctx): string | undefined {
  if (n?.kind !== 'scalar' || n.value === null) return undefined
  try {
    const v = parseBytes(typeof n.value === 'number' ? n.value : String(n.value))
    // Compose omits a zero size, as Go's omitempty does.
    return v === 0n ? undefined : v.toString()
  } catch (e) {
    ctx.error((e as Error).message, n, keyPath)
    return undefined
  }
}

function resolvePath(p: string, workingDir: string): string {
  if (p === '~' || p.startsWith('~/')) return path.join(os.homedir(), p.slice(1))
  return path.resolve(workingDir, p)
}

// ---------- service parts ----------

function command(n: PNode | undefined, keyPath: string, ctx: Ctx): string[] | null {
  if (n === undefined || (n.kind === 'scalar' && n.value === null)) return null
  if (n.kind === 'seq') return n.items.map((i) => str(i) ?? '')
  const s = str(n) ?? ''
  try {
    const {words, dropped} = shellSplit(s)
    if (dropped !== undefined) {
      ctx.b.warnings.push(
        InputError.format(
          `"${dropped}" is ignored: Compose does not run ${keyPath.split('.').pop()} through a shell; use ["sh", "-c", "..."]`,
          n.pos,
          keyPath,
        ),
      )
    }
    return words
  } catch (e) {
    ctx.error((e as Error).message, n, keyPath)
    return null
  }
}

function build(n: PNode | undefined, keyPath: string, ctx: Ctx): BuildConfig | undefined {
  const m = asMap(n)
  if (!m) return undefined
  const context = str(get(m, 'context')) ?? '.'
  // Remote contexts (git, http) stay as given; local ones become absolute.
  const remote = /^(https?:\/\/|git@|git:\/\/|github\.com\/)/.test(context)
  const out: BuildConfig = {context: remote ? context : resolvePath(context, ctx.b.workingDir)}
  const inline = str(get(m, 'dockerfile_inline'))
  const dockerfile = str(get(m, 'dockerfile'))
  if (inline !== undefined && dockerfile !== undefined) {
    ctx.error('dockerfile and dockerfile_inline cannot both be set', m, keyPath)
  }
  if (inline === undefined) out.dockerfile = dockerfile ?? 'Dockerfile'
  else out.dockerfile_inline = inline
  const args = nullableStrMap(get(m, 'args'))
  if (args) {
    for (const [k, v] of Object.entries(args)) if (v === null) args[k] = ctx.b.lookup(k) ?? null
    out.args = args
  }
  setIf(out, 'labels', strMap(get(m, 'labels')))
  setIf(out, 'cache_from', strList(get(m, 'cache_from')))
  setIf(out, 'no_cache', bool(get(m, 'no_cache')))
  setIf(out, 'pull', bool(get(m, 'pull')))
  setIf(out, 'network', str(get(m, 'network')))
  setIf(out, 'target', str(get(m, 'target')))
  return out
}

function environment(svc: PMap, keyPath: string, ctx: Ctx): Record<string, string | null> | undefined {
  const envFiles = get(svc, 'env_file')
  const explicit = asMap(get(svc, 'environment'))
  if (!envFiles && !explicit) return undefined
  const values: Record<string, string | null> = {}
  if (envFiles?.kind === 'seq') {
    envFiles.items.forEach((item, i) => {
      const itemPath = childPath(childPath(keyPath, 'env_file'), i)
      const m = asMap(item)
      const rel = m ? str(get(m, 'path')) : str(item)
      const required = m ? (bool(get(m, 'required')) ?? true) : true
      if (rel === undefined) {
        ctx.error('env_file entry needs a path', item, itemPath)
        return
      }
      const file = resolvePath(rel, ctx.b.workingDir)
      if (!existsSync(file)) {
        if (required) ctx.error(`env file ${file} not found`, item, itemPath)
        return
      }
      try {
        Object.assign(values, parseDotenv(readFileSync(file, 'utf8'), file, {lookup: ctx.b.lookup}))
      } catch (e) {
        if (e instanceof InputError) ctx.b.errors.push(e)
        else if (e instanceof Error && 'errors' in e) ctx.b.errors.push(...(e as {errors: InputError[]}).errors)
        else ctx.error(`cannot read env file ${file}: ${(e as Error).message}`, item, itemPath)
      }
    })
  }
  if (explicit) {
    for (const e of explicit.entries.values()) {
      const v = e.value
      values[e.key] = str(v) ?? null
    }
  }
  const out: Record<string, string | null> = {}
  for (const k of Object.keys(values).sort()) {
    const v = values[k] ?? null
    // A name without a value takes it from the environment (Compose does the same).
    out[k] = v === null ? (ctx.b.lookup(k) ?? null) : v
  }
  return out
}

function ports(n: PNode | undefined, keyPath: string, ctx: Ctx): PortConfig[] | undefined {
  if (n?.kind !== 'seq') return undefined
  const out: PortConfig[] = []
  const index = new Map<string, number>()
  const add = (p: PortConfig): void => {
    // Entries with the same host ip, published port, target and protocol are one port; the
    // later one wins, in the earlier one's place (Compose's overlay rule).
    const key = `${p.host_ip ?? ''}|${p.published ?? ''}|${p.target}|${p.protocol}`
    const at = index.get(key)
    if (at === undefined) {
      index.set(key, out.length)
      out.push(p)
    } else out[at] = p
  }
  n.items.forEach((item, i) => {
    const itemPath = childPath(keyPath, i)
    if (item.kind === 'map') {
      const target = int(get(item, 'target'))
      if (target === undefined) {
        ctx.error('a port needs a target', item, itemPath)
        return
      }
      if (target < 1 || target > 65535) {
        ctx.error(`target port ${target} is out of range (1-65535)`, get(item, 'target') ?? item, childPath(itemPath, 'target'))
        return
      }
      const p: PortConfig = {mode: 'ingress', target, protocol: 'tcp'}
      const mode = str(get(item, 'mode'))
      if (mode !== undefined) {
        if (mode !== 'host' && mode !== 'ingress') {
          ctx.error(`invalid port mode "${mode}" (expected host or ingress)`, get(item, 'mode') ?? item, childPath(itemPath, 'mode'))
        } else p.mode = mode
      }
      const published = str(get(item, 'published'))
      try {
        if (published !== undefined && published !== '') p.published = checkPublished(published)
      } catch (e) {
        ctx.error((e as Error).message, get(item, 'published') ?? item, childPath(itemPath, 'published'))
      }
      try {
        const proto = str(get(item, 'protocol'))
        if (proto !== undefined) p.protocol = checkProtocol(proto)
      } catch (e) {
        ctx.error((e as Error).message, get(item, 'protocol') ?? item, childPath(itemPath, 'protocol'))
      }
      setIf(p, 'host_ip', str(get(item, 'host_ip')))
      setIf(p, 'name', str(get(item, 'name')))
      setIf(p, 'app_protocol', str(get(item, 'app_protocol')))
      add(ordered(p))
      return
    }
    const spec = str(item) ?? ''
    try {
      for (const p of parsePortSpec(spec)) add(p)
    } catch (e) {
      ctx.error((e as Error).message, item, itemPath)
    }
  })
  return out
}

function volumes(n: PNode | undefined, keyPath: string, ctx: Ctx, usedVolumes: UsedRef[]): ServiceVolume[] | undefined {
  if (n?.kind !== 'seq') return undefined
  const out: ServiceVolume[] = []
  const refs: UsedRef[] = []
  const index = new Map<string, number>()
  n.items.forEach((item, i) => {
    const itemPath = childPath(keyPath, i)
    let v: ServiceVolume | undefined
    if (item.kind === 'map') v = longVolume(item, itemPath, ctx)
    else {
      try {
        const p = parseVolumeSpec(str(item) ?? '')
        v =
          p.source === undefined
            ? {type: p.type, target: p.target}
            : {type: p.type, source: p.type === 'bind' ? resolvePath(p.source, ctx.b.workingDir) : p.source, target: p.target}
        if (p.readOnly) v.read_only = true
        if (p.type === 'bind') {
          const bind: NonNullable<ServiceVolume['bind']> = {}
          setIf(bind, 'selinux', p.selinux)
          setIf(bind, 'propagation', p.propagation)
          bind.create_host_path = true
          v.bind = bind
        } else {
          v.volume = p.nocopy ? {nocopy: true} : {}
        }
      } catch (e) {
        ctx.error((e as Error).message, item, itemPath)
      }
    }
    if (!v) return
    // One mount per target: a later entry (e.g. from an overlay) replaces an earlier one.
    const at = index.get(v.target)
    if (at === undefined) {
      index.set(v.target, out.length)
      out.push(v)
      refs.push({name: v.source ?? '', pos: item.pos, keyPath: itemPath})
    } else {
      out[at] = v
      refs[at] = {name: v.source ?? '', pos: item.pos, keyPath: itemPath}
    }
  })
  out.forEach((v, i) => {
    const ref = refs[i]
    if (v.type === 'volume' && v.source && ref) usedVolumes.push(ref)
  })
  return out
}

const VOLUME_TYPES = new Set(['volume', 'bind', 'tmpfs', 'npipe'])

function longVolume(m: PMap, keyPath: string, ctx: Ctx): ServiceVolume | undefined {
  const type = str(get(m, 'type')) ?? 'volume'
  if (!VOLUME_TYPES.has(type)) {
    ctx.error(`invalid volume type "${type}" (expected volume, bind, tmpfs or npipe)`, get(m, 'type') ?? m, childPath(keyPath, 'type'))
    return undefined
  }
  const target = str(get(m, 'target'))
  if (!target) {
    ctx.error('a volume needs a target', m, keyPath)
    return undefined
  }
  const v: ServiceVolume = {type: type as ServiceVolume['type'], target}
  let source = str(get(m, 'source'))
  if (type === 'bind') {
    if (!source) {
      ctx.error('a bind mount needs a source', m, keyPath)
      return undefined
    }
    source = resolvePath(source, ctx.b.workingDir)
  }
  if (source !== undefined && source !== '') v.source = source
  const ordered: ServiceVolume = v.source === undefined ? {type: v.type, target} : {type: v.type, source: v.source, target}
  if (bool(get(m, 'read_only'))) ordered.read_only = true
  setIf(ordered, 'consistency', str(get(m, 'consistency')))
  const bindNode = asMap(get(m, 'bind'))
  if (bindNode) {
    const bind: NonNullable<ServiceVolume['bind']> = {}
    const selinux = str(get(bindNode, 'selinux'))
    if (selinux !== undefined) {
      if (selinux !== 'z' && selinux !== 'Z') ctx.error(`invalid selinux option "${selinux}" (expected z or Z)`, get(bindNode, 'selinux') ?? bindNode, childPath(keyPath, 'bind.selinux'))
      else bind.selinux = selinux
    }
    setIf(bind, 'propagation', str(get(bindNode, 'propagation')))
    // Compose prints only `true` (false is Go's omitted zero value).
    if (bool(get(bindNode, 'create_host_path'))) bind.create_host_path = true
    ordered.bind = bind
  }
  const volNode = asMap(get(m, 'volume'))
  if (volNode) {
    const vol: NonNullable<ServiceVolume['volume']> = {}
    if (bool(get(volNode, 'nocopy'))) vol.nocopy = true
    setIf(vol, 'subpath', str(get(volNode, 'subpath')))
    ordered.volume = vol
  }
  const tmpfsNode = asMap(get(m, 'tmpfs'))
  if (tmpfsNode) {
    const t: NonNullable<ServiceVolume['tmpfs']> = {}
    const size = bytes(get(tmpfsNode, 'size'), childPath(keyPath, 'tmpfs.size'), ctx)
    if (size !== undefined) t.size = String(size)
    const mode = get(tmpfsNode, 'mode')
    if (mode?.kind === 'scalar' && mode.value !== null) {
      t.mode = typeof mode.value === 'number' ? mode.value : Number.parseInt(String(mode.value), 8)
    }
    ordered.tmpfs = t
  }
  return ordered
}

const CONDITIONS = new Set(['service_started', 'service_healthy', 'service_completed_successfully'])

function dependsOn(n: PNode | undefined, keyPath: string, ctx: Ctx): Record<string, DependsOn> | undefined {
  const m = asMap(n)
  if (!m) return undefined
  const out: Record<string, DependsOn> = {}
  for (const k of [...m.entries.keys()].sort()) {
    const entry = asMap(get(m, k))
    const condNode = get(entry, 'condition')
    const condition = str(condNode) ?? 'service_started'
    if (!CONDITIONS.has(condition)) {
      ctx.error(
        `invalid condition "${condition}" (expected service_started, service_healthy or service_completed_successfully)`,
        condNode ?? m,
        childPath(childPath(keyPath, k), 'condition'),
      )
      continue
    }
    const d: DependsOn = {condition: condition as DependsOn['condition'], required: true}
    const restart = bool(get(entry, 'restart'))
    if (restart !== undefined) d.restart = restart
    d.required = bool(get(entry, 'required')) ?? true
    out[k] = d
  }
  return out
}

function healthcheck(n: PNode | undefined, keyPath: string, ctx: Ctx): Healthcheck | undefined {
  const m = asMap(n)
  if (!m) return undefined
  const out: Healthcheck = {}
  const test = get(m, 'test')
  if (test?.kind === 'scalar' && test.value !== null) out.test = ['CMD-SHELL', String(test.value)]
  else if (test?.kind === 'seq') {
    const t = strList(test) ?? []
    if (t.length > 0 && !['NONE', 'CMD', 'CMD-SHELL'].includes(t[0] as string)) {
      ctx.error(`a healthcheck test list must start with "CMD", "CMD-SHELL" or "NONE", not "${t[0]}"`, test, childPath(keyPath, 'test'))
    }
    if (t.length === 0 || (t.length === 1 && t[0] !== 'NONE')) {
      ctx.error('the healthcheck test is empty (give a command, or use disable: true)', test, childPath(keyPath, 'test'))
    }
    out.test = t
  }
  setIf(out, 'timeout', duration(get(m, 'timeout'), childPath(keyPath, 'timeout'), ctx))
  setIf(out, 'interval', duration(get(m, 'interval'), childPath(keyPath, 'interval'), ctx))
  const retries = int(get(m, 'retries'))
  if (retries !== undefined && retries < 0) {
    ctx.error(`retries must not be negative (got ${retries})`, get(m, 'retries') ?? m, childPath(keyPath, 'retries'))
  } else setIf(out, 'retries', retries)
  setIf(out, 'start_period', duration(get(m, 'start_period'), childPath(keyPath, 'start_period'), ctx))
  setIf(out, 'start_interval', duration(get(m, 'start_interval'), childPath(keyPath, 'start_interval'), ctx))
  if (bool(get(m, 'disable'))) out.disable = true
  return out
}

function resources(n: PNode | undefined, keyPath: string, ctx: Ctx): ResourceSpec | undefined {
  const m = asMap(n)
  if (!m) return undefined
  const out: ResourceSpec = {}
  const cpus = num(get(m, 'cpus'))
  if (cpus !== undefined) {
    if (Number.isNaN(cpus) || cpus < 0) ctx.error(`invalid cpus "${str(get(m, 'cpus'))}"`, get(m, 'cpus') ?? m, childPath(keyPath, 'cpus'))
    else if (cpus !== 0) out.cpus = cpus
  }
  setIf(out, 'memory', bytes(get(m, 'memory'), childPath(keyPath, 'memory'), ctx))
  const pids = int(get(m, 'pids'))
  if (pids) out.pids = pids
  return out
}

function updateConfig(n: PNode | undefined, keyPath: string, ctx: Ctx): UpdateConfig | undefined {
  const m = asMap(n)
  if (!m) return undefined
  const out: UpdateConfig = {}
  setIf(out, 'parallelism', int(get(m, 'parallelism')))
  setIf(out, 'delay', duration(get(m, 'delay'), childPath(keyPath, 'delay'), ctx))
  setIf(out, 'failure_action', str(get(m, 'failure_action')))
  setIf(out, 'monitor', duration(get(m, 'monitor'), childPath(keyPath, 'monitor'), ctx))
  setIf(out, 'max_failure_ratio', num(get(m, 'max_failure_ratio')))
  const order = str(get(m, 'order'))
  if (order !== undefined) {
    if (order !== 'start-first' && order !== 'stop-first') {
      ctx.error(`invalid order "${order}" (expected start-first or stop-first)`, get(m, 'order') ?? m, childPath(keyPath, 'order'))
    } else out.order = order
  }
  return out
}

function deploy(n: PNode | undefined, keyPath: string, ctx: Ctx): DeployConfig | undefined {
  const m = asMap(n)
  if (!m) return undefined
  const out: DeployConfig = {}
  const mode = str(get(m, 'mode'))
  if (mode !== undefined) {
    if (mode !== 'replicated' && mode !== 'global') {
      ctx.error(`invalid deploy mode "${mode}" (expected replicated or global)`, get(m, 'mode') ?? m, childPath(keyPath, 'mode'))
    } else out.mode = mode
  }
  setIf(out, 'replicas', int(get(m, 'replicas')))
  setIf(out, 'labels', strMap(get(m, 'labels')))
  setIf(out, 'update_config', updateConfig(get(m, 'update_config'), childPath(keyPath, 'update_config'), ctx))
  setIf(out, 'rollback_config', updateConfig(get(m, 'rollback_config'), childPath(keyPath, 'rollback_config'), ctx))
  const res = asMap(get(m, 'resources'))
  const resOut: NonNullable<DeployConfig['resources']> = {}
  setIf(resOut, 'limits', resources(get(res, 'limits'), childPath(keyPath, 'resources.limits'), ctx))
  setIf(resOut, 'reservations', resources(get(res, 'reservations'), childPath(keyPath, 'resources.reservations'), ctx))
  out.resources = resOut
  const rp = asMap(get(m, 'restart_policy'))
  if (rp) {
    const r: NonNullable<DeployConfig['restart_policy']> = {}
    const condition = str(get(rp, 'condition'))
    if (condition !== undefined && !['none', 'on-failure', 'any'].includes(condition)) {
      ctx.error(`invalid restart_policy condition "${condition}" (expected none, on-failure or any)`, get(rp, 'condition') ?? rp, childPath(keyPath, 'restart_policy.condition'))
    } else setIf(r, 'condition', condition)
    setIf(r, 'delay', duration(get(rp, 'delay'), childPath(keyPath, 'restart_policy.delay'), ctx))
    setIf(r, 'max_attempts', int(get(rp, 'max_attempts')))
    setIf(r, 'window', duration(get(rp, 'window'), childPath(keyPath, 'restart_policy.window'), ctx))
    out.restart_policy = r
  }
  const pl = asMap(get(m, 'placement'))
  const placement: NonNullable<DeployConfig['placement']> = {}
  setIf(placement, 'constraints', strList(get(pl, 'constraints')))
  const prefs = get(pl, 'preferences')
  if (prefs?.kind === 'seq') placement.preferences = prefs.items.map((p) => ({spread: str(get(asMap(p), 'spread')) ?? ''}))
  setIf(placement, 'max_replicas_per_node', int(get(pl, 'max_replicas_per_node')))
  out.placement = placement
  setIf(out, 'endpoint_mode', str(get(m, 'endpoint_mode')))
  return out
}

function logging(n: PNode | undefined): LoggingConfig | undefined {
  const m = asMap(n)
  if (!m) return undefined
  const out: LoggingConfig = {}
  setIf(out, 'driver', str(get(m, 'driver')))
  const opts = asMap(get(m, 'options'))
  if (opts) {
    const o: Record<string, string | null> = {}
    for (const k of [...opts.entries.keys()].sort()) o[k] = str(get(opts, k)) ?? null
    out.options = o
  }
  return out
}

function ulimits(n: PNode | undefined): Service['ulimits'] {
  const m = asMap(n)
  if (!m) return undefined
  const out: NonNullable<Service['ulimits']> = {}
  for (const k of [...m.entries.keys()].sort()) {
    const v = get(m, k)
    if (v?.kind === 'map') {
      const u: {soft?: number; hard?: number} = {}
      setIf(u, 'soft', int(get(v, 'soft')))
      setIf(u, 'hard', int(get(v, 'hard')))
      out[k] = u
    } else out[k] = int(v) ?? 0
  }
  return out
}

function extraHosts(n: PNode | undefined): string[] | undefined {
  if (n?.kind !== 'seq') return undefined
  // Compose keeps hosts as host -> [ips] and prints them sorted by host.
  const byHost = new Map<string, string[]>()
  for (const i of n.items) {
    const t = str(i) ?? ''
    const eq = t.indexOf('=')
    const host = eq >= 0 ? t.slice(0, eq) : t
    const ip = eq >= 0 ? t.slice(eq + 1) : ''
    const ips = byHost.get(host) ?? []
    if (!ips.includes(ip)) ips.push(ip)
    byHost.set(host, ips)
  }
  return [...byHost.keys()].sort().flatMap((h) => (byHost.get(h) ?? []).map((ip) => `${h}=${ip}`))
}

interface UsedRef {
  name: string
  pos: Pos
  keyPath: string
}

function fileRefs(n: PNode | undefined, keyPath: string, kind: 'secrets' | 'configs', used: UsedRef[], ctx: Ctx): ServiceFileRef[] | undefined {
  if (n?.kind !== 'seq') return undefined
  const out: ServiceFileRef[] = []
  const index = new Map<string, number>()
  n.items.forEach((item, i) => {
    const m = asMap(item)
    const source = str(get(m, 'source'))
    if (!m || !source) {
      ctx.error(`a ${kind.slice(0, -1)} reference needs a source`, item, childPath(keyPath, i))
      return
    }
    used.push({name: source, pos: item.pos, keyPath: childPath(keyPath, i)})
    const ref: ServiceFileRef = {source}
    const target = str(get(m, 'target'))
    if (target !== undefined) ref.target = target
    else if (kind === 'secrets') ref.target = `/run/secrets/${source}`
    setIf(ref, 'uid', str(get(m, 'uid')))
    setIf(ref, 'gid', str(get(m, 'gid')))
    const mode = get(m, 'mode')
    if (mode?.kind === 'scalar' && mode.value !== null) {
      ref.mode = typeof mode.value === 'number' ? mode.value : Number.parseInt(String(mode.value), 8)
    }
    const key = ref.target ?? `/${source}`
    const at = index.get(key)
    if (at === undefined) {
      index.set(key, out.length)
      out.push(ref)
    } else out[at] = ref
  })
  return out
}

const RESTART = /^(no|always|unless-stopped|on-failure(:\d+)?)$/
const PULL_POLICY = /^(always|never|missing|build|if_not_present|daily|weekly|every_.+)$/

interface ServiceRefs {
  volumes: UsedRef[]
  networks: UsedRef[]
  secrets: UsedRef[]
  configs: UsedRef[]
}

function service(name: string, m: PMap, ctx: Ctx, refs: ServiceRefs): Service {
  const p = ctx.servicePath
  const k = (key: string): string => childPath(p, key)
  const s: Partial<Service> & {name: string} = {name}
  setIf(s, 'profiles', strList(get(m, 'profiles')))
  setIf(s, 'build', build(get(m, 'build'), k('build'), ctx))
  setIf(s, 'cap_add', strList(get(m, 'cap_add')))
  setIf(s, 'cap_drop', strList(get(m, 'cap_drop')))
  const cpus = get(m, 'cpus')
  if (cpus) {
    const c = num(cpus)
    if (c === undefined || Number.isNaN(c) || c < 0) ctx.error(`invalid cpus "${str(cpus)}"`, cpus, k('cpus'))
    else if (c !== 0) s.cpus = c
  }
  s.command = command(get(m, 'command'), k('command'), ctx)
  setIf(s, 'configs', fileRefs(get(m, 'configs'), k('configs'), 'configs', refs.configs, ctx))
  setIf(s, 'container_name', str(get(m, 'container_name')))
  setIf(s, 'depends_on', dependsOn(get(m, 'depends_on'), k('depends_on'), ctx))
  setIf(s, 'deploy', deploy(get(m, 'deploy'), k('deploy'), ctx))
  setIf(s, 'develop', parseDevelop(get(m, 'develop'), k('develop'), ctx.b.workingDir, (d, n, kp) => ctx.error(d, n, kp)))
  setIf(s, 'dns', strList(get(m, 'dns')))
  setIf(s, 'domainname', str(get(m, 'domainname')))
  s.entrypoint = command(get(m, 'entrypoint'), k('entrypoint'), ctx)
  setIf(s, 'environment', environment(m, k('environment'), ctx))
  setIf(s, 'expose', strList(get(m, 'expose')))
  setIf(s, 'extra_hosts', extraHosts(get(m, 'extra_hosts')))
  setIf(s, 'hostname', str(get(m, 'hostname')))
  setIf(s, 'healthcheck', healthcheck(get(m, 'healthcheck'), k('healthcheck'), ctx))
  const imageNode = get(m, 'image')
  const image = str(imageNode)
  if (image !== undefined && imageNode) {
    try {
      parseImageReference(image)
    } catch (e) {
      ctx.error((e as Error).message, imageNode, k('image'))
    }
    s.image = image
  }
  if (image === undefined && !s.build) ctx.error(`service "${name}" has neither an image nor a build context`, m, p)
  setIf(s, 'init', bool(get(m, 'init')))
  setIf(s, 'ipc', str(get(m, 'ipc')))
  setIf(s, 'labels', strMap(get(m, 'labels')))
  setIf(s, 'logging', logging(get(m, 'logging')))
  setIf(s, 'mem_limit', bytes(get(m, 'mem_limit'), k('mem_limit'), ctx))
  const networkMode = str(get(m, 'network_mode'))
  setIf(s, 'network_mode', networkMode)
  const nets = asMap(get(m, 'networks'))
  if (nets && networkMode !== undefined) {
    ctx.error('network_mode and networks cannot be combined', get(m, 'network_mode') ?? m, k('network_mode'))
  }
  if (nets) {
    const out: Record<string, ServiceNetwork | null> = {}
    for (const key of [...nets.entries.keys()].sort()) {
      const e = nets.entries.get(key)
      if (!e) continue
      refs.networks.push({name: key, pos: e.keyPos, keyPath: entryPath(k('networks'), e)})
      const v = asMap(e.value)
      if (!v) {
        out[key] = null
        continue
      }
      const sn: ServiceNetwork = {}
      setIf(sn, 'aliases', strList(get(v, 'aliases')))
      setIf(sn, 'ipv4_address', str(get(v, 'ipv4_address')))
      setIf(sn, 'ipv6_address', str(get(v, 'ipv6_address')))
      setIf(sn, 'priority', int(get(v, 'priority')))
      out[key] = sn
    }
    s.networks = out
  } else if (networkMode === undefined) {
    s.networks = {default: null}
    refs.networks.push({name: 'default', pos: m.pos, keyPath: p})
  }
  setIf(s, 'pid', str(get(m, 'pid')))
  setIf(s, 'platform', str(get(m, 'platform')))
  setIf(s, 'ports', ports(get(m, 'ports'), k('ports'), ctx))
  if (bool(get(m, 'privileged'))) s.privileged = true
  const pull = str(get(m, 'pull_policy'))
  if (pull !== undefined) {
    if (!PULL_POLICY.test(pull)) ctx.error(`invalid pull_policy "${pull}" (expected always, never, missing, build, daily, weekly or every_<duration>)`, get(m, 'pull_policy') ?? m, k('pull_policy'))
    else s.pull_policy = pull
  }
  if (bool(get(m, 'read_only'))) s.read_only = true
  const restart = str(get(m, 'restart'))
  if (restart !== undefined) {
    if (!RESTART.test(restart)) {
      ctx.error(`invalid restart policy "${restart}" (expected no, always, on-failure[:N] or unless-stopped)`, get(m, 'restart') ?? m, k('restart'))
    } else s.restart = restart
  }
  setIf(s, 'scale', int(get(m, 'scale')))
  setIf(s, 'secrets', fileRefs(get(m, 'secrets'), k('secrets'), 'secrets', refs.secrets, ctx))
  setIf(s, 'security_opt', strList(get(m, 'security_opt')))
  setIf(s, 'shm_size', bytes(get(m, 'shm_size'), k('shm_size'), ctx))
  if (bool(get(m, 'stdin_open'))) s.stdin_open = true
  setIf(s, 'stop_grace_period', duration(get(m, 'stop_grace_period'), k('stop_grace_period'), ctx))
  setIf(s, 'stop_signal', str(get(m, 'stop_signal')))
  setIf(s, 'sysctls', strMap(get(m, 'sysctls')))
  setIf(s, 'tmpfs', strList(get(m, 'tmpfs')))
  if (bool(get(m, 'tty'))) s.tty = true
  setIf(s, 'ulimits', ulimits(get(m, 'ulimits')))
  setIf(s, 'user', str(get(m, 'user')))
  setIf(s, 'volumes', volumes(get(m, 'volumes'), k('volumes'), ctx, refs.volumes))
  setIf(s, 'working_dir', str(get(m, 'working_dir')))
  return s as Service
}

// ---------- top-level resources ----------

function network(key: string, m: PMap | undefined, project: string): NetworkConfig {
  const external = bool(get(m, 'external')) ?? false
  const out: NetworkConfig = {name: str(get(m, 'name')) ?? (external ? key : `${project}_${key}`)}
  setIf(out, 'driver', str(get(m, 'driver')))
  setIf(out, 'driver_opts', strMap(get(m, 'driver_opts')))
  {
    // Compose prints `ipam: {}` for every network, external ones included.
    const ipamNode = asMap(get(m, 'ipam'))
    const ipam: NonNullable<NetworkConfig['ipam']> = {}
    setIf(ipam, 'driver', str(get(ipamNode, 'driver')))
    const cfg = get(ipamNode, 'config')
    if (cfg?.kind === 'seq') {
      ipam.config = cfg.items.map((c) => {
        const o: {subnet?: string; gateway?: string; ip_range?: string} = {}
        const cm = asMap(c)
        setIf(o, 'subnet', str(get(cm, 'subnet')))
        setIf(o, 'gateway', str(get(cm, 'gateway')))
        setIf(o, 'ip_range', str(get(cm, 'ip_range')))
        return o
      })
    }
    out.ipam = ipam
  }
  if (external) out.external = true
  if (bool(get(m, 'internal'))) out.internal = true
  if (bool(get(m, 'attachable'))) out.attachable = true
  setIf(out, 'labels', strMap(get(m, 'labels')))
  if (bool(get(m, 'enable_ipv6'))) out.enable_ipv6 = true
  return out
}

function volume(key: string, m: PMap | undefined, project: string): VolumeConfig {
  const external = bool(get(m, 'external')) ?? false
  const out: VolumeConfig = {name: str(get(m, 'name')) ?? (external ? key : `${project}_${key}`)}
  setIf(out, 'driver', str(get(m, 'driver')))
  setIf(out, 'driver_opts', strMap(get(m, 'driver_opts')))
  if (external) out.external = true
  setIf(out, 'labels', strMap(get(m, 'labels')))
  return out
}

function fileObject(key: string, m: PMap | undefined, project: string, keyPath: string, ctx: Ctx, pos: Pos): FileObjectConfig {
  const external = bool(get(m, 'external')) ?? false
  const out: FileObjectConfig = {name: str(get(m, 'name')) ?? (external ? key : `${project}_${key}`)}
  const file = str(get(m, 'file'))
  if (file !== undefined) out.file = resolvePath(file, ctx.b.workingDir)
  setIf(out, 'environment', str(get(m, 'environment')))
  setIf(out, 'content', str(get(m, 'content')))
  if (external) out.external = true
  setIf(out, 'labels', strMap(get(m, 'labels')))
  const sources = [out.file, out.environment, out.content].filter((x) => x !== undefined).length
  if (!external && sources !== 1) ctx.error('needs exactly one of file, environment or content (or external: true)', pos, keyPath)
  return out
}

// ---------- the project ----------

export function buildProject(root: PMap, b: BuildContext): Project {
  const top = new Ctx(b, '')
  let name: string | undefined
  if (b.projectName !== undefined) {
    if (!isValidProjectName(b.projectName)) {
      b.errors.push(
        new InputError(
          `invalid project name "${b.projectName}": use lowercase letters, digits, "-" and "_", starting with a letter or digit`,
        ),
      )
    }
    name = b.projectName
  } else {
    const nameNode = get(root, 'name')
    const raw = str(nameNode) ?? path.basename(b.workingDir)
    name = normalizeProjectName(raw)
    if (name === '') {
      if (nameNode) top.error(`invalid project name "${raw}"`, nameNode, 'name')
      else b.errors.push(new InputError(`cannot derive a project name from "${b.workingDir}"; set name: or --project-name`))
    }
  }

  const servicesNode = asMap(get(root, 'services'))
  const all = new Map<string, PMap>()
  for (const e of servicesNode?.entries.values() ?? []) {
    if (e.value.kind === 'map') all.set(e.key, e.value)
    else all.set(e.key, {kind: 'map', pos: e.value.pos, entries: new Map()})
  }
  const enabled = new Set(b.profiles)
  const isActive = (m: PMap): boolean => {
    const profiles = strList(get(m, 'profiles'))
    if (!profiles || profiles.length === 0) return true
    return enabled.has('*') || profiles.some((p) => enabled.has(p))
  }

  const refs: ServiceRefs = {volumes: [], networks: [], secrets: [], configs: []}
  const services: Record<string, Service> = {}
  for (const key of [...all.keys()].sort()) {
    const m = all.get(key) as PMap
    if (!isActive(m)) continue
    services[key] = service(key, m, new Ctx(b, `services.${key}`), refs)
  }

  // depends_on targets must exist and be enabled.
  for (const [svcName, svc] of Object.entries(services)) {
    const depsNode = asMap(get(all.get(svcName), 'depends_on'))
    for (const dep of Object.keys(svc.depends_on ?? {})) {
      const entry = depsNode?.entries.get(dep)
      const pos = entry?.keyPos ?? (all.get(svcName) as PMap).pos
      const keyPath = entry ? entryPath(`services.${svcName}.depends_on`, entry) : `services.${svcName}.depends_on.${dep}`
      const target = all.get(dep)
      if (!target) top.error(`service "${svcName}" depends on undefined service "${dep}"`, pos, keyPath)
      else if (!services[dep]) {
        const profiles = strList(get(target, 'profiles')) ?? []
        top.error(
          `service "${svcName}" depends on service "${dep}", which is not enabled (profiles: ${profiles.join(', ')}); enable one with --profile`,
          pos,
          keyPath,
        )
      }
    }
  }
  reportCycles(services, all, top)

  const project = name ?? ''
  const declared = <T>(section: string, make: (key: string, m: PMap | undefined, pos: Pos) => T, used: UsedRef[], what: string): Record<string, T> => {
    const sec = asMap(get(root, section))
    const out: Record<string, T> = {}
    const names = new Set(used.map((u) => u.name))
    for (const u of used) {
      if (sec?.entries.has(u.name)) continue
      if (section === 'networks' && u.name === 'default') continue
      top.error(`undefined ${what} "${u.name}" (declare it under the top-level ${section}: key)`, u.pos, u.keyPath)
    }
    const keys = new Set([...(sec?.entries.keys() ?? [])])
    if (section === 'networks' && names.has('default')) keys.add('default')
    // Like `docker compose config`, only resources some enabled service uses are kept.
    for (const key of [...keys].sort()) {
      if (!names.has(key)) continue
      const e = sec?.entries.get(key)
      out[key] = make(key, asMap(e?.value), e?.value.pos ?? root.pos)
    }
    return out
  }
  const networks = declared('networks', (k, m) => network(k, m, project), refs.networks, 'network')
  const volumesOut = declared('volumes', (k, m) => volume(k, m, project), refs.volumes, 'volume')
  const secrets = declared('secrets', (k, m, pos) => fileObject(k, m, project, `secrets.${k}`, top, pos), refs.secrets, 'secret')
  const configs = declared('configs', (k, m, pos) => fileObject(k, m, project, `configs.${k}`, top, pos), refs.configs, 'config')

  // Key order as Compose prints the project (alphabetical).
  const out: Partial<Project> = {}
  if (Object.keys(configs).length > 0) out.configs = configs
  out.name = project
  out.networks = networks
  if (Object.keys(secrets).length > 0) out.secrets = secrets
  out.services = services
  out.volumes = volumesOut
  // Top-level extensions are part of what Compose prints (service-level ones are not).
  const extensions: Record<string, unknown> = {}
  for (const key of [...root.entries.keys()].sort()) {
    const e = root.entries.get(key)
    if (e && key.startsWith('x-')) extensions[key] = toPlain(e.value)
  }
  if (Object.keys(extensions).length > 0) out.extensions = extensions
  return out as Project
}

function reportCycles(services: Record<string, Service>, all: Map<string, PMap>, ctx: Ctx): void {
  const state = new Map<string, 'visiting' | 'done'>()
  const stack: string[] = []
  const reported = new Set<string>()
  const visit = (n: string): void => {
    state.set(n, 'visiting')
    stack.push(n)
    for (const dep of Object.keys(services[n]?.depends_on ?? {}).sort()) {
      if (!services[dep]) continue
      const st = state.get(dep)
      if (st === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(dep)), dep]
        const id = [...cycle.slice(0, -1)].sort().join(',')
        if (reported.has(id)) continue
        reported.add(id)
        const entry = asMap(get(all.get(n), 'depends_on'))?.entries.get(dep)
        const keyPath = entry ? entryPath(`services.${n}.depends_on`, entry) : `services.${n}.depends_on.${dep}`
        ctx.error(`dependency cycle detected: ${cycle.join(' -> ')}`, entry?.keyPos ?? (all.get(n) as PMap).pos, keyPath)
      } else if (st === undefined) visit(dep)
    }
    stack.pop()
    state.set(n, 'done')
  }
  for (const n of Object.keys(services).sort()) if (!state.has(n)) visit(n)
}

