/** The top-level networks, volumes, secrets and configs: the ones enabled services use, each checked as declared. */
import type {FileObjectConfig, IpamPool, NetworkConfig, VolumeConfig} from '../model.js'
import type {PMap, Pos} from '../tree.js'
import type {Ctx, ServiceRefs, UsedRef} from './context.js'
import {asMap, bool, get, resolvePath, setIf, str, strMap} from './readers.js'

export interface TopLevelResources {
  networks: Record<string, NetworkConfig>
  volumes: Record<string, VolumeConfig>
  secrets: Record<string, FileObjectConfig>
  configs: Record<string, FileObjectConfig>
}

/** Every resource the services used, by its key; `top` collects the errors (undefined names, conflicting settings). */
export function topLevelResources(root: PMap, project: string, refs: ServiceRefs, top: Ctx): TopLevelResources {
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
  const networks = declared('networks', (k, m) => network(k, m, project, top.b.sources), refs.networks, 'network')
  const volumes = declared('volumes', (k, m) => volume(k, m, project), refs.volumes, 'volume')
  const secrets = declared('secrets', (k, m, pos) => fileObject(k, m, project, `secrets.${k}`, top, pos), refs.secrets, 'secret')
  const configs = declared('configs', (k, m, pos) => fileObject(k, m, project, `configs.${k}`, top, pos), refs.configs, 'config')
  return {networks, volumes, secrets, configs}
}

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

