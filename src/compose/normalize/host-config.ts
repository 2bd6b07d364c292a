/** Service keys the engine takes as HostConfig fields (cgroups, cpu and memory knobs, devices, logging, extra hosts...). */
import type {DeviceMapping, LoggingConfig, Service} from '../model.js'
import {childPath} from '../schema.js'
import type {PMap, PNode} from '../tree.js'
import type {Ctx} from './context.js'
import {asMap, bool, bytes, get, int, setIf, str, strList, strMap} from './readers.js'

export function logging(n: PNode | undefined): LoggingConfig | undefined {
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

export function extraHosts(n: PNode | undefined): string[] | undefined {
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

function intIf(s: Partial<Service>, key: 'cpu_count' | 'cpu_percent' | 'cpu_period' | 'cpu_quota' | 'cpu_rt_period' | 'cpu_rt_runtime' | 'cpu_shares' | 'oom_score_adj' | 'pids_limit', n: PNode | undefined): void {
  setIf(s, key, int(n))
}

/** Keys the engine takes as HostConfig fields, in the shapes Compose prints them. */
export function hostConfigKeys(s: Partial<Service> & {name: string}, m: PMap, ctx: Ctx): void {
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

