/** A service's resource settings: deploy (limits, reservations, restart and update policies), device requests, blkio, ulimits. */
import type {BlkioConfig, DeployConfig, DeviceRequest, ResourceSpec, Service, ThrottleDevice, UpdateConfig} from '../model.js'
import {childPath} from '../schema.js'
import type {PNode} from '../tree.js'
import type {Ctx} from './context.js'
import {asMap, bytes, duration, get, int, num, setIf, str, strList, strMap} from './readers.js'

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
export function deviceRequests(n: PNode | undefined, keyPath: string, ctx: Ctx, needsCapabilities: boolean): DeviceRequest[] | undefined {
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

export function blkioConfig(n: PNode | undefined, keyPath: string, ctx: Ctx): BlkioConfig | undefined {
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

export function deploy(n: PNode | undefined, keyPath: string, ctx: Ctx): DeployConfig | undefined {
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

export function ulimits(n: PNode | undefined, keyPath: string, ctx: Ctx): Service['ulimits'] {
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

