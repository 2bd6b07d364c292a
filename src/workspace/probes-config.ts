import {isMap, isScalar, isSeq, type Node, type Pair} from 'yaml'

import {parseDuration} from '../compose/units.js'
import {InputError} from '../errors.js'
import {PROBE_TYPES, type HttpExpectation, type ProbeOverride, type ProbeType} from '../probes/types.js'
import type {SourceDocument} from './yaml-source.js'

/** Which keys each probe type takes besides `type` and `timeout`. */
const TYPE_KEYS: Record<ProbeType | 'none', string[]> = {
  http: ['port', 'path', 'expect'],
  tcp: ['port'],
  redis: ['port', 'password'],
  postgres: ['port', 'user', 'database'],
  neo4j: ['httpPort', 'boltPort'],
  exec: ['command'],
  none: [],
}

const SERVICE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/

/**
 * Parses `probes:` (service name -> probe settings), collecting every problem with its position:
 *
 *   probes:
 *     admin-api: {type: http, port: 8001, path: /health, expect: 200, timeout: 2s}
 *     worker: {type: exec, command: ["pgrep", "celery"]}
 *     legacy: {type: none}
 */
export function parseProbes(src: SourceDocument, node: Node | null | undefined, errors: InputError[]): Record<string, ProbeOverride> {
  const probes: Record<string, ProbeOverride> = {}
  if (!isMap(node)) {
    errors.push(new InputError('must be a mapping of service name to probe settings (type, port, path, ...)', src.position(node), 'probes'))
    return probes
  }
  for (const pair of node.items as Pair<Node, Node>[]) {
    const service = isScalar(pair.key) ? String(pair.key.value) : ''
    if (!SERVICE_NAME.test(service)) {
      errors.push(new InputError('must be a service name', src.position(pair.key), 'probes'))
      continue
    }
    const probe = parseProbe(src, pair, `probes.${service}`, errors)
    if (probe) probes[service] = probe
  }
  return probes
}

function parseProbe(src: SourceDocument, pair: Pair<Node, Node>, keyPath: string, errors: InputError[]): ProbeOverride | undefined {
  if (!isMap(pair.value)) {
    errors.push(new InputError(`must be a mapping with at least \`type:\` (${PROBE_TYPES.join(', ')})`, src.position(pair.value ?? pair.key), keyPath))
    return undefined
  }
  const items = pair.value.items as Pair<Node, Node>[]
  const typeItem = items.find((item) => isScalar(item.key) && item.key.value === 'type')
  const type = isScalar(typeItem?.value) ? String(typeItem.value.value) : undefined
  if (!typeItem) {
    errors.push(new InputError(`type: is required (${PROBE_TYPES.join(', ')})`, src.position(pair.value), keyPath))
    return undefined
  }
  if (!type || !(PROBE_TYPES as readonly string[]).includes(type)) {
    errors.push(new InputError(`unknown probe type "${type ?? ''}" (supported: ${PROBE_TYPES.join(', ')})`, src.position(typeItem.value), `${keyPath}.type`))
    return undefined
  }
  const probe: ProbeOverride = {type: type as ProbeOverride['type']}
  const allowed = TYPE_KEYS[probe.type]
  const before = errors.length
  for (const item of items) {
    const key = isScalar(item.key) ? String(item.key.value) : ''
    const at = `${keyPath}.${key}`
    const value = item.value
    if (key === 'type') continue
    if (key === 'timeout') {
      probe.timeoutMs = timeoutMs(src, value, at, errors)
      continue
    }
    if (!allowed.includes(key)) {
      const takes = allowed.length > 0 ? `type ${type} takes: ${[...allowed, 'timeout'].join(', ')}` : `type ${type} takes only timeout`
      errors.push(new InputError(`unknown key "${key}" (${takes})`, src.position(item.key), at))
      continue
    }
    switch (key) {
      case 'port':
      case 'httpPort':
      case 'boltPort': {
        const port = integer(src, value, at, errors, 1, 65535)
        if (port !== undefined) probe[key] = port
        break
      }
      case 'path': {
        const path = text(src, value, at, errors)
        if (path === undefined) break
        if (path.startsWith('/')) probe.path = path
        else errors.push(new InputError('must start with "/"', src.position(value), at))
        break
      }
      case 'expect':
        probe.expect = expectations(src, value, at, errors)
        break
      case 'password':
      case 'user':
      case 'database': {
        const v = text(src, value, at, errors)
        if (v !== undefined) probe[key] = v
        break
      }
      case 'command':
        probe.command = command(src, value, at, errors)
        break
    }
  }
  return errors.length === before ? probe : undefined
}

function text(src: SourceDocument, node: Node | null | undefined, at: string, errors: InputError[]): string | undefined {
  if (isScalar(node) && (typeof node.value === 'string' || typeof node.value === 'number') && String(node.value) !== '') return String(node.value)
  errors.push(new InputError('must be a non-empty string', src.position(node), at))
  return undefined
}

function integer(src: SourceDocument, node: Node | null | undefined, at: string, errors: InputError[], min: number, max: number): number | undefined {
  const value = isScalar(node) ? Number(node.value) : NaN
  if (Number.isInteger(value) && value >= min && value <= max) return value
  errors.push(new InputError(`must be a whole number from ${min} to ${max}`, src.position(node), at))
  return undefined
}

function timeoutMs(src: SourceDocument, node: Node | null | undefined, at: string, errors: InputError[]): number | undefined {
  const raw = isScalar(node) ? node.value : undefined
  let ms: number | undefined
  if (typeof raw === 'number') ms = raw * 1000
  else if (typeof raw === 'string') {
    try {
      ms = Number(parseDuration(raw)) / 1e6
    } catch {
      ms = undefined
    }
  }
  if (ms !== undefined && ms > 0 && ms <= 120_000) return ms
  errors.push(new InputError('must be a duration from 1ms to 2m, e.g. "2s" or "500ms" (a bare number is seconds)', src.position(node), at))
  return undefined
}

function expectations(src: SourceDocument, node: Node | null | undefined, at: string, errors: InputError[]): HttpExpectation[] | undefined {
  const nodes = isSeq(node) ? (node.items as Node[]) : [node]
  const out: HttpExpectation[] = []
  for (const item of nodes) {
    const raw = isScalar(item) ? String(item.value) : ''
    if (/^[1-5]\d\d$/.test(raw)) out.push(Number(raw))
    else if (/^[1-5]xx$/i.test(raw)) out.push(raw.toLowerCase() as HttpExpectation)
    else errors.push(new InputError('must be an HTTP status (200) or class ("2xx"), or a list of them', src.position(item), at))
  }
  return out.length > 0 ? out : undefined
}

/** A list runs as is (like CMD); a string runs through /bin/sh -c (like CMD-SHELL). */
function command(src: SourceDocument, node: Node | null | undefined, at: string, errors: InputError[]): string[] | undefined {
  if (isScalar(node) && typeof node.value === 'string' && node.value.trim() !== '') return ['/bin/sh', '-c', node.value]
  if (isSeq(node) && node.items.length > 0 && node.items.every((i) => isScalar(i) && (typeof i.value === 'string' || typeof i.value === 'number'))) {
    return node.items.map((i) => String((i as {value: unknown}).value))
  }
  errors.push(new InputError('must be a command: a list of arguments, or a string for /bin/sh -c', src.position(node), at))
  return undefined
}
