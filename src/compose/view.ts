import type {NetworkConfig, Project, Service} from './model.js'

type ServiceView = Omit<Service, 'name'>

/**
 * The model in the shape `docker compose config` prints: the internal `name` of each service
 * dropped, map keys sorted, top-level `x-*` extensions kept, and every literal `$` written as
 * `$$` so the output can be fed back to Compose (or tta) without being interpolated again.
 */
export function composeView(project: Project): Record<string, unknown> {
  const services: Record<string, ServiceView> = {}
  for (const name of Object.keys(project.services).sort()) {
    const {name: _name, ...rest} = project.services[name] as Service
    services[name] = sortKeys(withoutEmpty(printedAsCompose(rest))) as ServiceView
  }
  // Compose leaves out empty top-level sections.
  const view: Record<string, unknown> = {name: project.name}
  if (Object.keys(project.networks).length > 0) view.networks = sortKeys(mapValues(project.networks, printedNetwork))
  view.services = services
  if (project.configs && Object.keys(project.configs).length > 0) view.configs = sortKeys(project.configs)
  if (project.secrets && Object.keys(project.secrets).length > 0) view.secrets = sortKeys(project.secrets)
  if (Object.keys(project.volumes).length > 0) view.volumes = sortKeys(project.volumes)
  for (const [key, value] of Object.entries(project.extensions ?? {})) view[key] = value
  return escapeDollars(view) as Record<string, unknown>
}

/** Keys Compose prints even when empty: Go structs (`healthcheck: {}`), not maps or lists. */
const PRINTED_WHEN_EMPTY = new Set(['command', 'entrypoint', 'networks', 'build', 'healthcheck', 'develop', 'deploy', 'logging', 'blkio_config', 'credential_spec'])

/** Compose's model omits empty lists and mappings (Go's omitempty); structs stay. */
function withoutEmpty<T extends object>(record: T): T {
  const empty = (v: unknown): boolean => (Array.isArray(v) ? v.length === 0 : v !== null && typeof v === 'object' && Object.keys(v).length === 0)
  const out = Object.fromEntries(Object.entries(record).filter(([k, v]) => PRINTED_WHEN_EMPTY.has(k) || !empty(v))) as Record<string, unknown>
  // A build's args, labels, ... are maps and lists too.
  const build = out.build
  if (build && typeof build === 'object' && !Array.isArray(build)) {
    out.build = Object.fromEntries(Object.entries(build as Record<string, unknown>).filter(([, v]) => !empty(v)))
  }
  return out as T
}

/**
 * Where Compose prints a service differently from the typed model: `build.ssh` as `id=path`
 * strings (the form it reads; its own JSON output of ssh fails), and an `exec: {command: null}`
 * on every develop.watch rule (Go's zero value).
 */
function printedAsCompose(service: ServiceView): Record<string, unknown> {
  const out: Record<string, unknown> = {...service}
  if (service.build?.ssh) {
    out.build = {...service.build, ssh: service.build.ssh.map((s) => (s.path === undefined ? s.id : `${s.id}=${s.path}`))}
  }
  if (service.develop?.watch) {
    out.develop = {...service.develop, watch: service.develop.watch.map((rule) => ({...rule, exec: rule.exec ?? {command: null}}))}
  }
  return out
}

/** Compose 2.26's model has no ipam.options (tta passes them to the engine; Compose drops them). */
function printedNetwork(network: NetworkConfig): NetworkConfig {
  if (!network.ipam?.options) return network
  const {options: _options, ...ipam} = network.ipam
  return {...network, ipam}
}

function mapValues<T, U>(record: Record<string, T>, fn: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, fn(v)]))
}

function sortKeys<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) as T
}

function escapeDollars(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('$', '$$$$')
  if (Array.isArray(value)) return value.map(escapeDollars)
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, escapeDollars(v)]))
  }
  return value
}
