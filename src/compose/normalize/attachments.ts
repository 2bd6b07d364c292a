/** What a service attaches to: its ports, volumes, networks, and secret/config references (recorded for the top-level checks). */
import type {PortConfig, ServiceFileRef, ServiceNetwork, ServiceVolume} from '../model.js'
import {childPath} from '../schema.js'
import {checkProtocol, checkPublished, ordered, parsePortSpec, parseVolumeSpec} from '../short-syntax.js'
import {entryPath, type PMap, type PNode} from '../tree.js'
import type {Ctx, UsedRef} from './context.js'
import {asMap, bool, bytes, cleanTarget, get, int, resolvePath, setIf, str, strList, strMap} from './readers.js'

export function ports(n: PNode | undefined, keyPath: string, ctx: Ctx): PortConfig[] | undefined {
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

export function volumes(n: PNode | undefined, keyPath: string, ctx: Ctx, usedVolumes: UsedRef[]): ServiceVolume[] | undefined {
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

/**
 * A service's networks, each recorded as used. An empty `networks:` is no networks key at all for
 * Compose: without network_mode the service joins `default`. Undefined when it joins none.
 */
export function serviceNetworks(m: PMap, nets: PMap | undefined, networkMode: string | undefined, servicePath: string, used: UsedRef[]): Record<string, ServiceNetwork | null> | undefined {
  if (nets) {
    const out: Record<string, ServiceNetwork | null> = {}
    for (const key of [...nets.entries.keys()].sort()) {
      const e = nets.entries.get(key)
      if (!e) continue
      used.push({name: key, pos: e.keyPos, keyPath: entryPath(childPath(servicePath, 'networks'), e)})
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
    return out
  }
  if (networkMode !== undefined) return undefined
  used.push({name: 'default', pos: m.pos, keyPath: servicePath})
  return {default: null}
}

/** Service secrets and configs, and build secrets (which get no default target). */
export function fileRefs(n: PNode | undefined, keyPath: string, kind: 'secrets' | 'configs' | 'build-secrets', used: UsedRef[], ctx: Ctx): ServiceFileRef[] | undefined {
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
