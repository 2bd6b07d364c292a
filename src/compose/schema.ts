/**
 * A small schema language for the Compose Specification subset tta supports, and its checker:
 * unknown keys, keys Compose knows but tta does not support, and wrong types are all reported with
 * the position of the offending node. The schemas themselves are in compose/schema/.
 */
import {InputError} from '../errors.js'
import {describeKind, type PNode} from './tree.js'

export type Schema =
  | 'string'
  | 'int'
  | 'number'
  | 'bool'
  | 'scalar'
  | 'any'
  | {map: Record<string, Schema>; unsupported?: string[]}
  | {dict: Schema}
  | {list: Schema}
  | {oneOf: Schema[]}
  | {nullable: Schema}

/** Build a dotted key path: `a.b`, `a[0]`. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`
  return path === '' ? key : `${path}.${key}`
}

const BOOL_STRINGS = new Set(['true', 'false', 'True', 'False', 'TRUE', 'FALSE'])

/** Does a scalar fit a scalar schema? Interpolated strings may stand for numbers and booleans. */
function scalarFits(s: 'string' | 'int' | 'number' | 'bool' | 'scalar', v: string | number | boolean | null): boolean {
  if (v === null) return false
  switch (s) {
    case 'string':
      return typeof v === 'string' || typeof v === 'number'
    case 'int':
      return (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^-?\d+$/.test(v))
    case 'number':
      return typeof v === 'number' || (typeof v === 'string' && /^-?(\d+\.?\d*|\.\d+)$/.test(v))
    case 'bool':
      return typeof v === 'boolean' || (typeof v === 'string' && BOOL_STRINGS.has(v))
    case 'scalar':
      return true
  }
}

function describeSchema(s: Schema): string {
  if (typeof s === 'string') {
    return {string: 'a string', int: 'an integer', number: 'a number', bool: 'a boolean', scalar: 'a string, number, boolean or null', any: 'anything'}[s]
  }
  if ('map' in s || 'dict' in s) return 'a mapping'
  if ('list' in s) return 'a sequence'
  if ('nullable' in s) return describeSchema(s.nullable)
  const names = [...new Set(s.oneOf.map((o) => describeSchema(o)))]
  return names.length <= 2 ? names.join(' or ') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`
}

function pickOption(options: Schema[], node: PNode): Schema | undefined {
  for (const o of options) {
    const base = typeof o === 'object' && 'nullable' in o ? o.nullable : o
    if (typeof base === 'string') {
      if (node.kind === 'scalar' && (base === 'any' || scalarFits(base, node.value))) return o
    } else if ('map' in base || 'dict' in base) {
      if (node.kind === 'map') return o
    } else if ('list' in base) {
      if (node.kind === 'seq') return o
    } else if ('oneOf' in base && pickOption(base.oneOf, node)) return o
  }
  return undefined
}

function editDistance(a: string, b: string): number {
  const row = Array.from({length: b.length + 1}, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return row[b.length] as number
}

function suggestion(key: string, known: string[]): string {
  let best: string | undefined
  let bestD = Infinity
  for (const k of known) {
    const d = editDistance(key, k)
    if (d < bestD) {
      best = k
      bestD = d
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(key.length / 3)) ? ` (did you mean "${best}"?)` : ''
}

/**
 * Check `node` against `schema`, appending errors. Nodes tagged `!reset` are not checked (their
 * value is discarded). `x-` keys are allowed in every fixed-key mapping.
 */
export function validate(node: PNode, schema: Schema, path: string, errors: InputError[]): void {
  if (node.tag === '!reset') return
  if (typeof schema === 'string') {
    if (schema === 'any') return
    if (node.kind !== 'scalar' || !scalarFits(schema, node.value)) {
      errors.push(new InputError(`expected ${describeSchema(schema)}, got ${describeKind(node)}`, node.pos, path))
    }
    return
  }
  if ('nullable' in schema) {
    if (node.kind === 'scalar' && node.value === null) return
    validate(node, schema.nullable, path, errors)
    return
  }
  if ('oneOf' in schema) {
    const option = pickOption(schema.oneOf, node)
    if (!option) {
      errors.push(new InputError(`expected ${describeSchema(schema)}, got ${describeKind(node)}`, node.pos, path))
      return
    }
    validate(node, option, path, errors)
    return
  }
  if ('list' in schema) {
    if (node.kind !== 'seq') {
      errors.push(new InputError(`expected a sequence, got ${describeKind(node)}`, node.pos, path))
      return
    }
    node.items.forEach((item, i) => validate(item, schema.list, childPath(path, i), errors))
    return
  }
  if (node.kind !== 'map') {
    errors.push(new InputError(`expected a mapping, got ${describeKind(node)}`, node.pos, path))
    return
  }
  if ('dict' in schema) {
    for (const e of node.entries.values()) validate(e.value, schema.dict, childPath(path, e.key), errors)
    return
  }
  const known = Object.keys(schema.map)
  for (const e of node.entries.values()) {
    const p = childPath(path, e.key)
    if (e.key.startsWith('x-')) continue
    const sub = schema.map[e.key]
    if (sub === undefined) {
      if (e.key === 'extends' || e.key === 'include') {
        errors.push(new InputError(`"${e.key}" is not supported by tta; merge the files with -f instead`, e.keyPos, p))
      } else if (schema.unsupported?.includes(e.key)) {
        errors.push(new InputError(`"${e.key}" is not supported by tta`, e.keyPos, p))
      } else {
        errors.push(new InputError(`unknown key "${e.key}"${suggestion(e.key, known)}`, e.keyPos, p))
      }
      continue
    }
    validate(e.value, sub, p, errors)
  }
}
