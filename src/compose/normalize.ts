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
  BlkioConfig,
  BuildConfig,
  DeployConfig,
  DevelopConfig,
  DeviceMapping,
  DeviceRequest,
  DependsOn,
  FileObjectConfig,
  Healthcheck,
  IpamPool,
  LoggingConfig,
  NetworkConfig,
  PortConfig,
  Project,
  ResourceSpec,
  Service,
  ServiceFileRef,
  ServiceNetwork,
  ServiceVolume,
  ThrottleDevice,
  UpdateConfig,
  VolumeConfig,
  WatchAction,
  WatchExec,
  WatchRule,
} from './model.js'
import {childPath} from './schema.js'
import {shellSplit} from './shell-split.js'
import {checkProtocol, checkPublished, ordered, parsePortSpec, parseVolumeSpec} from './short-syntax.js'
import {entryPath, type MapEntry, type PMap, type PNode, type Pos, scalarString, toPlain} from './tree.js'
import {normalizeDuration, parseBytes} from './units.js'
import {isValidProjectName} from './project-name.js'
import {isContextReference} from './relative-paths.js'

export interface BuildContext {
  workingDir: string
  lookup: Lookup
  projectName: string | undefined
  profiles: string[]
  errors: InputError[]
  warnings: string[]
  /** Filled with where run-time-sensitive settings were written (LoadedProject.sources). */
  sources?: Record<string, string>
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
  return scalarString(n)
}

function int(n: PNode | undefined): number | undefined {
  // A float written as an integer (1e6) is a JS number here; its Go text ("1e+06") is not.
  if (n?.kind === 'scalar' && typeof n.value === 'number') return Math.trunc(n.value)
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
  // Compose keeps an absolute path exactly as written (a trailing slash included), a Windows one too.
  if (path.isAbsolute(p) || /^[a-zA-Z]:[\\/]/.test(p)) return p
  return path.resolve(workingDir, p)
}

/** Go's path.Clean, which Compose applies to a volume's target: no trailing slash, no `.` parts. */
function cleanTarget(target: string): string {
  if (target === '') return target
  const c = path.posix.normalize(target)
  return c.length > 1 && c.endsWith('/') ? c.slice(0, -1) : c
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

function build(n: PNode | undefined, keyPath: string, ctx: Ctx, refs: ServiceRefs): BuildConfig | undefined {
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
  // An empty dockerfile (`${UNSET}`) means the default, which Compose then leaves out.
  if (inline === undefined) {
    if (dockerfile !== '') out.dockerfile = dockerfile ?? 'Dockerfile'
  }
  else out.dockerfile_inline = inline
  const args = nullableStrMap(get(m, 'args'))
  if (args) {
    // A bare name takes its value from the environment; Compose drops it when that is unset too.
    for (const [k, v] of Object.entries(args)) {
      if (v !== null) continue
      const fromEnv = ctx.b.lookup(k)
      if (fromEnv === undefined) delete args[k]
      else args[k] = fromEnv
    }
    out.args = args
  }
  setIf(out, 'labels', strMap(get(m, 'labels')))
  setIf(out, 'cache_from', strList(get(m, 'cache_from')))
  setIf(out, 'no_cache', bool(get(m, 'no_cache')))
  setIf(out, 'pull', bool(get(m, 'pull')))
  setIf(out, 'network', str(get(m, 'network')))
  setIf(out, 'target', str(get(m, 'target')))
  setIf(out, 'platforms', strList(get(m, 'platforms')))
  const ssh = asMap(get(m, 'ssh'))
  if (ssh) {
    out.ssh = [...ssh.entries.values()].map((e) => {
      const p = str(e.value)
      return p === undefined || p === '' ? {id: e.key} : {id: e.key, path: p}
    })
  }
  setIf(out, 'tags', strList(get(m, 'tags')))
  setIf(out, 'shm_size', bytes(get(m, 'shm_size'), childPath(keyPath, 'shm_size'), ctx))
  setIf(out, 'ulimits', ulimits(get(m, 'ulimits'), childPath(keyPath, 'ulimits'), ctx))
  const contexts = strMap(get(m, 'additional_contexts'))
  if (contexts) {
    // A local path is made absolute as the context is; `name=service:x`, URLs and images stay.
    for (const [name, value] of Object.entries(contexts)) {
      if (!isContextReference(value)) contexts[name] = resolvePath(value, ctx.b.workingDir)
    }
    out.additional_contexts = contexts
  }
  if (bool(get(m, 'privileged'))) out.privileged = true
  setIf(out, 'entitlements', strList(get(m, 'entitlements')))
  setIf(out, 'secrets', fileRefs(get(m, 'secrets'), childPath(keyPath, 'secrets'), 'build-secrets', refs.secrets, ctx))
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
        p.target = cleanTarget(p.target)
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
  const written = str(get(m, 'target'))
  const target = written === undefined ? undefined : cleanTarget(written)
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
    if (condNode === undefined) {
      // Compose checks this after the merge: an overlay may add `required: false` alone.
      ctx.error('condition is required (service_started, service_healthy or service_completed_successfully)', m.entries.get(k)?.keyPos ?? m.pos, entryPath(keyPath, m.entries.get(k) as MapEntry))
      continue
    }
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
  setIf(out, 'devices', deviceRequests(get(m, 'devices'), childPath(keyPath, 'devices'), ctx, true))
  return out
}

/**
 * Device requests (deploy.resources.reservations.devices, gpus): `count: all` is -1, and so is a
 * request with neither count nor device_ids, as Compose defaults it; the two are exclusive.
 */
function deviceRequests(n: PNode | undefined, keyPath: string, ctx: Ctx, needsCapabilities: boolean): DeviceRequest[] | undefined {
  if (n?.kind !== 'seq') return undefined
  const out: DeviceRequest[] = []
  n.items.forEach((item, i) => {
    const m = asMap(item)
    if (!m) return
    const itemPath = childPath(keyPath, i)
    // Compose's schema requires them in deploy reservations (not in gpus, which imply "gpu").
    if (needsCapabilities && !m.entries.has('capabilities')) {
      ctx.error('capabilities is required (e.g. [gpu])', m, itemPath)
      return
    }
    const countNode = get(m, 'count')
    const ids = strList(get(m, 'device_ids'))
    if (countNode && ids) {
      ctx.error('"count" and "device_ids" are exclusive', countNode, childPath(itemPath, 'count'))
      return
    }
    const r: DeviceRequest = {}
    setIf(r, 'capabilities', strList(get(m, 'capabilities')))
    setIf(r, 'driver', str(get(m, 'driver')))
    if (!ids) {
      const text = str(countNode) ?? 'all'
      if (text.toLowerCase() === 'all') r.count = -1
      else if (/^-?\d+$/.test(text)) r.count = Number.parseInt(text, 10)
      else ctx.error(`invalid count "${text}" (a number, or all)`, countNode ?? m, childPath(itemPath, 'count'))
      // Go omits a zero count.
      if (r.count === 0) delete r.count
    }
    setIf(r, 'device_ids', ids)
    setIf(r, 'options', strMap(get(m, 'options')))
    out.push(r)
  })
  return out
}

function blkioConfig(n: PNode | undefined, keyPath: string, ctx: Ctx): BlkioConfig | undefined {
  const m = asMap(n)
  if (!m) return undefined
  const out: BlkioConfig = {}
  const weight = (node: PNode | undefined, at: string): number | undefined => {
    const w = int(node)
    if (w === undefined || node === undefined) return undefined
    // The engine takes 10-1000; 0 means unset (Go's omitted zero value).
    if (w !== 0 && (w < 10 || w > 1000)) {
      ctx.error(`blkio weight must be between 10 and 1000 (got ${w})`, node, at)
      return undefined
    }
    return w === 0 ? undefined : w
  }
  setIf(out, 'weight', weight(get(m, 'weight'), childPath(keyPath, 'weight')))
  const wd = get(m, 'weight_device')
  if (wd?.kind === 'seq') {
    out.weight_device = []
    wd.items.forEach((item, i) => {
      const d = asMap(item)
      const w = weight(get(d, 'weight'), childPath(childPath(childPath(keyPath, 'weight_device'), i), 'weight'))
      out.weight_device?.push({Path: str(get(d, 'path')) ?? '', Weight: w ?? 0})
    })
  }
  for (const key of ['device_read_bps', 'device_read_iops', 'device_write_bps', 'device_write_iops'] as const) {
    const list = get(m, key)
    if (list?.kind !== 'seq') continue
    const devices: ThrottleDevice[] = []
    list.items.forEach((item, i) => {
      const d = asMap(item)
      // Compose reads every rate as a size, so `rate: 1024k` is 1048576 even for iops.
      const rate = bytes(get(d, 'rate'), childPath(childPath(childPath(keyPath, key), i), 'rate'), ctx)
      devices.push({Path: str(get(d, 'path')) ?? '', Rate: rate ?? '0'})
    })
    out[key] = devices
  }
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

function ulimits(n: PNode | undefined, keyPath: string, ctx: Ctx): Service['ulimits'] {
  const m = asMap(n)
  if (!m) return undefined
  const out: NonNullable<Service['ulimits']> = {}
  for (const k of [...m.entries.keys()].sort()) {
    const v = get(m, k)
    if (v?.kind === 'map') {
      // Compose's schema requires both limits in the long form.
      const missing = ['soft', 'hard'].filter((x) => get(v, x) === undefined)
      if (missing.length > 0) ctx.error(`"${missing.join('" and "')}" missing (the long form needs both soft and hard)`, v, childPath(keyPath, k))
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

/** Service secrets and configs, and build secrets (which get no default target). */
function fileRefs(n: PNode | undefined, keyPath: string, kind: 'secrets' | 'configs' | 'build-secrets', used: UsedRef[], ctx: Ctx): ServiceFileRef[] | undefined {
  if (n?.kind !== 'seq') return undefined
  const out: ServiceFileRef[] = []
  const index = new Map<string, number>()
  n.items.forEach((item, i) => {
    const m = asMap(item)
    const source = str(get(m, 'source'))
    if (!m || !source) {
      ctx.error(`a ${kind === 'configs' ? 'config' : 'secret'} reference needs a source`, item, childPath(keyPath, i))
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
  /** Dependencies a service implies (network_mode/ipc/pid `service:X`, links, volumes_from). */
  implicitDeps: Map<string, UsedRef>
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
  setIf(s, 'build', build(get(m, 'build'), k('build'), ctx, refs))
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
  // An empty `networks:` is no networks key at all for Compose: the service joins `default`.
  const declared = asMap(get(m, 'networks'))
  const nets = declared && declared.entries.size > 0 ? declared : undefined
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
      setIf(sn, 'link_local_ips', strList(get(v, 'link_local_ips')))
      setIf(sn, 'driver_opts', strMap(get(v, 'driver_opts')))
      out[key] = sn
    }
    s.networks = out
  } else if (networkMode === undefined) {
    s.networks = {default: null}
    refs.networks.push({name: 'default', pos: m.pos, keyPath: p})
  }
  setIf(s, 'pid', str(get(m, 'pid')))
  setIf(s, 'platform', str(get(m, 'platform')))
  // The image a service runs must be one its build makes.
  if (s.platform !== undefined && s.build?.platforms && s.build.platforms.length > 0 && !s.build.platforms.includes(s.platform)) {
    ctx.error(`build.platforms must include the service's platform "${s.platform}" (it has ${s.build.platforms.join(', ')})`, get(m, 'platform') ?? m, k('platform'))
  }
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
  setIf(s, 'ulimits', ulimits(get(m, 'ulimits'), k('ulimits'), ctx))
  setIf(s, 'user', str(get(m, 'user')))
  setIf(s, 'volumes', volumes(get(m, 'volumes'), k('volumes'), ctx, refs.volumes))
  setIf(s, 'working_dir', str(get(m, 'working_dir')))
  hostConfigKeys(s, m, ctx)
  setIf(s, 'blkio_config', blkioConfig(get(m, 'blkio_config'), k('blkio_config'), ctx))
  const gpus = get(m, 'gpus')
  if (gpus?.kind === 'scalar' && gpus.value !== null) {
    // `gpus: all` is one request for every GPU.
    if (str(gpus) !== 'all') ctx.error(`invalid gpus "${str(gpus) ?? ''}" (all, or a list of device requests)`, gpus, k('gpus'))
    else s.gpus = [{count: -1}]
  } else setIf(s, 'gpus', deviceRequests(gpus, k('gpus'), ctx, false))
  const credentialSpec = asMap(get(m, 'credential_spec'))
  if (credentialSpec) {
    const spec: NonNullable<Service['credential_spec']> = {}
    setIf(spec, 'config', str(get(credentialSpec, 'config')))
    setIf(spec, 'file', str(get(credentialSpec, 'file')))
    setIf(spec, 'registry', str(get(credentialSpec, 'registry')))
    s.credential_spec = spec
    ctx.b.warnings.push(
      InputError.format('credential_spec is ignored: it configures gMSA for Windows containers, and tta runs Linux containers (as Compose does, it passes nothing to the engine)', m.entries.get('credential_spec')?.keyPos ?? m.pos, k('credential_spec')),
    )
  }
  setIf(s, 'develop', develop(get(m, 'develop'), k('develop'), ctx))
  implicitDependencies(s, m, ctx, refs)
  return s as Service
}

function intIf(s: Partial<Service>, key: 'cpu_count' | 'cpu_percent' | 'cpu_period' | 'cpu_quota' | 'cpu_rt_period' | 'cpu_rt_runtime' | 'cpu_shares' | 'oom_score_adj' | 'pids_limit', n: PNode | undefined): void {
  setIf(s, key, int(n))
}

/** Keys the engine takes as HostConfig fields, in the shapes Compose prints them. */
function hostConfigKeys(s: Partial<Service> & {name: string}, m: PMap, ctx: Ctx): void {
  const k = (key: string): string => childPath(ctx.servicePath, key)
  setIf(s, 'annotations', strMap(get(m, 'annotations')))
  setIf(s, 'attach', bool(get(m, 'attach')))
  const cgroup = str(get(m, 'cgroup'))
  if (cgroup !== undefined) {
    if (cgroup !== 'host' && cgroup !== 'private') ctx.error(`invalid cgroup "${cgroup}" (expected host or private)`, get(m, 'cgroup') ?? m, k('cgroup'))
    else s.cgroup = cgroup
  }
  setIf(s, 'cgroup_parent', str(get(m, 'cgroup_parent')))
  for (const key of ['cpu_count', 'cpu_percent', 'cpu_period', 'cpu_quota', 'cpu_rt_period', 'cpu_rt_runtime', 'cpu_shares', 'oom_score_adj', 'pids_limit'] as const) {
    intIf(s, key, get(m, key))
  }
  const percent = s.cpu_percent
  if (percent !== undefined && (percent < 0 || percent > 100)) ctx.error(`cpu_percent must be between 0 and 100 (got ${percent})`, get(m, 'cpu_percent') ?? m, k('cpu_percent'))
  const oom = s.oom_score_adj
  if (oom !== undefined && (oom < -1000 || oom > 1000)) ctx.error(`oom_score_adj must be between -1000 and 1000 (got ${oom})`, get(m, 'oom_score_adj') ?? m, k('oom_score_adj'))
  setIf(s, 'cpuset', str(get(m, 'cpuset')))
  setIf(s, 'device_cgroup_rules', strList(get(m, 'device_cgroup_rules')))
  const devices = get(m, 'devices')
  if (devices?.kind === 'seq') {
    const out: DeviceMapping[] = []
    devices.items.forEach((item, i) => {
      const itemPath = childPath(k('devices'), i)
      if (item.kind === 'map') {
        const source = str(get(item, 'source'))
        if (!source) {
          ctx.error('a device needs a source', item, itemPath)
          return
        }
        out.push({source, target: str(get(item, 'target')) || source, permissions: str(get(item, 'permissions')) || 'rwm'})
        return
      }
      // source[:target[:permissions]], as Compose splits it.
      const parts = (str(item) ?? '').split(':')
      const [source = '', target, permissions] = parts
      if (source === '' || parts.length > 3) {
        ctx.error(`invalid device "${str(item) ?? ''}" (expected /dev/host[:/dev/container[:rwm]])`, item, itemPath)
        return
      }
      out.push({source, target: target || source, permissions: permissions || 'rwm'})
    })
    // One device per target: a later entry (e.g. from an overlay) replaces an earlier one in place.
    const byTarget = new Map<string, DeviceMapping>()
    for (const d of out) byTarget.set(d.target, d)
    s.devices = [...byTarget.values()]
  }
  setIf(s, 'dns_opt', strList(get(m, 'dns_opt')))
  setIf(s, 'dns_search', strList(get(m, 'dns_search')))
  setIf(s, 'external_links', strList(get(m, 'external_links')))
  setIf(s, 'group_add', strList(get(m, 'group_add')))
  setIf(s, 'isolation', str(get(m, 'isolation')))
  setIf(s, 'links', strList(get(m, 'links')))
  setIf(s, 'mac_address', str(get(m, 'mac_address')))
  setIf(s, 'mem_reservation', bytes(get(m, 'mem_reservation'), k('mem_reservation'), ctx))
  const swappiness = int(get(m, 'mem_swappiness'))
  if (swappiness !== undefined) {
    if (swappiness < 0 || swappiness > 100) ctx.error(`mem_swappiness must be between 0 and 100 (got ${swappiness})`, get(m, 'mem_swappiness') ?? m, k('mem_swappiness'))
    else s.mem_swappiness = String(swappiness)
  }
  // -1 (unlimited swap) is a valid memswap_limit; bytes() refuses negative sizes.
  const swap = get(m, 'memswap_limit')
  if (str(swap) === '-1') s.memswap_limit = '-1'
  else setIf(s, 'memswap_limit', bytes(swap, k('memswap_limit'), ctx))
  if (bool(get(m, 'oom_kill_disable'))) s.oom_kill_disable = true
  setIf(s, 'runtime', str(get(m, 'runtime')))
  setIf(s, 'storage_opt', strMap(get(m, 'storage_opt')))
  setIf(s, 'userns_mode', str(get(m, 'userns_mode')))
  setIf(s, 'uts', str(get(m, 'uts')))
  const from = get(m, 'volumes_from')
  if (from?.kind === 'seq') {
    from.items.forEach((item, i) => {
      const v = str(item) ?? ''
      const parts = v.split(':')
      const container = parts[0] === 'container'
      const mode = container ? parts[2] : parts[1]
      const name = container ? parts[1] : parts[0]
      if (!name || parts.length > (container ? 3 : 2) || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) {
        ctx.error(`invalid volumes_from "${v}" (expected service[:ro|rw] or container:name[:ro|rw])`, item, childPath(k('volumes_from'), i))
      }
    })
    s.volumes_from = strList(from)
  }
}

const WATCH_ACTIONS = new Set(['sync', 'rebuild', 'sync+restart', 'restart', 'sync+exec'])

function develop(n: PNode | undefined, keyPath: string, ctx: Ctx): DevelopConfig | undefined {
  const m = asMap(n)
  if (!m) return undefined
  const out: DevelopConfig = {}
  const watch = get(m, 'watch')
  if (watch?.kind !== 'seq') return out
  const rules: WatchRule[] = []
  watch.items.forEach((item, i) => {
    const itemPath = childPath(childPath(keyPath, 'watch'), i)
    const r = asMap(item)
    if (!r) return
    const p = str(get(r, 'path'))
    const action = str(get(r, 'action'))
    if (p === undefined || p === '') {
      ctx.error('path is required', r, itemPath)
      return
    }
    if (action === undefined || !WATCH_ACTIONS.has(action)) {
      ctx.error(`action must be one of rebuild, sync, restart, sync+restart or sync+exec${action === undefined ? '' : ` (got "${action}")`}`, get(r, 'action') ?? r, childPath(itemPath, 'action'))
      return
    }
    const rule: WatchRule = {path: resolvePath(p, ctx.b.workingDir), action: action as WatchAction}
    const target = str(get(r, 'target'))
    if (target !== undefined) rule.target = target
    else if (action.startsWith('sync')) {
      ctx.error(`target is required for the ${action} action (the container path files are synced to)`, r, itemPath)
      return
    }
    setIf(rule, 'ignore', strList(get(r, 'ignore')))
    setIf(rule, 'include', strList(get(r, 'include')))
    setIf(rule, 'initial_sync', bool(get(r, 'initial_sync')))
    const execNode = asMap(get(r, 'exec'))
    if (execNode) {
      const cmd = command(get(execNode, 'command'), childPath(itemPath, 'exec.command'), ctx)
      if (!cmd || cmd.length === 0) ctx.error('exec needs a command', execNode, childPath(itemPath, 'exec'))
      const exec: WatchExec = {command: cmd ?? []}
      setIf(exec, 'user', str(get(execNode, 'user')))
      if (bool(get(execNode, 'privileged'))) exec.privileged = true
      setIf(exec, 'working_dir', str(get(execNode, 'working_dir')))
      setIf(exec, 'environment', nullableStrMap(get(execNode, 'environment')))
      rule.exec = exec
    } else if (action === 'sync+exec') {
      ctx.error('the sync+exec action needs exec.command', r, itemPath)
      return
    }
    rules.push(rule)
  })
  out.watch = rules
  return out
}

/**
 * Compose starts a service after the services it shares a namespace with, links to or takes
 * volumes from, as if they were in depends_on (restart: true except for volumes_from); an explicit
 * depends_on entry wins.
 */
function implicitDependencies(s: Partial<Service> & {name: string}, m: PMap, ctx: Ctx, refs: ServiceRefs): void {
  const found: Array<{dep: string; restart: boolean; node: PNode; keyPath: string}> = []
  for (const key of ['network_mode', 'ipc', 'pid'] as const) {
    const node = get(m, key)
    const v = str(node)
    if (node && v?.startsWith('service:')) found.push({dep: v.slice('service:'.length), restart: true, node, keyPath: childPath(ctx.servicePath, key)})
  }
  const links = get(m, 'links')
  if (links?.kind === 'seq') {
    links.items.forEach((item, i) => {
      const v = str(item)
      if (v) found.push({dep: v.split(':')[0] as string, restart: true, node: item, keyPath: childPath(childPath(ctx.servicePath, 'links'), i)})
    })
  }
  const from = get(m, 'volumes_from')
  if (from?.kind === 'seq') {
    from.items.forEach((item, i) => {
      const v = str(item)
      if (v && !v.startsWith('container:')) found.push({dep: v.split(':')[0] as string, restart: false, node: item, keyPath: childPath(childPath(ctx.servicePath, 'volumes_from'), i)})
    })
  }
  if (found.length === 0) return
  const deps: Record<string, DependsOn> = {...s.depends_on}
  for (const f of found) {
    if (deps[f.dep]) continue
    deps[f.dep] = f.restart ? {condition: 'service_started', restart: true, required: true} : {condition: 'service_started', required: true}
    refs.implicitDeps.set(`${s.name}\0${f.dep}`, {name: f.dep, pos: f.node.pos, keyPath: f.keyPath})
  }
  s.depends_on = Object.fromEntries(Object.entries(deps).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

// ---------- top-level resources ----------

function network(key: string, m: PMap | undefined, project: string, sources: Record<string, string> | undefined): NetworkConfig {
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
        const o: IpamPool = {}
        const cm = asMap(c)
        setIf(o, 'subnet', str(get(cm, 'subnet')))
        setIf(o, 'gateway', str(get(cm, 'gateway')))
        setIf(o, 'ip_range', str(get(cm, 'ip_range')))
        setIf(o, 'aux_addresses', strMap(get(cm, 'aux_addresses')))
        return o
      })
    }
    setIf(ipam, 'options', strMap(get(ipamNode, 'options')))
    out.ipam = ipam
  }
  if (external) out.external = true
  if (bool(get(m, 'internal'))) out.internal = true
  if (bool(get(m, 'attachable'))) out.attachable = true
  setIf(out, 'labels', strMap(get(m, 'labels')))
  const ipv4 = m?.entries.get('enable_ipv4')
  const enableIpv4 = bool(ipv4?.value)
  if (ipv4 && enableIpv4 !== undefined) {
    // Printed as written (Compose keeps a pointer); an engine before API 1.47 cannot turn it off.
    out.enable_ipv4 = enableIpv4
    if (sources) sources[`networks.${key}.enable_ipv4`] = `${ipv4.keyPos.file}:${ipv4.keyPos.line}:${ipv4.keyPos.column}`
  }
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
  setIf(out, 'template_driver', str(get(m, 'template_driver')))
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

  const refs: ServiceRefs = {implicitDeps: new Map(), volumes: [], networks: [], secrets: [], configs: []}
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
      const implied = entry ? undefined : refs.implicitDeps.get(`${svcName}\0${dep}`)
      const pos = entry?.keyPos ?? implied?.pos ?? (all.get(svcName) as PMap).pos
      const keyPath = entry ? entryPath(`services.${svcName}.depends_on`, entry) : (implied?.keyPath ?? `services.${svcName}.depends_on.${dep}`)
      const target = all.get(dep)
      if (!target) top.error(`service "${svcName}" depends on undefined service "${dep}"`, pos, keyPath)
      else if (!services[dep] && svc.depends_on?.[dep]?.required !== false) {
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
  // `service:x` as a build context builds on x's image, so x must be a service that builds one.
  for (const [svcName, svc] of Object.entries(services)) {
    for (const [ctxName, value] of Object.entries(svc.build?.additional_contexts ?? {})) {
      if (!value.startsWith('service:')) continue
      const target = value.slice('service:'.length)
      const node = get(asMap(get(asMap(get(all.get(svcName), 'build')), 'additional_contexts')), ctxName) ?? (all.get(svcName) as PMap)
      const keyPath = `services.${svcName}.build.additional_contexts.${ctxName}`
      if (!all.has(target)) top.error(`additional context "${ctxName}" names undefined service "${target}"`, node, keyPath)
      else if (!services[target]?.build) top.error(`additional context "${ctxName}" names service "${target}", which ${services[target] ? 'has no build section' : 'is not enabled'}`, node, keyPath)
    }
  }

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
  // Compose refuses settings that would only apply when creating a volume it does not create.
  for (const e of asMap(get(root, 'volumes'))?.entries.values() ?? []) {
    const v = asMap(e.value)
    if (!v || !bool(get(v, 'external'))) continue
    for (const key of ['driver', 'driver_opts', 'labels']) {
      const entry = v.entries.get(key)
      if (entry) top.error(`conflicting parameters "external" and "${key}" specified (an external volume is created outside this project)`, entry.keyPos, `volumes.${e.key}.${key}`)
    }
  }
  const networks = declared('networks', (k, m) => network(k, m, project, b.sources), refs.networks, 'network')
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

