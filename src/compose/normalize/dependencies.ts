/**
 * Dependencies between services: depends_on, the ones Compose implies, and the whole-project
 * checks on them (targets exist and are enabled, no cycles, `service:` build contexts).
 */
import type {DependsOn, Service} from '../model.js'
import {childPath} from '../schema.js'
import {entryPath, type MapEntry, type PMap, type PNode} from '../tree.js'
import type {Ctx, ServiceRefs} from './context.js'
import {asMap, bool, get, str, strList} from './readers.js'

const CONDITIONS = new Set(['service_started', 'service_healthy', 'service_completed_successfully'])

export function dependsOn(n: PNode | undefined, keyPath: string, ctx: Ctx): Record<string, DependsOn> | undefined {
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

/**
 * Compose starts a service after the services it shares a namespace with, links to or takes
 * volumes from, as if they were in depends_on (restart: true except for volumes_from); an explicit
 * depends_on entry wins.
 */
export function implicitDependencies(s: Partial<Service> & {name: string}, m: PMap, ctx: Ctx, refs: ServiceRefs): void {
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

/** depends_on targets (written or implied) must be services, and enabled unless `required: false`. */
export function checkDependencyTargets(services: Record<string, Service>, all: Map<string, PMap>, refs: ServiceRefs, top: Ctx): void {
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
}

/**
 * Each dependency cycle once, at the depends_on entry that closes it. engine/graph.ts does not
 * repeat this: its levels only need to know that a cycle exists, and the loader has refused one.
 */
export function reportCycles(services: Record<string, Service>, all: Map<string, PMap>, ctx: Ctx): void {
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

/** `service:x` as a build context builds on x's image, so x must be an enabled service that builds one. */
export function checkBuildContextServices(services: Record<string, Service>, all: Map<string, PMap>, top: Ctx): void {
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
}
