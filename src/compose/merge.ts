/**
 * Per-file canonicalization of Compose's alternative syntaxes, and the overlay merge of files.
 *
 * Canonicalization first turns every "list or mapping" field into one shape (environment, labels,
 * depends_on, service networks, ...) so that the merge can work key by key. The merge then follows
 * Compose: mappings merge recursively, `command`/`entrypoint`/`healthcheck.test` are replaced,
 * sequences are appended without duplicates (ports, volumes, secrets, configs and devices are
 * de-duplicated later by their target), `!reset` removes a value and `!override` replaces instead of merging.
 */
import {InputError} from '../errors.js'
import {childPath} from './schema.js'
import {cloneNode, mapNode, type MapEntry, type PMap, type PNode, scalarNode, scalarString, seqNode, toPlain} from './tree.js'

type Kind = 'env' | 'labels' | 'args' | 'sysctls'

function scalarText(n: PNode): string | null {
  if (n.kind !== 'scalar') return null
  if (n.value === null) return null
  return scalarString(n)
}

/** `[K=V, K2]` or `{K: V}` -> mapping of string-or-null scalars. */
function listOrDictToMap(node: PNode, kind: Kind, path: string, errors: InputError[]): PNode {
  if (node.tag === '!reset') return node
  const out = mapNode(node.pos, [], node.tag)
  if (node.kind === 'seq') {
    node.items.forEach((item, i) => {
      const text = scalarText(item) ?? ''
      const eq = text.indexOf('=')
      const key = eq >= 0 ? text.slice(0, eq) : text
      if (key === '') {
        errors.push(new InputError(`empty name in "${text}"`, item.pos, childPath(path, i)))
        return
      }
      let value: string | null
      if (eq >= 0) value = text.slice(eq + 1)
      else value = kind === 'env' || kind === 'args' ? null : ''
      out.entries.set(key, {key, keyPos: item.pos, value: scalarNode(item.pos, value)})
    })
  } else if (node.kind === 'map') {
    for (const e of node.entries.values()) {
      const v = e.value
      if (v.kind !== 'scalar') continue // the schema check has reported it
      let value = v.value === null ? null : scalarString(v)
      if (value === null && kind !== 'env' && kind !== 'args') value = ''
      const scalar = scalarNode(v.pos, value)
      if (v.tag) scalar.tag = v.tag
      out.entries.set(e.key, {...e, value: scalar})
    }
  }
  return out
}

function stringToSeq(node: PNode): PNode {
  if (node.kind === 'scalar' && node.tag !== '!reset') {
    const s = seqNode(node.pos, [scalarNode(node.pos, node.value === null ? null : scalarString(node))])
    if (node.tag) s.tag = node.tag
    return s
  }
  return node
}

function set(m: PMap, key: string, fn: (n: PNode) => PNode): void {
  const e = m.entries.get(key)
  if (e) m.entries.set(key, {...e, value: fn(e.value)})
}

function canonicalizeService(svc: PMap, path: string, errors: InputError[]): void {
  set(svc, 'build', (b) => {
    if (b.kind === 'scalar' && b.tag !== '!reset') {
      const m = mapNode(b.pos, [{key: 'context', keyPos: b.pos, value: b}])
      if (b.tag) m.tag = b.tag
      return m
    }
    if (b.kind === 'map') {
      set(b, 'args', (n) => listOrDictToMap(n, 'args', childPath(path, 'build.args'), errors))
      set(b, 'labels', (n) => listOrDictToMap(n, 'labels', childPath(path, 'build.labels'), errors))
      set(b, 'ssh', (n) => listOrDictToMap(n, 'args', childPath(path, 'build.ssh'), errors))
      set(b, 'additional_contexts', (n) => listOrDictToMap(n, 'labels', childPath(path, 'build.additional_contexts'), errors))
      set(b, 'secrets', fileRefsToMaps)
    }
    return b
  })
  set(svc, 'environment', (n) => listOrDictToMap(n, 'env', childPath(path, 'environment'), errors))
  set(svc, 'labels', (n) => listOrDictToMap(n, 'labels', childPath(path, 'labels'), errors))
  set(svc, 'sysctls', (n) => listOrDictToMap(n, 'sysctls', childPath(path, 'sysctls'), errors))
  set(svc, 'annotations', (n) => listOrDictToMap(n, 'labels', childPath(path, 'annotations'), errors))
  set(svc, 'dns_search', stringToSeq)
  set(svc, 'develop', (d) => {
    const watch = d.kind === 'map' ? d.entries.get('watch')?.value : undefined
    if (watch?.kind !== 'seq') return d
    watch.items.forEach((rule, i) => {
      const exec = rule.kind === 'map' ? rule.entries.get('exec')?.value : undefined
      if (exec?.kind === 'map') set(exec, 'environment', (n) => listOrDictToMap(n, 'env', childPath(path, `develop.watch[${i}].exec.environment`), errors))
    })
    return d
  })
  set(svc, 'deploy', (d) => {
    if (d.kind !== 'map') return d
    set(d, 'labels', (n) => listOrDictToMap(n, 'labels', childPath(path, 'deploy.labels'), errors))
    const reservations = mapAt(mapAt(d, 'resources'), 'reservations')
    if (reservations) set(reservations, 'devices', (n) => deviceRequestOptions(n, childPath(path, 'deploy.resources.reservations.devices'), errors))
    return d
  })
  set(svc, 'gpus', (n) => deviceRequestOptions(n, childPath(path, 'gpus'), errors))
  set(svc, 'dns', stringToSeq)
  set(svc, 'tmpfs', stringToSeq)
  set(svc, 'env_file', stringToSeq)
  set(svc, 'expose', (n) => {
    if (n.kind !== 'seq') return n
    return {...n, items: n.items.map((i) => (i.kind === 'scalar' ? scalarNode(i.pos, scalarString(i)) : i))}
  })
  set(svc, 'depends_on', (n) => {
    if (n.tag === '!reset') return n
    const out = mapNode(n.pos, [], n.tag)
    const entry = (name: string, keyPos: MapEntry['keyPos'], long: PNode | undefined, pathSuffix?: string): void => {
      const pos = long?.pos ?? keyPos
      // The short form stands for the defaults, which replace an earlier file's; a long-form entry
      // sets only what it says, so an overlay adding `required: false` keeps the condition.
      const m = long?.kind === 'map' ? cloneNode(long) : mapNode(pos)
      if (long === undefined) {
        m.entries.set('condition', {key: 'condition', keyPos: pos, value: scalarNode(pos, 'service_started')})
        m.entries.set('required', {key: 'required', keyPos: pos, value: scalarNode(pos, true)})
      }
      const e: MapEntry = {key: name, keyPos, value: m}
      if (pathSuffix !== undefined) e.pathSuffix = pathSuffix
      out.entries.set(name, e)
    }
    if (n.kind === 'seq') n.items.forEach((i, idx) => entry(scalarText(i) ?? '', i.pos, undefined, `[${idx}]`))
    else if (n.kind === 'map') for (const e of n.entries.values()) entry(e.key, e.keyPos, e.value)
    return out
  })
  set(svc, 'networks', (n) => {
    if (n.kind !== 'seq') return n
    const out = mapNode(n.pos, [], n.tag)
    n.items.forEach((i, idx) => {
      const name = scalarText(i) ?? ''
      out.entries.set(name, {key: name, keyPos: i.pos, value: scalarNode(i.pos, null), pathSuffix: `[${idx}]`})
    })
    return out
  })
  set(svc, 'extra_hosts', (n) => {
    if (n.tag === '!reset') return n
    const items: PNode[] = []
    if (n.kind === 'map') {
      for (const e of n.entries.values()) {
        const ips = e.value.kind === 'seq' ? e.value.items : [e.value]
        for (const ip of ips) items.push(scalarNode(ip.pos, `${e.key}=${scalarText(ip) ?? ''}`))
      }
    } else if (n.kind === 'seq') {
      for (const i of n.items) {
        const t = scalarText(i) ?? ''
        // "host:ip" and "host=ip" are the same entry; Compose prints the "=" form.
        items.push(scalarNode(i.pos, t.includes('=') ? t : t.replace(':', '=')))
      }
    }
    const s = seqNode(n.pos, items)
    if (n.tag) s.tag = n.tag
    return s
  })
  for (const key of ['secrets', 'configs']) set(svc, key, fileRefsToMaps)
}

function mapAt(m: PMap | undefined, key: string): PMap | undefined {
  const v = m?.entries.get(key)?.value
  return v?.kind === 'map' ? v : undefined
}

/** `- name` stands for `- source: name` (secrets, configs, build secrets). */
function fileRefsToMaps(n: PNode): PNode {
  if (n.kind !== 'seq') return n
  return {
    ...n,
    items: n.items.map((i) => (i.kind === 'scalar' ? mapNode(i.pos, [{key: 'source', keyPos: i.pos, value: scalarNode(i.pos, scalarString(i))}]) : i)),
  }
}

/** A device request's `options` may be a list of KEY=VALUE, like labels. */
function deviceRequestOptions(n: PNode, path: string, errors: InputError[]): PNode {
  if (n.kind !== 'seq') return n
  n.items.forEach((item, i) => {
    if (item.kind === 'map') set(item, 'options', (o) => listOrDictToMap(o, 'labels', childPath(childPath(path, i), 'options'), errors))
  })
  return n
}

/**
 * Legacy `external: {name: x}` becomes `name: x` + `external: true`, with Compose's deprecation
 * warning.
 */
function legacyExternalName(m: PMap, path: string, warnings: string[], errors: InputError[]): void {
  const ext = m.entries.get('external')
  if (ext?.value.kind !== 'map') return
  const name = ext.value.entries.get('name')
  warnings.push(InputError.format('external.name is deprecated; set name: and external: true', ext.keyPos, path))
  const own = m.entries.get('name')
  // Two different names for one resource: Compose refuses rather than pick one.
  if (name && own && scalarText(name.value) !== scalarText(own.value)) {
    errors.push(new InputError(`name and external.name conflict ("${scalarText(own.value) ?? ''}" and "${scalarText(name.value) ?? ''}"); only use name`, name.keyPos, `${path}.external.name`))
  }
  m.entries.set('external', {...ext, value: scalarNode(ext.value.pos, true)})
  if (name && !m.entries.has('name')) m.entries.set('name', {...name})
}

/** Bring one file's tree (already validated) into the canonical shapes the merge expects. */
export function canonicalize(root: PMap, errors: InputError[], warnings: string[] = []): void {
  const services = root.entries.get('services')?.value
  if (services?.kind === 'map') {
    for (const e of services.entries.values()) {
      if (e.value.kind === 'map') canonicalizeService(e.value, `services.${e.key}`, errors)
    }
  }
  for (const section of ['networks', 'volumes', 'secrets', 'configs']) {
    const s = root.entries.get(section)?.value
    if (s?.kind !== 'map') continue
    for (const e of s.entries.values()) {
      if (e.value.kind !== 'map') continue
      set(e.value, 'labels', (n) => listOrDictToMap(n, 'labels', `${section}.${e.key}.labels`, errors))
      legacyExternalName(e.value, `${section}.${e.key}`, warnings, errors)
    }
  }
}

const REPLACED = [/^services\.[^.]+\.(command|entrypoint)$/, /^services\.[^.]+\.healthcheck\.test$/]
/** Sequences merged by a key after normalization (all entries kept here). */
const KEYED_SEQUENCES = /^services\.[^.]+\.(ports|volumes|secrets|configs|env_file|devices)$/

function sameValue(a: PNode, b: PNode): boolean {
  return JSON.stringify(toPlain(a)) === JSON.stringify(toPlain(b))
}

function untag<T extends PNode>(n: T): T {
  const c = cloneNode(n)
  delete c.tag
  return c
}

/** Remove `!reset` entries from a single (un-merged) tree, as Compose does for the first file. */
export function dropResets(n: PNode): PNode {
  if (n.kind === 'map') {
    const out = mapNode(n.pos, [], n.tag)
    for (const e of n.entries.values()) if (e.value.tag !== '!reset') out.entries.set(e.key, {...e, value: dropResets(e.value)})
    return out
  }
  if (n.kind === 'seq') return {...n, items: n.items.filter((i) => i.tag !== '!reset').map((i) => dropResets(i))}
  return n
}

/** Merge `over` onto `base`; neither input is modified. */
export function mergeNodes(base: PNode, over: PNode, path = ''): PNode {
  if (over.tag === '!override') return dropResets(untag(over))
  if (REPLACED.some((r) => r.test(path))) return dropResets(untag(over))
  // A service network given as `name:` (null) adds nothing to an earlier definition.
  if (/^services\.[^.]+\.networks\.[^.]+$/.test(path) && over.kind === 'scalar' && over.value === null) return base
  if (/^services\.[^.]+\.logging$/.test(path) && base.kind === 'map' && over.kind === 'map') {
    const bd = base.entries.get('driver')?.value
    const od = over.entries.get('driver')?.value
    if (bd && od && !sameValue(bd, od)) return dropResets(untag(over))
  }
  if (base.kind === 'map' && over.kind === 'map') {
    const out = mapNode(base.pos, [...base.entries.values()])
    for (const e of over.entries.values()) {
      if (e.value.tag === '!reset') {
        out.entries.delete(e.key)
        continue
      }
      // Extension values are replaced whole, as Compose does.
      const prev = e.key.startsWith('x-') ? undefined : out.entries.get(e.key)
      const p = childPath(path, e.key)
      out.entries.set(e.key, prev ? {...e, value: mergeNodes(prev.value, e.value, p)} : {...e, value: dropResets(untag(e.value))})
    }
    return out
  }
  if (base.kind === 'seq' && over.kind === 'seq') {
    const items = [...base.items]
    for (const i of over.items) {
      if (i.tag === '!reset') continue
      if (KEYED_SEQUENCES.test(path) || !items.some((x) => sameValue(x, i))) items.push(dropResets(i))
    }
    return seqNode(base.pos, items)
  }
  return dropResets(untag(over))
}
